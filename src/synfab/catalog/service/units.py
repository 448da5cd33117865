"""Units of measure and conversions between them (1 box = 24 pcs of M001; 1 kg = 1000 g for everything)."""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from synfab.catalog.models import Material, Unit, UnitConversion
from synfab.catalog.schemas import ConversionCreate, UnitCreate, UnitUpdate
from synfab.core.db import check_version
from synfab.core.errors import Conflict, Invalid, NotFound
from synfab.core.i18n import _l
from synfab.core.uow import UnitOfWork


def get_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("unit_not_found", _l("Unit of measure {id} does not exist.", id=unit_id))
    return unit


def list_units(session: Session) -> list[Unit]:
    return list(session.scalars(select(Unit).order_by(Unit.dimension, Unit.code)))


def create_unit(uow: UnitOfWork, data: UnitCreate) -> Unit:
    if uow.session.scalar(select(Unit.id).where(Unit.code == data.code)) is not None:
        raise Conflict("unit_code_taken", _l("The unit of measure {code} already exists.", code=data.code))
    unit = Unit(**data.model_dump())
    uow.session.add(unit)
    uow.flush()
    return unit


def update_unit(uow: UnitOfWork, unit_id: int, data: UnitUpdate) -> Unit:
    unit = get_unit(uow.session, unit_id)
    check_version(unit, data.version)
    for key, value in data.model_dump(exclude_unset=True, exclude={"version"}).items():
        if key in ("name", "dimension") and value is None:
            continue
        setattr(unit, key, value)
    uow.flush()
    return unit


# -- conversions -------------------------------------------------------------------------------------------


def list_conversions(session: Session, material_id: int | None = None) -> list[UnitConversion]:
    """All conversions, or those that apply to one material (its own and the general ones)."""
    stmt = select(UnitConversion)
    if material_id is not None:
        stmt = stmt.where(or_(UnitConversion.material_id.is_(None),
                              UnitConversion.material_id == material_id))
    rows = list(session.scalars(stmt))
    return sorted(rows, key=lambda c: (c.material.code if c.material else "", c.from_unit.code,
                                       c.to_unit.code))


def add_conversion(uow: UnitOfWork, data: ConversionCreate) -> UnitConversion:
    """Add `1 from = factor × to`. Across dimensions (pcs ↔ kg) only for one material, where it means
    something."""
    s = uow.session
    src, dst = get_unit(s, data.from_unit_id), get_unit(s, data.to_unit_id)
    material = None
    if data.material_id is not None:
        material = s.get(Material, data.material_id)
        if material is None:
            raise NotFound("material_not_found", _l("Material {id} does not exist.", id=data.material_id))
    if src.id == dst.id:
        raise Invalid("conversion_same_unit", _l("A unit converts to itself without a conversion."))
    if data.factor <= 0:
        raise Invalid("conversion_factor", _l(
            "The factor must be greater than zero (1 {src} = factor × {dst}).", src=src.code, dst=dst.code))
    if material is None and src.dimension != dst.dimension:
        raise Invalid("conversion_needs_material", _l(
            "{src} is a {a} and {dst} a {b}: such a conversion holds only for one material; name it.",
            src=src.code, dst=dst.code, a=src.dimension.label, b=dst.dimension.label))
    existing = s.scalar(select(UnitConversion).where(
        or_((UnitConversion.from_unit_id == src.id) & (UnitConversion.to_unit_id == dst.id),
            (UnitConversion.from_unit_id == dst.id) & (UnitConversion.to_unit_id == src.id)),
        (UnitConversion.material_id.is_(None) if material is None
         else UnitConversion.material_id == material.id),
    ))
    if existing is not None:
        raise Conflict("conversion_exists", _l(
            "A conversion between {src} and {dst} already exists (1 {a} = {factor} {b}); remove it to change "
            "it.",
            src=src.code, dst=dst.code, a=existing.from_unit.code, b=existing.to_unit.code,
            factor=_plain(existing.factor)))
    conversion = UnitConversion(from_unit_id=src.id, to_unit_id=dst.id, factor=data.factor,
                                material_id=material.id if material else None)
    s.add(conversion)
    uow.flush()
    return conversion


def remove_conversion(uow: UnitOfWork, conversion_id: int) -> None:
    conversion = uow.session.get(UnitConversion, conversion_id)
    if conversion is None:
        raise NotFound("conversion_not_found", _l("Unit conversion {id} does not exist.", id=conversion_id))
    uow.session.delete(conversion)
    uow.flush()


