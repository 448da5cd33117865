"""Import page (upload, dry run, the rendered report), template downloads, and Excel export of every kind."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from synfab.connect.files.export import export_workbook, template_workbook
from synfab.connect.files.registry import importable_kinds, kinds
from synfab.connect.files.runner import run_import
from synfab.connect.files.spec import ImportKind
from synfab.core.errors import Invalid, NotFound
from synfab.core.i18n import N_, _l, current_locale
from synfab.people.service import Principal
from synfab.web.deps import DbDep, SessionDep, require
from synfab.web.templating import NavItem, render

router = APIRouter()
NAV = [NavItem(N_("Administration"), N_("Import data"), "/import", "import.view", "⇪")]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(content: bytes, name: str) -> Response:
    """An .xlsx download; the file name may be Chinese (RFC 5987)."""
    return Response(content, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"{name.encode('ascii', 'replace').decode()}\"; "
                               f"filename*=UTF-8''{quote(name)}"})


async def read_upload(upload: UploadFile) -> bytes:
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise Invalid("file_too_large", _l("The file is larger than {mb} MB; split it into smaller files.",
                                           mb=MAX_UPLOAD_BYTES // 1024 // 1024))
    return data


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, user: Annotated[Principal, require("import.view")]) -> Response:
    return render(request, "connect/import.html", kinds=importable_kinds(), report=None)


@router.post("/import", response_class=HTMLResponse)
async def import_upload(
    request: Request, db: DbDep, user: Annotated[Principal, require("import.create")],
    file: Annotated[UploadFile, File()], dry_run: Annotated[bool, Form()] = False,
    system: Annotated[str, Form()] = "",
) -> Response:
    data = await read_upload(file)
    report = await run_in_threadpool(run_import, db, data, file.filename or "upload.xlsx", dry_run=dry_run,
                                     system=system.strip() or None, can=user.can)
    return render(request, "connect/import.html", kinds=importable_kinds(), report=report,
                  status_code=200 if report.ok else 422)


def _kind(name: str) -> ImportKind:
    found = kinds().get(name)
    if found is None or not found.importable:
        raise NotFound("import_kind_not_found", _l("There is nothing called {name} to import or export.", name=name))
    return found


@router.get("/import/templates/all.xlsx")
def template_all(user: Annotated[Principal, require("import.view")]) -> Response:
    """One workbook with an empty sheet for every kind and the instructions."""
    return xlsx_response(template_workbook(importable_kinds(), current_locale()), "synfab-templates.xlsx")


@router.get("/import/templates/{name}.xlsx")
def template_one(name: str, user: Annotated[Principal, require("import.view")]) -> Response:
    kind = _kind(name)
    locale = current_locale()
    return xlsx_response(template_workbook([kind], locale), f"{kind.sheet_title(locale)}-template.xlsx")


def _export_route(kind: ImportKind) -> None:
    def export(request: Request, session: SessionDep, user: Any) -> Response:
        locale = current_locale()
        filters = {k: v for k, v in request.query_params.items() if v}
        content = export_workbook(session, [kind], filters, locale)
        return xlsx_response(content, f"{kind.sheet_title(locale)}-{date.today().isoformat()}.xlsx")

    export.__annotations__["user"] = Annotated[Principal, require(kind.view_permission)]
    export.__doc__ = f"Export {kind.title.in_locale('en').lower()} to Excel (the import template's columns)."
    router.add_api_route(f"/export/{kind.name}.xlsx", export, methods=["GET"], name=f"export_{kind.name}",
                         tags=["export"])


for _k in kinds().values():
    _export_route(_k)
