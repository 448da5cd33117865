"""A Modbus tag's address as data: parse it, plan block reads over many, and turn raw registers into values.

Address syntax (one string per tag, case-insensitive, parts separated by ``/``)::

    UNIT/TABLE/OFFSET[/TYPE[/ORDER]]

- ``UNIT``: the unit (device / slave) id, 0-255.
- ``TABLE``: ``coil`` (coils, read/write bits), ``di`` (discrete inputs, read-only bits), ``hr`` (holding
  registers), ``ir`` (input registers).
- ``OFFSET``: the 0-based protocol address, 0-65535 (holding register "40001" is ``hr/0``).
- ``TYPE``: ``bool`` for coil/di (the default there); for registers ``int16``, ``uint16`` (the default),
  ``int32``, ``uint32``, ``float32``, ``int64``, ``uint64``, ``float64``.
- ``ORDER``: how the value's bytes are laid out on the wire, the value's most significant byte being ``A``.
  Default big-endian (``AB``, ``ABCD``, ``ABCDEFGH``). 16-bit: ``AB`` or ``BA``. 32-bit: ``ABCD`` (big
  endian), ``CDAB`` (words swapped), ``BADC`` (bytes swapped in each word), ``DCBA`` (little endian).
  64-bit: ``ABCDEFGH``, ``GHEFCDAB``, ``BADCFEHG``, ``HGFEDCBA``.

Examples: ``1/coil/5``, ``3/di/0``, ``1/hr/100/float32/CDAB``, ``2/ir/7/int16``.

Floats are reported rounded to their own precision (7 significant digits for float32, so 21.3 reads 21.3,
not 21.299999237); a NaN or infinity decodes to None, which the coordinator hands on with BAD quality.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum


class AddressError(ValueError):
    """A tag address that cannot be read, with what is wrong and the expected form."""


class Table(str, Enum):
    """The four Modbus data tables."""

    COIL = "coil"
    DI = "di"
    HR = "hr"
    IR = "ir"

    @property
    def is_bits(self) -> bool:
        return self in (Table.COIL, Table.DI)


class DataType(str, Enum):
    BOOL = "bool"
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    FLOAT32 = "float32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT64 = "float64"

    @property
    def width(self) -> int:
        """Registers (or bits, for bool) one value takes."""
        return _WIDTH[self]

    @property
    def struct_code(self) -> str:
        return _STRUCT[self]


_WIDTH = {DataType.BOOL: 1, DataType.INT16: 1, DataType.UINT16: 1, DataType.INT32: 2, DataType.UINT32: 2,
          DataType.FLOAT32: 2, DataType.INT64: 4, DataType.UINT64: 4, DataType.FLOAT64: 4}
_STRUCT = {DataType.BOOL: "?", DataType.INT16: "h", DataType.UINT16: "H", DataType.INT32: "i",
           DataType.UINT32: "I", DataType.FLOAT32: "f", DataType.INT64: "q", DataType.UINT64: "Q",
           DataType.FLOAT64: "d"}
_LETTERS = "ABCDEFGH"


def _orders(registers: int) -> tuple[str, ...]:
    """The four layouts a device uses for a value of `registers` words: big or little word order, each with
    bytes kept or swapped inside the word. The first is big-endian, the default."""
    words = [_LETTERS[2 * i:2 * i + 2] for i in range(registers)]
    found: list[str] = []
    for swap in (False, True):
        for word_seq in (words, words[::-1]):
            order = "".join(w[::-1] if swap else w for w in word_seq)
            if order not in found:
                found.append(order)
    return tuple(found)


ORDERS: dict[int, tuple[str, ...]] = {n: _orders(n) for n in (1, 2, 4)}
Value = bool | int | float | None
FORMAT = "UNIT/TABLE/OFFSET[/TYPE[/ORDER]], e.g. 1/hr/100/float32/CDAB or 1/coil/5"


@dataclass(frozen=True)
class ModbusAddress:
    """Where one value lives on a Modbus device and how its registers become the value."""

    unit: int
    table: Table
    offset: int
    datatype: DataType
    order: str

    @property
    def width(self) -> int:
        return self.datatype.width

    @property
    def end(self) -> int:
        """One past the last register (or bit) the value takes."""
        return self.offset + self.width

    def __str__(self) -> str:
        text = f"{self.unit}/{self.table.value}/{self.offset}"
        if self.table.is_bits:
            return text
        return f"{text}/{self.datatype.value}/{self.order}"


def parse_address(text: str) -> ModbusAddress:
    """Read a tag's address; raise `AddressError` saying what is wrong."""
    parts = [p.strip() for p in str(text).strip().split("/")]
    if not 3 <= len(parts) <= 5 or any(not p for p in parts):
        raise AddressError(f"Modbus address {text!r}: expected {FORMAT}")
    unit = _number(text, "unit id", parts[0], 255)
    try:
        table = Table(parts[1].lower())
    except ValueError:
        raise AddressError(f"Modbus address {text!r}: table {parts[1]!r} is not one of coil, di, hr, ir"
                           ) from None
    offset = _number(text, "offset", parts[2], 65535)
    if table.is_bits:
        if len(parts) > 4 or (len(parts) == 4 and parts[3].lower() != "bool"):
            raise AddressError(f"Modbus address {text!r}: {table.value} holds single bits; write {unit}/"
                               f"{table.value}/{offset} (type bool, no byte order)")
        return ModbusAddress(unit, table, offset, DataType.BOOL, "")
    try:
        datatype = DataType(parts[3].lower()) if len(parts) > 3 else DataType.UINT16
    except ValueError:
        names = ", ".join(t.value for t in DataType if t is not DataType.BOOL)
        raise AddressError(f"Modbus address {text!r}: type {parts[3]!r} is not one of {names}") from None
    if datatype is DataType.BOOL:
        raise AddressError(f"Modbus address {text!r}: bool is for coil and di; read a register as uint16")
    allowed = ORDERS[datatype.width]
    order = parts[4].upper() if len(parts) > 4 else allowed[0]
    if order not in allowed:
        raise AddressError(f"Modbus address {text!r}: order {parts[4]!r} for {datatype.value} must be one of "
                           f"{', '.join(allowed)}")
    if offset + datatype.width > 65536:
        raise AddressError(f"Modbus address {text!r}: {datatype.value} at {offset} runs past register 65535")
    return ModbusAddress(unit, table, offset, datatype, order)


