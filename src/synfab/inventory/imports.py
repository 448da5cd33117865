"""Inventory kinds for Excel/CSV: stock on hand (import = opening stock or a stock count; export = the stock
list), and exports of lots and of the stock ledger.

Importing stock sets on hand to what the file says through adjustment moves of the differences, so the ledger
stays the only truth and the same file imported twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.catalog import service as catalog
from synfab.catalog.models import Material
from synfab.connect.files.spec import (
    CellError, Column, ImportContext, ImportKind, Row, choice_parser, parse_date, parse_decimal, parse_int,
)
from synfab.core.errors import DomainError, Invalid
from synfab.core.i18n import Translated, _l
from synfab.core.uow import UnitOfWork
from synfab.inventory import service
from synfab.inventory.choices import LotStatus, MoveKind
from synfab.inventory.models import Lot
from synfab.inventory.schemas import OnHandTarget
from synfab.plant.choices import STORAGE_LEVELS
from synfab.plant.models import PlantNode

MATERIAL, UNIT, LOCATION = _l("material"), _l("unit of measure"), _l("storage location")


def _whole_days(value: Any) -> int:
    days = parse_int(value)
    if days < 0:
        raise CellError("not_positive", _l("Enter a number of days, 0 or more."))
    return days


class StockKind(ImportKind):
    """On hand per location, material and lot. Importing it is an opening stock or a stock count."""

    name = "stock"
    title = _l("Stock on hand")
    sheet_names = ("库存", "期初库存", "盘点", "现有库存", "opening stock", "stock count", "inventory")
    key = ("location", "material", "lot")
    depends_on = ("materials", "unit_conversions", "plant")
    permission = "stock.create"
    view_permission = "stock.view"
    export_filters = ("material_id", "location_id", "lot_status", "q")
    columns = (
        Column("location", "Location", "库位", required=True, aliases=("库位编码", "库区", "仓位"), example="RM-A01",
               help=_l("Code of a storage zone or storage unit.")),
        Column("material", "Material", "物料编码", required=True, aliases=("物料",), example="CST-HSG-FR"),
        Column("lot", "Lot", "批次号", aliases=("批次", "批号", "lot no"), example="L261101-001",
               help=_l("Required for lot-tracked materials; new lot numbers create the lot.")),
        Column("quantity", "Quantity", "数量", parse_decimal, required=True, aliases=("库存数量", "on hand"),
               example="900", help=_l("What is there now; 0 empties the location.")),
        Column("unit", "Unit", "单位", example="pcs", help=_l("Default: the material's base unit.")),
        Column("received_on", "Received on", "入库日期", parse_date, example="2026-11-01"),
        Column("expires_on", "Expires on", "失效日期", parse_date, aliases=("有效期至",), example="2027-11-01",
               help=_l("Default: received date + the material's shelf life.")),
        Column("supplier_lot", "Supplier lot", "供应商批号", example="S48213"),
        Column("status", "Lot status", "批次状态", choice_parser(LotStatus), example="可用",
               help=_l("Available or on hold; a lot put on hold here keeps the file name as its reason.")),
    )
    ERROR_COLUMNS = {"lot_code_taken": "lot", "lot_expires_before_receipt": "expires_on",
                     "not_a_storage_location": "location", "location_not_found": "location",
                     "lot_required": "lot", "lot_not_tracked": "lot", "on_hand_target_repeated": "lot"}

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        materials = catalog.code_index(s, "material", ctx.system)
        units = catalog.code_index(s, "unit", ctx.system)
        info = {m.id: m for m in s.scalars(select(Material))}
        locations = {n.code: n for n in s.scalars(select(PlantNode).where(PlantNode.level.in_(list(STORAGE_LEVELS))))}
        converter = catalog.UnitConverter(s)
        targets: list[OnHandTarget] = []
        target_rows: list[Row] = []
        new_lots: set[int] = set()
        statuses: dict[int, tuple[LotStatus, Row]] = {}
        for row in rows:
            material_id = ctx.resolve(row, "material", materials, MATERIAL)
            unit = ctx.resolve(row, "unit", units, UNIT) if row.values.get("unit") else None
            location = locations.get(row.values.get("location") or "")
            if row.values.get("location") and location is None:
                ctx.error(row, "location", "location_not_found", _l(
                    "There is no storage zone or storage unit with code {code}.", code=row.values["location"]))
            if material_id is None or location is None or not row.ok:
                continue
            material = info[material_id]
            quantity = row.values["quantity"]
            if quantity < 0:
                ctx.error(row, "quantity", "quantity_negative", _l("Stock cannot be negative."))
                continue
            if unit is not None and unit != material.unit_id:
                try:
                    quantity = converter.convert(quantity, unit, material.unit_id, material.id)
                except DomainError as exc:
                    ctx.refused(row, exc, {"no_unit_conversion": "unit"})
                    continue
            lot_id = self._lot(uow, ctx, row, material, new_lots)
            if not row.ok:
                continue
            if lot_id is not None and row.values.get("status") is not None:
                statuses[lot_id] = (row.values["status"], row)
            targets.append(OnHandTarget(material_id=material.id, location_id=location.id, lot_id=lot_id,
                                        quantity=quantity))
            target_rows.append(row)
        if not all(r.ok for r in rows):
            return
        try:
            moves = service.set_on_hand_many(uow, targets, reason=f"import {ctx.report.filename}",
                                             reference=ctx.report.filename[:120])
        except Invalid as exc:  # a rule only the ledger knows (a consumed lot …): on the rows it is about
            for detail in exc.details:
                code = detail.get("code", exc.code)
                ctx.error(target_rows[detail["index"]], self.ERROR_COLUMNS.get(code), code,
                          Translated(detail["message"]))
            if not exc.details:
                ctx.refused(target_rows[0] if target_rows else None, exc, self.ERROR_COLUMNS)
            return
        moved = {(m.material_id, m.lot_id, m.from_location_id or m.to_location_id) for m in moves}
        for t in targets:
            if (t.material_id, t.lot_id, t.location_id) not in moved:
                ctx.count("unchanged")
            else:
                ctx.count("created" if t.lot_id in new_lots or t.lot_id is None else "updated")
        self._set_statuses(uow, ctx, statuses)

    def _lot(self, uow: UnitOfWork, ctx: ImportContext, row: Row, material: Material, new_lots: set[int]) -> int | None:
        code = row.values.get("lot")
        if not code:
            if material.lot_tracked:
                ctx.error(row, "lot", "lot_required", _l(
                    "{material} is lot-tracked: give the lot number.", material=material.code))
            return None
        try:
            existing = service.lot_by_code(uow.session, code)
        except DomainError:
            existing = None
        if existing is not None:
            if existing.material_id != material.id:
                ctx.error(row, "lot", "lot_code_taken", _l(
                    "The lot code {code} is already used by a lot of another material; lot codes are unique across "
                    "materials.", code=code))
                return None
            return existing.id
        try:
            lot = service.ensure_lot(uow, material.id, code, received_on=row.values.get("received_on"),
                                     expires_on=row.values.get("expires_on"),
                                     supplier_lot=row.values.get("supplier_lot"))
        except DomainError as exc:
            ctx.refused(row, exc, self.ERROR_COLUMNS)
            return None
        new_lots.add(lot.id)
        return lot.id

    def _set_statuses(self, uow: UnitOfWork, ctx: ImportContext, statuses: dict[int, tuple[LotStatus, Row]]) -> None:
        reason = _l("set by the import of {file}", file=ctx.report.filename).in_locale("en")
        for lot_id, (wanted, row) in statuses.items():
            lot = service.get_lot(uow.session, lot_id)
            try:
                if wanted == LotStatus.HOLD and lot.status == LotStatus.AVAILABLE:
                    service.hold_lot(uow, lot.id, reason)
                elif wanted == LotStatus.AVAILABLE and lot.status == LotStatus.HOLD:
                    ctx.error(row, "status", "lot_release_needs_signature", _l(
                        "Lot {lot} is on hold: releasing it needs an electronic signature on its page, not an "
                        "import.", lot=lot.code))
                elif wanted != lot.status:
                    ctx.error(row, "status", "lot_status_not_importable", _l(
                        "A lot can be set available or on hold here; {status} lots change through their own page.",
                        status=lot.status.label))
            except DomainError as exc:
                ctx.refused(row, exc, {})

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        def number(key: str) -> int | None:
            return int(filters[key]) if filters.get(key, "").isdigit() else None

        stmt = service.stock_query(material_id=number("material_id"), location_id=number("location_id"),
                                   lot_status=filters.get("lot_status") or None, q=filters.get("q") or None)
        for r in session.execute(stmt.order_by(*service.STOCK_ORDER)):
            yield {"location": r.location_code, "material": r.material_code, "lot": r.lot_code, "quantity": r.quantity,
                   "unit": r.unit, "expires_on": r.expires_on, "supplier_lot": r.supplier_lot, "status": r.lot_status}


class LotKind(ImportKind):
    """Lots come with receipts, production and opening stock: exported only."""

    name = "lots"
    title = _l("Lots")
    importable = False
    permission = "stock.create"
    view_permission = "stock.view"
    export_filters = ("material_id", "status", "location_id", "expired", "expiring", "q")
    columns = (
        Column("code", "Lot", "批次号"), Column("material", "Material", "物料编码"),
        Column("material_name", "Material name", "物料名称"), Column("status", "Status", "状态"),
        Column("received_on", "Received on", "入库日期"), Column("expires_on", "Expires on", "失效日期"),
        Column("supplier_lot", "Supplier lot", "供应商批号"), Column("parent", "Split from", "来源批次"),
        Column("on_hand", "On hand", "现有库存"), Column("unit", "Unit", "单位"),
    )

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        expiring = filters.get("expiring", "")
        stmt = service.lot_query(
            material_id=int(filters["material_id"]) if filters.get("material_id", "").isdigit() else None,
            status=filters.get("status") or None,
            location_id=int(filters["location_id"]) if filters.get("location_id", "").isdigit() else None,
            expired={"yes": True, "no": False}.get(filters.get("expired", "")), q=filters.get("q") or None,
            expiring_within_days=_whole_days(expiring) if expiring.isdigit() else None, today=service.today(session))
        parents = dict(session.execute(select(Lot.id, Lot.code)).all())
        for r in session.execute(stmt.order_by(*service.LOT_ORDER)):
            yield {"code": r.code, "material": r.material_code, "material_name": r.material_name, "status": r.status,
                   "received_on": r.received_on, "expires_on": r.expires_on, "supplier_lot": r.supplier_lot,
                   "parent": parents.get(r.parent_id), "on_hand": r.on_hand, "unit": r.unit}


class StockMoveKind(ImportKind):
    """The stock ledger: exported only (moves are posted by receipts, production, shipments and imports)."""

    name = "stock_moves"
    title = _l("Stock moves")
    importable = False
    permission = "stock.create"
    view_permission = "stock.view"
    export_filters = ("material_id", "lot_id", "location_id", "kind", "from", "to", "q")
    columns = (
        Column("moved_at", "Time", "时间"), Column("kind", "Kind", "类型"), Column("material", "Material", "物料编码"),
        Column("lot", "Lot", "批次号"), Column("from_location", "From", "从库位"), Column("to_location", "To", "到库位"),
        Column("quantity", "Quantity", "数量"), Column("unit", "Unit", "单位"),
        Column("reference", "Reference", "单据"), Column("reason", "Reason", "原因"), Column("actor", "By", "操作人"),
    )

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        tz = service.plant_time_zone(session)

        def day(key: str) -> date | None:
            try:
                return date.fromisoformat(filters[key]) if filters.get(key) else None
            except ValueError:
                return None

        start, end = day("from"), day("to")
        stmt = service.move_query(
            material_id=int(filters["material_id"]) if filters.get("material_id", "").isdigit() else None,
            lot_id=int(filters["lot_id"]) if filters.get("lot_id", "").isdigit() else None,
            location_id=int(filters["location_id"]) if filters.get("location_id", "").isdigit() else None,
            kind=filters.get("kind") if filters.get("kind") in {k.value for k in MoveKind} else None,
            start=datetime.combine(start, time(), tz) if start else None,
            end=datetime.combine(end + timedelta(days=1), time(), tz) if end else None, q=filters.get("q") or None)
        for r in session.execute(stmt.order_by(*service.MOVE_ORDER)):
            yield {"moved_at": r.moved_at.astimezone(tz).replace(tzinfo=None), "kind": r.kind,
                   "material": r.material_code, "lot": r.lot_code, "from_location": r.from_location_code,
                   "to_location": r.to_location_code, "quantity": r.quantity, "unit": r.unit,
                   "reference": r.reference, "reason": r.reason, "actor": r.actor}


KINDS = [StockKind, LotKind, StockMoveKind]
