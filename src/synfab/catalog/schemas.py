"""JSON shapes of the catalog (Create / Update / Read families).

Business rules (quantity > 0, scrap factor below 1, convertible units …) are checked by the services so the
importer and the API get the same, specific message; the shapes here only fix types and lengths.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from synfab.catalog.choices import Dimension, DocumentStatus, MaterialType, Sourcing
from synfab.people.schemas import SignatureIn

# Codes: no leading or trailing blanks (a copied "M001 " must not become a second material).
CODE_PATTERN = r"^\S(.*\S)?$"


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# -- units -------------------------------------------------------------------------------------------------


class UnitCreate(BaseModel):
    code: str = Field(min_length=1, max_length=20, pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    dimension: Dimension = Dimension.COUNT


class UnitUpdate(BaseModel):
    """Fields left out stay as they are; `version` is the one the client loaded."""

    version: int
    name: str | None = Field(default=None, min_length=1, max_length=100)
    name_en: str | None = Field(default=None, max_length=100)
    dimension: Dimension | None = None


class UnitBrief(_Read):
    id: int
    code: str
    name: str
    name_en: str | None


class UnitRead(UnitBrief):
    dimension: Dimension
    version: int
    updated_at: datetime
    updated_by: str


class ConversionCreate(BaseModel):
    """1 `from_unit` = `factor` × `to_unit`, for every material or only for `material_id`."""

    from_unit_id: int
    to_unit_id: int
    factor: Decimal
    material_id: int | None = None


class MaterialBrief(_Read):
    id: int
    code: str
    name: str
    name_en: str | None
    type: MaterialType
    sourcing: Sourcing


class ConversionRead(_Read):
    id: int
    from_unit: UnitBrief
    to_unit: UnitBrief
    factor: Decimal
    material: MaterialBrief | None


class ConvertRead(BaseModel):
    quantity: Decimal
    from_unit: UnitBrief
    to_unit: UnitBrief
    material_id: int | None
    result: Decimal


# -- material classes and materials ------------------------------------------------------------------------


class MaterialClassCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40, pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    parent_id: int | None = None


class MaterialClassUpdate(BaseModel):
    version: int
    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    parent_id: int | None = None


class MaterialClassRead(_Read):
    id: int
    code: str
    name: str
    name_en: str | None
    parent_id: int | None
    version: int


class ClassBrief(_Read):
    id: int
    code: str
    name: str
    name_en: str | None


class MaterialCreate(BaseModel):
    code: str = Field(min_length=1, max_length=40, pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    type: MaterialType
    sourcing: Sourcing = Sourcing.BUY
    unit_id: int
    class_id: int | None = None
    specification: str | None = None
    lot_tracked: bool = True
    shelf_life_days: int | None = Field(default=None, ge=0)
    lead_time_days: int | None = Field(default=None, ge=0)
    active: bool = True


class MaterialUpdate(BaseModel):
    """Fields left out stay as they are; send `null` to clear an optional one."""

    version: int
    code: str | None = Field(default=None, min_length=1, max_length=40, pattern=CODE_PATTERN)
    name: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    type: MaterialType | None = None
    sourcing: Sourcing | None = None
    unit_id: int | None = None
    class_id: int | None = None
    specification: str | None = None
    lot_tracked: bool | None = None
    shelf_life_days: int | None = Field(default=None, ge=0)
    lead_time_days: int | None = Field(default=None, ge=0)
    active: bool | None = None


class MaterialRead(MaterialBrief):
    unit: UnitBrief
    material_class: ClassBrief | None
    specification: str | None
    lot_tracked: bool
    shelf_life_days: int | None
    lead_time_days: int | None
    active: bool
    version: int
    updated_at: datetime
    updated_by: str


class MaterialPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[MaterialRead]


# -- BOMs --------------------------------------------------------------------------------------------------


class BomLineIn(BaseModel):
    """One component; `position` defaults to 10, 20, 30 … and `unit_id` to the component's base unit."""

    position: int | None = None
    component_id: int
    quantity: Decimal
    unit_id: int | None = None
    scrap_factor: Decimal = Decimal(0)
    operation_seq: int | None = None
    backflush: bool = False


class BomCreate(BaseModel):
    material_id: int
    revision: str = Field(min_length=1, max_length=20)
    status: DocumentStatus = DocumentStatus.DRAFT
    effective_from: date | None = None
    effective_to: date | None = None
    base_quantity: Decimal = Decimal(1)
    note: str | None = None
    lines: list[BomLineIn] = []


