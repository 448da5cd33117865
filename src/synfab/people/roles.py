"""Permissions (object type × action) and the built-in roles with their default permission sets."""

from __future__ import annotations

from synfab.core.i18n import LazyText, _l

ACTIONS = ("view", "create", "change", "approve")

# Object types people are given permissions on; later issues add theirs here.
OBJECT_TYPES: dict[str, LazyText] = {
    "plant": _l("Plant structure and calendars"),
    "material": _l("Materials and units"),
    "bom": _l("Bills of materials"),
    "routing": _l("Routings"),
    "customer": _l("Customers"),
    "sales_order": _l("Sales orders"),
    "work_order": _l("Work orders"),
    "stock": _l("Stock and lots"),
    "import": _l("Data import"),
    "outbox": _l("Event delivery (outbox)"),
    "user": _l("Users and roles"),
    "audit": _l("Audit log"),
    "skill": _l("Skills, certifications and training"),
    "roster": _l("Shift rosters"),
    "supplier": _l("Suppliers"),
    "purchase_order": _l("Purchase orders and suggestions"),
    "shipment": _l("Shipments"),
    "connector": _l("Machine connectors"),
    "equipment_data": _l("Machine data: tags, states, trends and stops"),
}


def perms(objects: str | list[str], actions: str | tuple[str, ...] = ACTIONS) -> set[str]:
    objs = list(OBJECT_TYPES) if objects == "*" else ([objects] if isinstance(objects, str) else objects)
    acts = (actions,) if isinstance(actions, str) else actions
    return {f"{o}.{a}" for o in objs for a in acts}


MASTER = ["plant", "material", "bom", "routing", "customer"]
PRODUCTION = ["sales_order", "work_order", "stock", "shipment"]
PURCHASING = ["supplier", "purchase_order"]

BUILTIN_ROLES: dict[str, tuple[str, str, set[str]]] = {
    # code: (zh name, en name, permissions)
    "operator": ("操作员", "Operator", perms(MASTER + PRODUCTION + ["skill", "roster", "equipment_data"], "view")
                 | perms(["work_order", "equipment_data"], "change")),
    "engineer": ("工程师", "Engineer", perms(MASTER + PRODUCTION + ["skill", "roster", "connector"], "view")
                 | perms(["plant", "material", "bom", "routing"], ("create", "change"))
                 | perms("equipment_data", ("view", "create", "change"))
                 | perms("import", ("view", "create"))),
    "quality": ("质量", "Quality", perms(MASTER + PRODUCTION + PURCHASING + ["skill", "audit", "equipment_data"],
                                       "view")
                | perms("stock", ("change", "approve"))),
    "manager": ("管理者", "Manager", perms(MASTER + PRODUCTION + PURCHASING + ["skill", "audit", "connector",
                                                                        "equipment_data"], "view")
                | perms(["customer", "sales_order", "work_order", "shipment", "roster"],
                        ("view", "create", "change", "approve"))
                | perms("purchase_order", "approve") | perms("equipment_data", "change")
                | perms("skill", "approve") | perms("import", ("view", "create")) | perms("outbox", "view")
                | perms("user", ("view", "create", "change"))),
    "it_admin": ("IT 管理员", "IT administrator", perms("*")),
    "procurement": ("采购", "Procurement", perms(MASTER + PRODUCTION, "view")
                    | perms(["stock", "shipment"], ("create", "change"))
                    | perms(PURCHASING, ("view", "create", "change"))),
    "hr_training": ("人事培训", "HR & training", perms(["plant", "user"], "view")
                    | perms(["skill", "roster"], ("view", "create", "change", "approve"))),
    "supplier": ("供应商", "Supplier", perms(["material", "purchase_order"], "view")),
    "viewer": ("只读", "Viewer", perms(MASTER + PRODUCTION + PURCHASING + ["equipment_data"], "view")),
}
