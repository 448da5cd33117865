"""Per-request context: request id, the signed-in user, the language, and the security headers."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from synfab.core import clock
from synfab.core.config import Settings
from synfab.core.context import Actor, actor_var, client_addr_var, locale_var, request_id_var
from synfab.core.db import Database
from synfab.core.i18n import LOCALES, negotiate
from synfab.core.ids import new_id
from synfab.people import service as people

SESSION_COOKIE = "synfab_session"
LANG_COOKIE = "synfab_lang"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Writing last-seen on every request would make every page view a write; once a minute is enough.
_TOUCH_EVERY = timedelta(seconds=60)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, db: Database, settings: Settings) -> None:
        self.app = app
        self.db = db
        self.settings = settings

    def _token_principal(self, secret: str) -> people.Principal | None:
        """An integration's API token (Authorization: Bearer sfb_…)."""
        from synfab.people.service import tokens

        with self.db.session() as session:
            token = tokens.resolve_token(session, secret)
            if token is None:
                return None
            principal = tokens.principal_for_token(session, token)
            last_used, token_id = token.last_used_at, token.id
        now = clock.now()
        if last_used is None or now - last_used >= _TOUCH_EVERY:
            from synfab.people.models import ApiToken

            with self.db.uow() as uow:
                uow.session.get(ApiToken, token_id).last_used_at = now
                uow.commit()
        return principal

    def _principal(self, token: str) -> people.Principal | None:
        idle = timedelta(minutes=self.settings.session_idle_minutes)
        with self.db.session() as session:
            row = people.resolve_session(session, token, idle=idle)
            if row is None:
                return None
            principal = people.principal_for(session, row.user, row)
            last_seen = row.last_seen_at
        now = clock.now()
        if now - last_seen >= _TOUCH_EVERY:
            with self.db.uow() as uow:
                people.touch_session(uow, row.id, now)
                uow.commit()
        return principal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else new_id()
        token = request.cookies.get(SESSION_COOKIE)
        bearer = request.headers.get("authorization", "")
        if bearer[:7].lower() == "bearer " and scope["path"].startswith("/api/"):
            principal = await run_in_threadpool(self._token_principal, bearer[7:].strip())
            state_extra = {"token_auth": True, "token_rejected": principal is None}
        else:
            principal = await run_in_threadpool(self._principal, token) if token else None
            state_extra = {"token_auth": False, "token_rejected": False}
        lang_cookie = request.cookies.get(LANG_COOKIE)
        if principal is not None and principal.locale in LOCALES:
            locale = principal.locale
        elif lang_cookie in LOCALES:
            locale = lang_cookie
        else:
            locale = negotiate(request.headers.get("accept-language"), default=self.settings.default_locale)
        state: dict[str, Any] = scope.setdefault("state", {})
        state.update(principal=principal, request_id=request_id, locale=locale, **state_extra)
        tokens = [
            request_id_var.set(request_id),
            locale_var.set(locale),
            client_addr_var.set(request.client.host if request.client else None),
        ]
        actor_token = (actor_var.set(Actor(principal.user_id, principal.username, principal.restriction))
                       if principal else None)
        https = scope.get("scheme") == "https" or request.headers.get("x-forwarded-proto") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                headers["Content-Language"] = locale.replace("_", "-")
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                headers["X-Frame-Options"] = "DENY"
                headers.setdefault("Content-Security-Policy", CSP)
                if https:
                    headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if actor_token is not None:
                actor_var.reset(actor_token)
            client_addr_var.reset(tokens[2])
            locale_var.reset(tokens[1])
            request_id_var.reset(tokens[0])
