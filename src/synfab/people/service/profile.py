"""A person's own profile: their language, password, second factor and API tokens. Everyone may change their
own, whatever their roles; nobody else's."""

from __future__ import annotations

from argon2.exceptions import InvalidHashError, VerificationError

from synfab.core import clock
from synfab.core.errors import Forbidden, Invalid, NotFound
from synfab.core.i18n import LOCALES, _l
from synfab.core.uow import UnitOfWork
from synfab.people.models import User
from synfab.people.service.accounts import _hasher, hash_password
from synfab.people.service.audit import note_security_event
from synfab.people.service.security import (
    check_password_policy, check_second_factor, confirm_second_factor, remove_second_factor, start_second_factor,
)


def _me(uow: UnitOfWork, user_id: int) -> User:
    user = uow.session.get(User, user_id)
    if user is None:
        raise NotFound("user_not_found", _l("User {id} does not exist.", id=user_id))
    return user


def _check_current_password(user: User, password: str) -> None:
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        # 403, not 401: the person is signed in; a 401 would send their browser to the sign-in page.
        raise Forbidden("current_password_wrong", _l("The current password is wrong.")) from None


def change_own_password(uow: UnitOfWork, user_id: int, current: str, new: str) -> None:
    user = _me(uow, user_id)
    _check_current_password(user, current)
    if current == new:
        raise Invalid("password_unchanged", _l("The new password must differ from the current one."))
    check_password_policy(new, user.username)
    user.password_hash = hash_password(new)
    user.password_changed_at = clock.now()
    note_security_event(uow, "password_changed", "app_user", user.id)


def set_own_locale(uow: UnitOfWork, user_id: int, locale: str) -> None:
    if locale not in LOCALES:
        raise Invalid("unknown_locale", _l("This language is not offered."))
    user = _me(uow, user_id)
    if user.locale != locale:
        user.locale = locale


def begin_second_factor(uow: UnitOfWork, user_id: int) -> tuple[str, str, str]:
    """A new seed for the authenticator app: (seed, otpauth URI, QR code SVG). Effective once confirmed."""
    return start_second_factor(uow, _me(uow, user_id))


def finish_second_factor(uow: UnitOfWork, user_id: int, code: str) -> None:
    user = _me(uow, user_id)
    confirm_second_factor(uow, user, code)
    note_security_event(uow, "second_factor_enabled", "app_user", user.id)


def drop_second_factor(uow: UnitOfWork, user_id: int, password: str, code: str) -> None:
    """Remove one's second factor (not possible for IT administrators, who must keep one)."""
    user = _me(uow, user_id)
    if any(g.role.code == "it_admin" for g in user.grants):
        raise Invalid("second_factor_mandatory", _l("IT administrators must keep a second factor."))
    _check_current_password(user, password)
    check_second_factor(user, code, refused=Forbidden)
    remove_second_factor(uow, user)
    note_security_event(uow, "second_factor_removed", "app_user", user.id)
