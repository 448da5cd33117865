"""Import over HTTP for scripts and integrations; the kinds and their columns as documentation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from synfab.connect.files.pages import read_upload
from synfab.connect.files.registry import importable_kinds
from synfab.connect.files.runner import run_import
from synfab.core.errors import Invalid
from synfab.core.i18n import _l
from synfab.people.service import Principal
from synfab.web.deps import DbDep, require

router = APIRouter(prefix="/api/v1/import", tags=["import"])


@router.get("/kinds")
def list_kinds(user: Annotated[Principal, require("import.view")]) -> list[dict[str, Any]]:
    """What can be imported, with every column's Chinese and English header."""
    return [{
        "name": k.name, "title": str(k.title), "title_zh": k.title.in_locale("zh_CN"), "title_en": k.title.in_locale("en"),
        "depends_on": list(k.depends_on), "permission": k.permission,
        "columns": [{"key": c.key, "en": c.en, "zh": c.zh, "required": c.required, "aliases": list(c.aliases),
                     "help": str(c.help) if c.help else None, "example": c.example} for c in k.columns],
    } for k in importable_kinds()]


@router.post("")
async def import_file(
    db: DbDep, user: Annotated[Principal, require("import.create")], file: Annotated[UploadFile, File()],
    dry_run: Annotated[bool, Form()] = False, system: Annotated[str, Form()] = "",
) -> JSONResponse:
    """Import a workbook or CSV: 200 with the report when every row was right (written unless a dry run);
    422 with the same report, row by row, when anything was wrong — and then nothing was written."""
    data = await read_upload(file)
    report = await run_in_threadpool(run_import, db, data, file.filename or "upload.xlsx", dry_run=dry_run,
                                     system=system.strip() or None, can=user.can)
    body = report.to_dict()
    if report.ok:
        return JSONResponse(body)
    error = Invalid("import_rejected", _l("The file has {n} problems; nothing was written.", n=body["errors"]))
    return JSONResponse({"error": error.to_dict() | {"report": body}}, status_code=422)
