"""Purchasing kinds for Excel export: suppliers (with one row per item) and purchase order lines.

Export only for now: suppliers are few and entered on their page; purchase orders come from suggestions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from synfab.connect.files.spec import Column, ImportKind
from synfab.core.i18n import _l
from synfab.inventory.purchasing import service
from synfab.inventory.purchasing.models import PurchaseOrder, Supplier, SupplierItem
from synfab.plant.models import PlantNode


class SupplierKind(ImportKind):
    name = "suppliers"
    title = _l("Suppliers")
    importable = False
    permission = "supplier.create"
    view_permission = "supplier.view"
    export_filters = ("q", "active")
    columns = (
        Column("code", "Supplier", "供应商编码"),
        Column("name", "Name", "供应商名称"),
        Column("name_en", "English name", "英文名称"),
        Column("contact", "Contact", "联系人"),
        Column("lead_time_days", "Lead time (days)", "采购提前期（天）"),
        Column("active", "Active", "启用"),
        Column("material", "Material", "物料编码"),
        Column("min_order_qty", "Minimum order quantity", "最小订货量"),
        Column("pack_size", "Pack size", "包装量"),
        Column("item_lead_time_days", "Item lead time (days)", "物料提前期（天）"),
        Column("unit_price", "Unit price", "单价"),
        Column("preferred", "Preferred", "首选"),
    )

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        active = {"yes": True, "no": False}.get(filters.get("active", ""))
        stmt = service.supplier_query(filters.get("q"), active).order_by(Supplier.code)
        for supplier in session.scalars(stmt.options(selectinload(Supplier.items))):
            base = {"code": supplier.code, "name": supplier.name, "name_en": supplier.name_en,
                    "contact": supplier.contact, "lead_time_days": supplier.lead_time_days, "active": supplier.active}
            items: list[SupplierItem] = list(supplier.items)
            if not items:
                yield base
            for item in items:
                yield base | {"material": item.material.code, "min_order_qty": item.min_order_qty,
                              "pack_size": item.pack_size, "item_lead_time_days": item.lead_time_days,
                              "unit_price": item.unit_price, "preferred": item.preferred}


class PurchaseOrderKind(ImportKind):
    """One row per purchase order line."""

    name = "purchase_orders"
    title = _l("Purchase orders")
    importable = False
    permission = "purchase_order.create"
    view_permission = "purchase_order.view"
    export_filters = ("status", "supplier_id", "site_id", "material_id", "q")
    columns = (
        Column("code", "Purchase order", "采购订单号"),
        Column("supplier", "Supplier", "供应商编码"),
        Column("site", "Site", "工厂"),
        Column("status", "Status", "状态"),
        Column("order_date", "Order date", "订单日期"),
        Column("line_no", "Line", "行号"),
        Column("material", "Material", "物料编码"),
        Column("quantity", "Quantity", "数量"),
        Column("received", "Received", "已收货"),
        Column("unit", "Unit", "单位"),
        Column("due_date", "Due date", "到货日期"),
    )

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        def as_int(key: str) -> int | None:
            value = filters.get(key)
            return int(value) if value and value.isdigit() else None

        stmt = service.purchase_order_query(filters.get("status"), as_int("supplier_id"), as_int("site_id"),
                                            as_int("material_id"), filters.get("q"))
        sites = dict(session.execute(select(PlantNode.id, PlantNode.code)).all())
        for order in session.scalars(stmt.order_by(PurchaseOrder.code).options(selectinload(PurchaseOrder.lines))):
            for line in order.lines:
                yield {"code": order.code, "supplier": order.supplier.code, "site": sites.get(order.site_id),
                       "status": order.status, "order_date": order.order_date, "line_no": line.line_no,
                       "material": line.material.code, "quantity": line.quantity,
                       "received": line.received_quantity, "unit": line.material.unit.code,
                       "due_date": line.due_date}


KINDS = [SupplierKind, PurchaseOrderKind]
