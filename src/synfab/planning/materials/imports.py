"""Materials kinds for Excel export: shortages and purchase suggestions (engine output: export only)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from synfab.connect.files.spec import Column, ImportKind
from synfab.core.i18n import _l
from synfab.planning.materials import service
from synfab.plant.models import PlantNode


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


class ShortageKind(ImportKind):
    name = "shortages"
    title = _l("Shortages")
    importable = False
    permission = "work_order.change"
    view_permission = "work_order.view"
    export_filters = ("status", "material_id", "site_id", "q")
    columns = (
        Column("work_order", "Work order", "工单号"),
        Column("material", "Material", "物料编码"),
        Column("material_name", "Material name", "物料名称"),
        Column("site", "Site", "工厂"),
        Column("quantity", "Short", "缺料数量"),
        Column("need_date", "Needed on", "需求日期"),
        Column("cover_date", "Earliest cover date", "最早齐料日期"),
        Column("covered_by", "Covered by", "覆盖的采购订单"),
        Column("status", "Status", "状态"),
    )

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        stmt = service.shortage_query(filters.get("status", "open"), _int(filters.get("material_id")),
                                      _int(filters.get("site_id")), filters.get("q"))
        sites = dict(session.execute(select(PlantNode.id, PlantNode.code)).all())
        for row in session.execute(stmt.order_by(*service.SHORTAGE_ORDER)):
            sh = row[0]
            yield {"work_order": row.work_order_code, "material": row.material_code, "material_name": row.material_name,
                   "site": sites.get(sh.site_id), "quantity": sh.quantity, "need_date": sh.need_date,
                   "cover_date": sh.cover_date, "covered_by": sh.covered_by, "status": sh.status}


class SuggestionKind(ImportKind):
    name = "purchase_suggestions"
    title = _l("Purchase suggestions")
    importable = False
    permission = "purchase_order.create"
    view_permission = "purchase_order.view"
    export_filters = ("status", "material_id", "supplier_id", "site_id", "q")
    columns = (
        Column("material", "Material", "物料编码"),
        Column("material_name", "Material name", "物料名称"),
        Column("site", "Site", "工厂"),
        Column("supplier", "Supplier", "供应商编码"),
        Column("net_quantity", "Net need", "净需求"),
        Column("quantity", "Quantity to order", "建议采购量"),
        Column("need_date", "Needed on", "需求日期"),
        Column("order_by", "Order by", "最晚下单日期"),
        Column("status", "Status", "状态"),
    )

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        stmt = service.suggestion_query(filters.get("status", "open"), _int(filters.get("material_id")),
                                        _int(filters.get("supplier_id")), _int(filters.get("site_id")),
                                        filters.get("q"))
        sites = dict(session.execute(select(PlantNode.id, PlantNode.code)).all())
        for row in session.execute(stmt.order_by(*service.SUGGESTION_ORDER)):
            sg = row[0]
            yield {"material": row.material_code, "material_name": row.material_name, "site": sites.get(sg.site_id),
                   "supplier": row.supplier_code, "net_quantity": sg.net_quantity, "quantity": sg.quantity,
                   "need_date": sg.need_date, "order_by": sg.order_by, "status": sg.status}


KINDS = [ShortageKind, SuggestionKind]
