"""The domain's error hierarchy. Each error carries a stable code and a message a person can act on.

Mapped to HTTP in one handler (`web/errors.py`): NotFound 404, Conflict 409, Invalid 422,
Forbidden 403 (Unauthenticated 401), Unavailable 503.
"""

from __future__ import annotations

from typing import Any

from synfab.core.i18n import LazyText


class DomainError(Exception):
    status_code = 400

    def __init__(self, code: str, message: LazyText, *, details: list[dict[str, Any]] | None = None) -> None:
        self.code = code
        self.message = message
        self.details = details or []
        super().__init__(f"{code}: {message.in_locale('en')}")

    def to_dict(self) -> dict[str, Any]:
        both = self.message.both()
        body: dict[str, Any] = {
            "code": self.code,
            "message": str(self.message),
            "message_zh": both["zh_CN"],
            "message_en": both["en"],
        }
        if self.details:
            body["details"] = self.details
        return body


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    status_code = 422


class Forbidden(DomainError):
    status_code = 403


class Unauthenticated(Forbidden):
    status_code = 401


class Unavailable(DomainError):
    status_code = 503
