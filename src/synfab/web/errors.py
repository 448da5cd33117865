"""The one place errors become HTTP: JSON for the API, a page or an htmx fragment for people.

Every response carries a stable `code` and the message in the current language plus both zh-CN and en.
Database constraint violations, and values the database cannot hold, become 409/422 with a message a person can
act on — never a 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from synfab.core.errors import Conflict, DomainError, Invalid, NotFound, Unauthenticated, Unavailable
from synfab.core.i18n import LazyText, _l
from synfab.web.deps import SAFE_METHODS, Public, Require

log = logging.getLogger(__name__)

# Pydantic error types people meet, in words they understand.
_VALIDATION_TEXT: dict[str, LazyText] = {
    "missing": _l("This field is required."),
    "string_too_short": _l("This field is too short."),
    "string_too_long": _l("This field is too long."),
    "string_pattern_mismatch": _l("This value does not have the expected format."),
    "int_parsing": _l("Enter a whole number."),
    "int_type": _l("Enter a whole number."),
    "float_parsing": _l("Enter a number."),
    "decimal_parsing": _l("Enter a number."),
    "greater_than": _l("The value is too small."),
    "greater_than_equal": _l("The value is too small."),
    "less_than": _l("The value is too large."),
    "less_than_equal": _l("The value is too large."),
    "date_from_datetime_parsing": _l("Enter a date as YYYY-MM-DD."),
    "date_parsing": _l("Enter a date as YYYY-MM-DD."),
    "datetime_parsing": _l("Enter a date and time as YYYY-MM-DD HH:MM."),
    "datetime_from_date_parsing": _l("Enter a date and time as YYYY-MM-DD HH:MM."),
    "time_parsing": _l("Enter a time as HH:MM."),
    "time_with_offset": _l("Enter a time as HH:MM, without a time zone."),
    "enum": _l("Choose one of the offered values."),
    "bool_parsing": _l("Enter yes or no."),
    "json_invalid": _l("The request body is not valid JSON."),
    "model_attributes_type": _l("The request body has the wrong shape."),
    "dict_type": _l("The request body has the wrong shape."),
    "extra_forbidden": _l("This field is not expected here."),
}


def validation_error(exc: RequestValidationError) -> Invalid:
    details = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        text = _VALIDATION_TEXT.get(err.get("type", ""))
        both = text.both() if text else {"zh_CN": f"输入无效：{err.get('msg')}", "en": str(err.get("msg"))}
        details.append({"field": ".".join(loc), "type": err.get("type"), "message": both})
    fields = ", ".join(d["field"] for d in details if d["field"]) or "-"
    return Invalid("validation_failed", _l("Please correct these fields: {fields}.", fields=fields), details=details)


_UNIQUE_SQLITE = re.compile(r"UNIQUE constraint failed: (.+)")
_NOT_NULL_SQLITE = re.compile(r"NOT NULL constraint failed: (.+)")


def integrity_error(exc: IntegrityError) -> DomainError:
    """Name the violated rule in a person's words; keep the constraint in the details for IT."""
    orig = exc.orig
    text = str(orig)
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None) or ""
    sqlstate = getattr(orig, "sqlstate", None) or ""
    columns = getattr(diag, "column_name", None) or ""
    details = [{"constraint": constraint or text[:200]}]
    if sqlstate == "23505" or text.startswith("UNIQUE") or constraint.startswith("uq_") or "duplicate key" in text:
        m = _UNIQUE_SQLITE.search(text)
        what = m.group(1) if m else constraint.removeprefix("uq_")
        return Conflict("duplicate", _l("A record with the same {fields} already exists.", fields=what), details=details)
    if sqlstate == "23503" or "FOREIGN KEY" in text:
        return Invalid("invalid_reference", _l(
            "This refers to a record that does not exist, or the record is still used elsewhere."), details=details)
    if sqlstate == "23502" or text.startswith("NOT NULL"):
        m = _NOT_NULL_SQLITE.search(text)
        return Invalid("missing_value", _l("A required value is missing: {field}.",
                                           field=m.group(1) if m else columns), details=details)
    return Invalid("constraint_violated", _l("The change breaks a data rule: {rule}.", rule=constraint or text[:120]),
                   details=details)


