"""Signing in safely: the password policy, temporary lockout, a per-address rate limit, and the second factor.

- Passwords: at least 10 characters, not a common password, not the user name (NIST SP 800-63B: length and
  a block list, no composition rules).
- Five wrong passwords within 15 minutes lock the account for 15 minutes; the count is kept in the database.
- Each client address may try 20 sign-ins a minute on one server (a sliding window in memory).
- Time-based one-time passwords (RFC 6238) as the second factor; required for IT administrators. A code is
  accepted once: the time step it belongs to is remembered.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from datetime import timedelta

import pyotp
import segno

from synfab.core import clock
from synfab.core.errors import Forbidden, Invalid, Unauthenticated
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import User

MIN_LENGTH = 10
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
ISSUER = "synfab"
# The most used passwords of public leak lists, and what people type in a factory.
COMMON = frozenset("""
123456 123456789 12345678 password qwerty123 qwerty 1q2w3e4r 111111 1234567890 000000 abc123 password1
iloveyou 123123 admin admin123 welcome 1qaz2wsx qwertyuiop 123456a a123456 888888 666666 woaini 5201314
woaini1314 changeme letmein passw0rd p@ssw0rd synfab factory operator manager 12345678910 qq123456 aa123456
""".split())


def check_password_policy(password: str, username: str = "") -> None:
    if len(password) < MIN_LENGTH:
        raise Invalid("password_too_short", _l("The password needs at least {n} characters.", n=MIN_LENGTH))
    lowered = password.lower()
    if lowered in COMMON or len(set(password)) <= 2:
        raise Invalid("password_too_common", _l("This password is too easy to guess; choose another."))
    if username and username.lower() in lowered:
        raise Invalid("password_contains_username", _l("The password must not contain the user name."))


def check_not_locked(user: User) -> None:
    if user.locked_until is not None and user.locked_until > clock.now():
        minutes = max(1, math.ceil((user.locked_until - clock.now()).total_seconds() / 60))
        raise Unauthenticated("account_locked", _l(
            "Too many wrong passwords: the account is locked for {minutes} more minutes.", minutes=minutes))


def record_failure(user: User) -> None:
    """Count a wrong password; the fifth within the window locks the account."""
    now = clock.now()
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins >= MAX_FAILURES:
        user.locked_until = now + LOCKOUT
        user.failed_logins = 0


def record_success(user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None


class RateLimiter:
    """At most `limit` attempts per `window` seconds per key (a client address), on this server."""

    def __init__(self, limit: int = 20, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                raise Unauthenticated("too_many_attempts", _l(
                    "Too many sign-in attempts from this address; wait a minute and try again."))
            hits.append(now)


# -- second factor -------------------------------------------------------------------------------------------


def _step(at: float | None = None) -> int:
    return int((at if at is not None else clock.now().timestamp()) // 30)


def _verify(secret: str, code: str) -> int | None:
    """The time step a code belongs to (now, or one step either side), or None."""
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = clock.now().timestamp()
    for offset in (0, -1, 1):
        at = now + offset * 30
        if totp.at(at) == code:
            return _step(at)
    return None


def start_second_factor(uow: UnitOfWork, user: User) -> tuple[str, str, str]:
    """Begin enrolment: a new seed waits for its first code. Returns (seed, otpauth URI, QR code as SVG)."""
    secret = pyotp.random_base32()
    user.totp_pending = secret
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=4)
    return secret, uri, svg


def confirm_second_factor(uow: UnitOfWork, user: User, code: str) -> None:
    """Finish enrolment with a code from the authenticator app."""
    if not user.totp_pending:
        raise Invalid("totp_not_started", _l("Start setting up the second factor first."))
    step = _verify(user.totp_pending, code)
    if step is None:
        raise Invalid("totp_wrong_code", _l("The code does not match; check the time on your phone and try again."))
    user.totp_secret, user.totp_pending, user.totp_last_step = user.totp_pending, None, step


def remove_second_factor(uow: UnitOfWork, user: User) -> None:
    user.totp_secret = user.totp_pending = None
    user.totp_last_step = None


def check_second_factor(user: User, code: str | None, refused: type[Forbidden] = Unauthenticated) -> None:
    """When the person has a second factor, their code must be right and not used before."""
    if not user.totp_secret:
        return
    if not code:
        raise refused("totp_required", _l("Enter the 6-digit code from your authenticator app."))
    step = _verify(user.totp_secret, code)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        raise refused("totp_wrong_code", _l("The code is wrong or was already used; wait for the next one."))
    user.totp_last_step = step
