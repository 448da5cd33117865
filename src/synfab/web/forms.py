"""Form helpers the pages share."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from synfab.core.errors import Invalid
from synfab.core.i18n import _l

S = TypeVar("S", bound=BaseModel)


def checked(schema: type[S], **values: Any) -> S:
    """A form's values as the service's input; fields the schema refuses become a message, not an error 500."""
    try:
        return schema(**values)
    except ValidationError as exc:
        fields = ", ".join(sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()}))
        raise Invalid("validation_failed", _l("Please correct these fields: {fields}.", fields=fields)) from None


def optional_int(value: str | None) -> int | None:
    """A select's or filter's id: empty or not a number is none chosen."""
    try:
        return int(value) if value else None
    except ValueError:
        return None


def after_form(request: Request, url: str) -> Response:
    """After a form: htmx follows HX-Redirect, a plain form the 303."""
    if "hx-request" in request.headers:
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