def _plain(value: Decimal) -> str:
    """A factor as people write it: 1000, 0.5 (not 1000.0000000000)."""
    return format(value.normalize(), "f")


class UnitConverter:
    """Converts quantities between units using every conversion known when it was made.

    Paths are found breadth-first over conversions and their inverses, a material's own conversions taking
    precedence over the general ones for the same pair. Factors are multiplied as fractions, so 1/3 × 3 = 1.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._general: dict[int, list[tuple[int, Fraction]]] = {}
        self._specific: dict[int, dict[int, list[tuple[int, Fraction]]]] = {}
        self._cache: dict[tuple[int, int, int | None], Fraction | None] = {}
        for c in session.execute(select(UnitConversion.from_unit_id, UnitConversion.to_unit_id,
                                        UnitConversion.factor, UnitConversion.material_id)):
            graph = self._general if c.material_id is None else self._specific.setdefault(c.material_id, {})
            factor = Fraction(c.factor)
            graph.setdefault(c.from_unit_id, []).append((c.to_unit_id, factor))
            graph.setdefault(c.to_unit_id, []).append((c.from_unit_id, 1 / factor))

    def _neighbours(self, unit_id: int, material_id: int | None) -> list[tuple[int, Fraction]]:
        own = self._specific.get(material_id, {}).get(unit_id, []) if material_id is not None else []
        overridden = {to for to, _ in own}
        return own + [(to, f) for to, f in self._general.get(unit_id, []) if to not in overridden]

    def factor(self, from_unit_id: int, to_unit_id: int, material_id: int | None = None) -> Fraction | None:
        """1 `from` = factor × `to`, or None when no chain of conversions links them."""
        if from_unit_id == to_unit_id:
            return Fraction(1)
        key = (from_unit_id, to_unit_id, material_id)
        if key not in self._cache:
            self._cache[key] = self._search(from_unit_id, to_unit_id, material_id)
        return self._cache[key]

    def _search(self, start: int, goal: int, material_id: int | None) -> Fraction | None:
        seen = {start: Fraction(1)}
        queue = deque([start])
        while queue:
            unit = queue.popleft()
            for nxt, f in self._neighbours(unit, material_id):
                if nxt in seen:
                    continue
                seen[nxt] = seen[unit] * f
                if nxt == goal:
                    return seen[nxt]
                queue.append(nxt)
        return None

    def can_convert(self, from_unit_id: int, to_unit_id: int, material_id: int | None = None) -> bool:
        return self.factor(from_unit_id, to_unit_id, material_id) is not None

    def convert(self, quantity: Decimal, from_unit_id: int, to_unit_id: int,
                material_id: int | None = None) -> Decimal:
        """`quantity` of `from_unit` expressed in `to_unit`; raises `no_unit_conversion` without a path."""
        if from_unit_id == to_unit_id:
            return Decimal(quantity)
        factor = self.factor(from_unit_id, to_unit_id, material_id)
        if factor is None:
            raise no_conversion_error(self.session, from_unit_id, to_unit_id, material_id)
        exact = Fraction(Decimal(quantity)) * factor
        return Decimal(exact.numerator) / Decimal(exact.denominator)


def no_conversion_error(session: Session, from_unit_id: int, to_unit_id: int,
                        material_id: int | None) -> Invalid:
    src, dst = get_unit(session, from_unit_id), get_unit(session, to_unit_id)
    material = session.get(Material, material_id) if material_id is not None else None
    if material is None:
        return Invalid("no_unit_conversion", _l(
            "There is no conversion from {src} to {dst}; add one on the units page.", src=src.code,
            dst=dst.code))
    return Invalid("no_unit_conversion", _l(
        "There is no conversion from {src} to {dst} for {material}; add one on the units page.",
        src=src.code, dst=dst.code, material=material.code))


def convert(session: Session, quantity: Decimal, from_unit_id: int, to_unit_id: int,
            material_id: int | None = None) -> Decimal:
    """`quantity` in `from_unit` expressed in `to_unit`, through a material's own conversions first.

    Conversions work both ways and chain (box → pcs → dozen); the same unit returns the quantity as it is;
    no path raises `Invalid("no_unit_conversion")` naming both units and the material.
    """
    return UnitConverter(session).convert(quantity, from_unit_id, to_unit_id, material_id)
