"""Orders kinds for Excel/CSV import and export: customers, sales orders (one row per line), work orders (export).

Sales order files can be large (an ERP's open order book): their rows are resolved with in-memory code
indexes and saved by `save_sales_orders` in bulk statements.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from synfab.catalog import service as catalog
from synfab.catalog.models import Material
from synfab.connect.files.spec import (
    Column, ImportContext, ImportKind, Row, choice_parser, group_rows, header_value, parse_bool, parse_date,
    parse_decimal, parse_int, parse_text, same_header,
)
from synfab.core.errors import DomainError
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork
from synfab.orders import service
from synfab.orders.choices import Priority
from synfab.orders.models import Customer, SalesOrderLine, WorkOrder
from synfab.orders.schemas import CustomerCreate, CustomerUpdate
from synfab.orders.service import LineIn, OrderIn
from synfab.plant.choices import Level
from synfab.plant.models import PlantNode

CUSTOMER, SITE, MATERIAL, UNIT = _l("customer"), _l("site"), _l("material"), _l("unit of measure")


class CustomerKind(ImportKind):
    name = "customers"
    title = _l("Customers")
    sheet_names = ("客户", "客户档案", "customers")
    permission = "customer.create"
    view_permission = "customer.view"
    export_filters = ("q", "active")
    columns = (
        Column("code", "Code", "客户编码", required=True, aliases=("编码",), example="C001"),
        Column("name", "Name", "客户名称", required=True, aliases=("名称",), example="江南汽车有限公司"),
        Column("name_en", "English name", "英文名称", example="Jiangnan Motors"),
        Column("contact", "Contact", "联系人", example="王经理"),
        Column("phone", "Phone", "电话", aliases=("联系电话",), example="0512-6588 1001"),
        Column("email", "Email", "邮箱"),
        Column("address", "Address", "地址", lambda v: parse_text(v, 500)),
        Column("active", "Active", "启用", parse_bool, example="是"),
    )
    FIELDS = ("name", "name_en", "contact", "phone", "email", "address")

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        existing = {c.code: c for c in uow.session.scalars(select(Customer))}
        for row in rows:
            if not row.ok:
                continue
            v = row.values
            fields: dict[str, Any] = {k: v.get(k) for k in self.FIELDS}
            if v.get("active") is not None:
                fields["active"] = v["active"]
            found = existing.get(v["code"])
            try:
                if found is None:
                    existing[v["code"]] = service.create_customer(uow, CustomerCreate(code=v["code"], **fields))
                    ctx.count("created")
                elif any(getattr(found, k) != val for k, val in fields.items()):
                    service.update_customer(uow, found.id, CustomerUpdate(version=found.version, **fields))
                    ctx.count("updated")
                else:
                    ctx.count("unchanged")
            except DomainError as exc:
                ctx.refused(row, exc, {"customer_code_taken": "code"})

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        stmt = service.customer_query(q=filters.get("q"), active=filters.get("active"))
        for c in session.scalars(stmt.order_by(Customer.code)):
            yield {"code": c.code, **{k: getattr(c, k) for k in self.FIELDS}, "active": c.active}


class SalesOrderKind(ImportKind):
    """One row per order line; the rows with the same order number are one order."""

    name = "sales_orders"
    title = _l("Sales orders")
    sheet_names = ("销售订单", "订单", "sales orders", "orders", "open orders")
    key = ("order", "line_no")
    depends_on = ("customers", "materials", "unit_conversions")
    permission = "sales_order.create"
    view_permission = "sales_order.view"
    export_filters = ("status", "customer_id", "site_id", "due_from", "due_to", "q")
    columns = (
        Column("order", "Order", "订单号", required=True, aliases=("销售订单号", "order no", "sales order"),
               example="SO-2611-0001"),
        Column("customer", "Customer", "客户编码", required=True, aliases=("客户",), example="C001"),
        Column("site", "Site", "工厂", required=True, aliases=("工厂编码", "plant"), example="SZ",
               help=_l("Code of the site (plant) that delivers the order.")),
        Column("order_date", "Order date", "订单日期", parse_date, aliases=("下单日期",), example="2026-11-20"),
        Column("customer_po", "Customer PO", "客户采购单号", aliases=("客户PO", "PO"), example="PO20261120001"),
        Column("priority", "Priority", "优先级", choice_parser(Priority), example="普通",
               help=_l("Urgent, high, normal or low (1–4); default normal.")),
        Column("line_no", "Line", "行号", parse_int, required=True, aliases=("订单行", "line no"), example="10"),
        Column("material", "Material", "物料编码", required=True, aliases=("物料", "产品编码", "item"), example="CAL-FR-L"),
        Column("quantity", "Quantity", "数量", parse_decimal, required=True, aliases=("订单数量",), example="500"),
        Column("unit", "Unit", "单位", example="pcs", help=_l("Default: the material's base unit.")),
        Column("due_date", "Due date", "交货日期", parse_date, required=True, aliases=("交期", "要求交货日期"),
               example="2026-12-15"),
    )
    HEADER = ("customer", "site", "order_date", "customer_po", "priority")
    ERROR_COLUMNS = {"customer_not_found": "customer", "customer_inactive": "customer", "not_a_site": "site",
                     "material_inactive": "material", "quantity_not_positive": "quantity",
                     "due_before_order_date": "due_date", "line_material_changed": "material",
                     "sales_order_not_open": "order", "sales_order_line_not_open": "line_no"}

    def apply(self, uow: UnitOfWork, rows: list[Row], ctx: ImportContext) -> None:
        s = uow.session
        customers = catalog.code_index(s, "customer", ctx.system,
                                       own=dict(s.execute(select(Customer.code, Customer.id)).all()))
        sites = catalog.code_index(s, "plant_node", ctx.system, own=dict(
            s.execute(select(PlantNode.code, PlantNode.id).where(PlantNode.level == Level.SITE)).all()))
        materials = catalog.code_index(s, "material", ctx.system)
        units = catalog.code_index(s, "unit", ctx.system)
        base_unit = dict(s.execute(select(Material.id, Material.unit_id)).all())
        converter = catalog.UnitConverter(s)
        orders: list[OrderIn] = []
        for (code,), group in group_rows(rows, "order").items():
            if not same_header(ctx, group, self.HEADER):
                continue
            first = group[0]
            customer = ctx.resolve(next((r for r in group if r.values.get("customer")), first), "customer",
                                   customers, CUSTOMER)
            site = ctx.resolve(next((r for r in group if r.values.get("site")), first), "site", sites, SITE)
            lines = [line for row in group if (line := self._line(ctx, row, materials, units, base_unit, converter))]
            if customer is None or site is None or not all(r.ok for r in group):
                continue
            orders.append(OrderIn(
                code=code, customer_id=customer, site_id=site, order_date=header_value(group, "order_date"),
                customer_po=header_value(group, "customer_po"), priority=header_value(group, "priority"),
                lines=lines, ref=first))
        if not all(r.ok for r in rows):
            return  # the import fails anyway; do not write (and not spend the time) on the good rows
        result = service.save_sales_orders(uow, orders, source=ctx.report.filename)
        for problem in result.problems:
            ctx.refused(problem.ref, problem.error, self.ERROR_COLUMNS)
        ctx.result.created += len(result.created)
        ctx.result.updated += len(result.updated)
        ctx.result.unchanged += len(result.unchanged)

    def _line(self, ctx: ImportContext, row: Row, materials: Any, units: Any, base_unit: dict[int, int],
              converter: catalog.UnitConverter) -> LineIn | None:
        material = ctx.resolve(row, "material", materials, MATERIAL)
        unit = ctx.resolve(row, "unit", units, UNIT) if row.values.get("unit") else None
        if material is None or not row.ok:
            return None
        quantity: Decimal = row.values["quantity"]
        if unit is not None and unit != base_unit[material]:
            try:
                quantity = converter.convert(quantity, unit, base_unit[material], material)
            except DomainError as exc:
                ctx.refused(row, exc, {"no_unit_conversion": "unit"})
                return None
        if quantity <= 0:
            ctx.error(row, "quantity", "quantity_not_positive", _l("The quantity must be greater than zero."))
            return None
        return LineIn(line_no=row.values["line_no"], material_id=material, quantity=quantity,
                      due_date=row.values["due_date"], priority=None, ref=row)

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        stmt = service.sales_order_line_query(
            order_status=filters.get("status"), customer_id=filters.get("customer_id"),
            site_id=filters.get("site_id"), due_from=filters.get("due_from"), due_to=filters.get("due_to"),
            q=filters.get("q"))
        sites = dict(session.execute(select(PlantNode.id, PlantNode.code).where(PlantNode.level == Level.SITE)).all())
        units = {m.id: m.unit.code for m in session.scalars(select(Material))}
        for line in session.scalars(stmt.order_by(SalesOrderLine.order_id, SalesOrderLine.line_no)):
            order = line.order
            yield {"order": order.code, "customer": order.customer.code, "site": sites.get(order.site_id),
                   "order_date": order.order_date, "customer_po": order.customer_po, "priority": order.priority,
                   "line_no": line.line_no, "material": line.material.code, "quantity": line.quantity,
                   "unit": units.get(line.material_id), "due_date": line.due_date}


class WorkOrderKind(ImportKind):
    """Work orders come from releasing demand, not from files: exported only."""

    name = "work_orders"
    title = _l("Work orders")
    importable = False
    key = ("code",)
    permission = "work_order.create"
    view_permission = "work_order.view"
    export_filters = ("status", "material_id", "production_line_id", "site_id", "due_from", "due_to",
                      "sales_order_id", "q")
    columns = (
        Column("code", "Work order", "工单号"),
        Column("material", "Material", "物料编码"),
        Column("material_name", "Material name", "物料名称"),
        Column("quantity", "Quantity", "数量"),
        Column("unit", "Unit", "单位"),
        Column("site", "Site", "工厂"),
        Column("production_line", "Production line", "产线"),
        Column("sales_order", "Sales order", "销售订单号"),
        Column("line_no", "Line", "行号"),
        Column("parent", "Parent work order", "上级工单"),
        Column("due_date", "Due date", "交货日期"),
        Column("priority", "Priority", "优先级"),
        Column("status", "Status", "状态"),
        Column("operations", "Operations", "工序数"),
        Column("planned_minutes", "Planned minutes", "计划工时（分钟）"),
    )

    def export_rows(self, session: Session, filters: dict[str, str]) -> Iterable[dict[str, Any]]:
        stmt = service.work_order_query(**{k: filters.get(k) for k in self.export_filters})
        codes = dict(session.execute(select(PlantNode.id, PlantNode.code)).all())
        for wo in session.scalars(stmt.order_by(WorkOrder.code).options(selectinload(WorkOrder.operations))).unique():
            line = wo.sales_order_line
            yield {"code": wo.code, "material": wo.material.code, "material_name": wo.material.name,
                   "quantity": wo.quantity, "unit": wo.material.unit.code, "site": codes.get(wo.site_id),
                   "production_line": codes.get(wo.production_line_id or 0),
                   "sales_order": line.order.code if line else None, "line_no": line.line_no if line else None,
                   "parent": wo.parent.code if wo.parent else None, "due_date": wo.due_date,
                   "priority": wo.priority, "status": wo.status, "operations": len(wo.operations),
                   "planned_minutes": sum((op.planned_minutes for op in wo.operations), Decimal(0))}


KINDS = [CustomerKind, SalesOrderKind, WorkOrderKind]