def data_error(exc: DataError) -> Invalid:
    """A value the database cannot store (a number out of range, text too long or with a NUL character)."""
    return Invalid("value_not_storable", _l(
        "A value is too large, too long or contains characters that cannot be stored; check the entries."),
        details=[{"reason": str(exc.orig)[:200]}])


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def respond(request: Request, error: DomainError) -> Response:
    body: dict[str, Any] = {"error": error.to_dict() | {"request_id": getattr(request.state, "request_id", None)}}
    if wants_json(request):
        return JSONResponse(body, status_code=error.status_code)
    if isinstance(error, Unauthenticated) and request.method == "GET" and "hx-request" not in request.headers:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    from synfab.web.templating import render

    if "hx-request" in request.headers:
        response = render(request, "_error_fragment.html", error=error, status_code=200)
        response.headers["HX-Retarget"] = "#flash"
        response.headers["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "error.html", error=error, status_code=error.status_code)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, exc: DomainError) -> Response:
        return respond(request, exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        return respond(request, validation_error(exc))

    @app.exception_handler(IntegrityError)
    async def on_integrity_error(request: Request, exc: IntegrityError) -> Response:
        return respond(request, integrity_error(exc))

    @app.exception_handler(DataError)
    async def on_data_error(request: Request, exc: DataError) -> Response:
        return respond(request, data_error(exc))

    @app.exception_handler(OperationalError)
    async def on_operational_error(request: Request, exc: OperationalError) -> Response:
        log.warning("database unavailable: %s", exc)
        return respond(request, Unavailable("database_unavailable", _l(
            "The database is busy or unreachable; please try again in a moment.")))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return respond(request, NotFound("not_found", _l("There is no page or record at this address.")))
        if exc.status_code == 400:  # FastAPI could not parse the body (not UTF-8, a broken form)
            return respond(request, Invalid("body_unreadable", _l(
                "The request body could not be read; send JSON or a form, encoded as UTF-8.")))
        if exc.status_code == 405:
            error = Invalid("method_not_allowed", _l("This address does not accept that kind of request."))
            error.status_code = 405
            return respond(request, error)
        error = DomainError("http_error", _l("The request could not be handled ({status}).", status=exc.status_code))
        error.status_code = exc.status_code
        return respond(request, error)


# -- the error body in the OpenAPI schema --------------------------------------------------------------------


class ErrorBody(BaseModel):
    """What every API error carries (`DomainError.to_dict` plus the request id); an import adds its report."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str
    message_zh: str
    message_en: str
    details: list[dict[str, Any]] | None = None
    request_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


_STATUS_TEXT = {
    401: "Not signed in, the sign-in failed, or the API token is unknown, revoked or expired.",
    403: "The permission is missing, or the form's CSRF token did not match.",
    404: "There is no such record, or it lies outside the plant areas granted to you.",
    409: "Someone changed the record first, or a record with the same code already exists.",
    422: "The input is invalid, or the change breaks a business rule.",
    503: "The database is busy or unreachable.",
}


def _needs(dependant: Any, kind: type) -> bool:
    return any(isinstance(d.call, kind) or _needs(d, kind) for d in dependant.dependencies)


def error_statuses(route: APIRoute) -> list[int]:
    """The errors an API route can answer with, read from what it declares (a guide for clients;
    `tests/web/test_api_schema.py` fuzzes the API against it)."""
    unsafe = bool(route.methods - SAFE_METHODS)
    takes_input = bool(route.dependant.path_params or route.dependant.query_params or route.body_field)
    statuses = {401, 503}  # sign-in (also the public sign-in itself), and the database
    if unsafe or _needs(route.dependant, Require):
        statuses.add(403)
    if takes_input:
        statuses.add(404)  # a record named in the path, the query or the body
    if unsafe:
        statuses.add(409)
    if unsafe or takes_input:
        statuses.add(422)
    if _needs(route.dependant, Public) and not unsafe:
        statuses.discard(401)
    return sorted(statuses)


def document(app: FastAPI, routes: list[APIRoute]) -> None:
    """Declare each API route's error answers with the one error body, in place of FastAPI's default 422."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        body = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        schema.setdefault("components", {}).setdefault("schemas", {}).update(body.pop("$defs"), ErrorResponse=body)
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
        for route in routes:
            if not route.include_in_schema or not route.path.startswith("/api/"):
                continue
            for method in route.methods:
                responses = schema["paths"][route.path][method.lower()]["responses"]
                for status in error_statuses(route):
                    responses[str(status)] = {"description": _STATUS_TEXT[status], "content": content}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