class BomUpdate(BaseModel):
    """Replaces what is given: header fields left out stay; `lines`, when given, replace all lines."""

    version: int
    revision: str | None = Field(default=None, min_length=1, max_length=20)
    effective_from: date | None = None
    effective_to: date | None = None
    base_quantity: Decimal | None = None
    note: str | None = None
    lines: list[BomLineIn] | None = None
    signature: SignatureIn | None = None  # required when the revision is released


class VersionIn(BaseModel):
    """The version the client loaded, for commands on a record (release, mark obsolete)."""

    version: int | None = None


class SignedVersionIn(VersionIn):
    """Marking a released revision obsolete is signed electronically."""

    signature: SignatureIn | None = None


class BomLineRead(_Read):
    id: int
    position: int
    component: MaterialBrief
    quantity: Decimal
    unit: UnitBrief
    scrap_factor: Decimal
    operation_seq: int | None
    backflush: bool


class BomBrief(_Read):
    id: int
    revision: str
    status: DocumentStatus
    effective_from: date
    effective_to: date | None


class BomRead(BomBrief):
    material: MaterialBrief
    base_quantity: Decimal
    note: str | None
    version: int
    updated_at: datetime
    updated_by: str
    lines: list[BomLineRead]


class BomPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[BomRead]


class ExplodedLineRead(_Read):
    level: int
    path: list[str]
    position: int
    material: MaterialBrief
    quantity_per: Decimal
    line_unit: UnitBrief
    scrap_factor: Decimal
    total_quantity: Decimal
    unit: UnitBrief
    sourcing: Sourcing
    has_bom: bool
    bom_id: int
    bom_revision: str


class BomTreeRead(BaseModel):
    material: MaterialBrief
    quantity: Decimal
    unit: UnitBrief
    on: date
    bom: BomBrief | None
    lines: list[ExplodedLineRead]


class WhereUsedLineRead(_Read):
    level: int
    path: list[str]
    material: MaterialBrief
    bom: BomBrief
    position: int
    quantity_per: Decimal
    unit: UnitBrief
    top_level: bool


# -- routings ----------------------------------------------------------------------------------------------


class OperationIn(BaseModel):
    """A step at a work center or machine (`work_center_id`), or on any machine of `equipment_class_id`."""

    seq: int
    name: str = Field(min_length=1, max_length=200)
    work_center_id: int | None = None
    equipment_class_id: int | None = None
    setup_minutes: Decimal = Decimal(0)
    run_minutes: Decimal = Decimal(0)
    required_skill: str | None = Field(default=None, max_length=40)
    required_skill_level: int | None = None
    description: str | None = None


class RoutingCreate(BaseModel):
    material_id: int
    revision: str = Field(min_length=1, max_length=20)
    status: DocumentStatus = DocumentStatus.DRAFT
    effective_from: date | None = None
    effective_to: date | None = None
    note: str | None = None
    operations: list[OperationIn] = []


class RoutingUpdate(BaseModel):
    """Replaces what is given: header fields left out stay; `operations`, when given, replace all steps."""

    version: int
    revision: str | None = Field(default=None, min_length=1, max_length=20)
    effective_from: date | None = None
    effective_to: date | None = None
    note: str | None = None
    operations: list[OperationIn] | None = None
    signature: SignatureIn | None = None  # required when the revision is released


class OperationRead(_Read):
    id: int
    seq: int
    name: str
    work_center_id: int | None
    equipment_class_id: int | None
    setup_minutes: Decimal
    run_minutes: Decimal
    required_skill: str | None
    required_skill_level: int | None
    description: str | None


class RoutingRead(_Read):
    id: int
    material: MaterialBrief
    revision: str
    status: DocumentStatus
    effective_from: date
    effective_to: date | None
    note: str | None
    version: int
    updated_at: datetime
    updated_by: str
    operations: list[OperationRead]


class RoutingPage(BaseModel):
    total: int
    page: int
    per_page: int
    items: list[RoutingRead]


# -- external codes ----------------------------------------------------------------------------------------


class ExternalIdCreate(BaseModel):
    system: str = Field(min_length=1, max_length=40)
    kind: str = Field(min_length=1, max_length=40)
    external_code: str = Field(min_length=1, max_length=100)
    internal_id: int
    note: str | None = Field(default=None, max_length=200)


class ExternalIdRead(_Read):
    id: int
    system: str
    kind: str
    external_code: str
    internal_id: int
    note: str | None
