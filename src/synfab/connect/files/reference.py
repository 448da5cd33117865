"""The import reference (docs/import.md), written from the kinds themselves so it cannot drift.

Regenerate with `python -m synfab.connect.files.reference > docs/import.md`.
"""

from __future__ import annotations

from synfab.connect.files.registry import importable_kinds, kinds

RULES = """# Importing and exporting data · 数据导入与导出

synfab reads Excel workbooks (`.xlsx`) and CSV files (UTF-8, with or without BOM, or GBK/GB18030 as Chinese ERP
systems write them). Upload a file on **Administration → Import data** (`/import`), send it to
`POST /api/v1/import`, or run `synfab import FILE [--dry-run] [--system ERP]`.

## Rules

- **Sheets are recognised by their name or their headers.** Name a sheet after what it holds, in Chinese or English
  (`物料`, `Materials`, `销售订单` …), or keep the headers of the template. A CSV file holds one kind; its file name
  or its headers tell which. Sheets named `说明` / `Instructions` are skipped.
- **Headers in Chinese or English** (and a few common synonyms such as `料号`, `品名`, `交期`); spaces, case,
  full-width characters and a trailing `*` do not matter. Unknown columns are reported as warnings and ignored;
  a missing required column is an error.
- **All or nothing.** Every problem is reported with its sheet, row, column, value and a message in Chinese and
  English; if there is any error, nothing is written (`synfab import` exits with code 1, the API answers 422).
- **Idempotent.** Records are matched by their code; importing the same file twice changes nothing, a changed row
  updates the record, rows not in the file are left alone (an import never deletes).
- **Codes from other systems.** Every reference (material, unit, customer, site) is resolved through the data
  dictionary: our code, or a code another system uses for the same record (sheet *External codes*). With
  `--system WMS` (or the *system* field of the upload form) that system's codes win; without it a code two systems
  use for different records is reported, not guessed.
- **Order of sheets does not matter:** kinds are loaded in dependency order (units before materials before BOMs…),
  all in one transaction; a sheet may refer to records created by another sheet of the same file.
- **Dry run** (`--dry-run`, or *Trial run* on the page) checks everything and writes nothing.
- **Stock** is set, not added: the file says what is on hand per location, material and lot, and the difference is
  posted as an adjustment move (opening stock, stock counts). Importing it twice posts nothing the second time.

Empty templates with a sheet of instructions: **Import data → Template** per kind, or
`synfab template all templates.xlsx --lang zh_CN`. Every list page has **Export to Excel**, which writes the same
columns (`synfab export KIND FILE.xlsx`), so an export can be edited and imported back.

## Kinds and their columns

Required columns are marked ✓. Headers are accepted in either language.
"""


def markdown_reference() -> str:
    out = [RULES]
    for k in importable_kinds():
        out.append(f"### {k.title.in_locale('en')} · {k.title.in_locale('zh_CN')} (`{k.name}`)\n")
        names = ", ".join(f"`{n}`" for n in dict.fromkeys(
            [k.title.in_locale("zh_CN"), k.title.in_locale("en"), *k.sheet_names]))
        line = f"Sheet names: {names}. Permission to import: `{k.permission}`."
        if k.depends_on:
            line += f" Loaded after: {', '.join(k.depends_on)}."
        if k.key != ("code",):
            line += f"\nOne record per distinct {' + '.join(f'`{c}`' for c in k.key)}."
        out.append(line + "\n")
        out.append("| 中文 | English | | meaning · 说明 | example |\n|---|---|---|---|---|")
        for c in k.columns:
            help_text = f"{c.help.in_locale('en')} {c.help.in_locale('zh_CN')}" if c.help else ""
            out.append(f"| {c.zh} | {c.en} | {'✓' if c.required else ''} | {help_text} | {c.example} |")
        out.append("")
    out.append("## Exports only · 仅导出\n")
    for k in kinds().values():
        if not k.importable:
            out.append(f"- **{k.title.in_locale('en')} · {k.title.in_locale('zh_CN')}** — `/export/{k.name}.xlsx`, "
                       f"`synfab export {k.name} FILE.xlsx`: " + ", ".join(f"{c.zh} / {c.en}" for c in k.columns) + ".")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown_reference(), end="")