def _number(text: str, what: str, part: str, highest: int) -> int:
    if not part.isdigit() or int(part) > highest:
        raise AddressError(f"Modbus address {text!r}: {what} {part!r} must be a whole number 0-{highest}")
    return int(part)


# -- values <-> registers -------------------------------------------------------------------------------


def decode(address: ModbusAddress, raw: Sequence[int] | Sequence[bool]) -> Value:
    """The value of `address` from its own registers (or its one bit), as the device laid them out."""
    if address.table.is_bits:
        return bool(raw[0])
    if len(raw) != address.width:
        raise ValueError(f"{address}: expected {address.width} registers, got {len(raw)}")
    wire = b"".join(int(r & 0xFFFF).to_bytes(2, "big") for r in raw)
    value_bytes = bytearray(len(wire))
    for position, letter in enumerate(address.order):
        value_bytes[_LETTERS.index(letter)] = wire[position]
    (value,) = struct.unpack(">" + address.datatype.struct_code, bytes(value_bytes))
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        if address.datatype is DataType.FLOAT32:
            value = float(f"{value:.7g}")
    return value


def encode(address: ModbusAddress, value: bool | int | float) -> list[int] | list[bool]:
    """The registers (or the one bit) a device holding `value` at `address` serves (simulators, tests)."""
    if address.table.is_bits:
        return [bool(value)]
    code = address.datatype.struct_code
    packed = struct.pack(">" + code, float(value) if code in "fd" else int(value))
    wire = bytes(packed[_LETTERS.index(letter)] for letter in address.order)
    return [int.from_bytes(wire[i:i + 2], "big") for i in range(0, len(wire), 2)]


# -- block planning ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One read request: `count` registers (or bits) of one table of one unit from `start`, and the values
    it carries."""

    unit: int
    table: Table
    start: int
    count: int
    addresses: tuple[ModbusAddress, ...]

    def __str__(self) -> str:
        return f"unit {self.unit} {self.table.value} {self.start}..{self.start + self.count - 1}"

    def values(self, raw: Sequence[int] | Sequence[bool]) -> list[tuple[ModbusAddress, Value]]:
        """Each address of the block with its value decoded from the block's raw registers or bits."""
        if len(raw) < self.count:
            raise ValueError(f"{self}: expected {self.count} values, got {len(raw)}")
        return [(a, decode(a, raw[a.offset - self.start:a.end - self.start])) for a in self.addresses]


def plan_blocks(addresses: Iterable[ModbusAddress], max_block_registers: int = 100, max_gap: int = 0,
                max_block_bits: int = 2000) -> list[Block]:
    """Group addresses into as few reads as the limits allow: per unit and table, in offset order, a value
    joins the current block when the hole before it is at most `max_gap` and the block stays within the
    size limit (registers, or bits for coil/di). A value wider than the limit still gets a block of its own:
    a value is never split over two reads. Duplicates are read once."""
    groups: dict[tuple[int, Table], list[ModbusAddress]] = {}
    for address in set(addresses):
        groups.setdefault((address.unit, address.table), []).append(address)
    blocks: list[Block] = []
    table_rank = {table: rank for rank, table in enumerate(Table)}
    for (unit, table), members in sorted(groups.items(), key=lambda kv: (kv[0][0], table_rank[kv[0][1]])):
        limit = max_block_bits if table.is_bits else max_block_registers
        members.sort(key=lambda a: (a.offset, a.width, a.datatype.value, a.order))
        current: list[ModbusAddress] = []
        start = end = 0
        for address in members:
            if current and address.offset - end <= max_gap and max(end, address.end) - start <= limit:
                current.append(address)
                end = max(end, address.end)
                continue
            if current:
                blocks.append(Block(unit, table, start, end - start, tuple(current)))
            current, start, end = [address], address.offset, address.end
        if current:
            blocks.append(Block(unit, table, start, end - start, tuple(current)))
    return blocks


def split_block(block: Block) -> list[Block]:
    """The block read value by value: used when a joined read is refused, so only the values that really
    cannot be read are put aside."""
    return plan_blocks(block.addresses, max_block_registers=1, max_gap=-1, max_block_bits=1)
