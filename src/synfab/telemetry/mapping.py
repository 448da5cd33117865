"""Tag mapping as data: a source's (connector, address) becomes a tag's stored value, or is kept aside.

`TagMap.convert` turns one batch of raw readings into sample rows: the tag's scale and offset applied, the
deadband and sampling interval honoured, and everything that cannot be stored sorted out with its reason —
a value of the wrong type or a timestamp far in the future is quarantined, an address no tag maps is listed
for mapping. Nothing is dropped without being counted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from synfab.telemetry.choices import DataType
from synfab.telemetry.models import Tag

FUTURE_LIMIT_MS = 24 * 3600 * 1000  # a clock more than a day ahead is wrong, not early
EPOCH_2000_MS = 946_684_800_000
_INFINITE = (math.inf, -math.inf)
BAD = 2


@dataclass(slots=True)
class TagInfo:
    id: int
    equipment_id: int
    signal: str
    is_bool: bool
    scale: float
    offset: float
    deadband: float
    sampling_ms: int
    scaled: bool = False  # scale or offset other than 1 and 0
    filtered: bool = False  # a deadband or a sampling interval


@dataclass
class Converted:
    """One batch sorted out: rows to store, input to quarantine, unmapped addresses, readings filtered out."""

    rows: list[tuple[int, int, float | None, int]] = field(default_factory=list)
    quarantined: list[tuple[str, str, str]] = field(default_factory=list)  # reason, detail, payload
    unmapped: dict[str, list[Any]] = field(default_factory=dict)  # address → [count, last value, last ts]
    filtered: int = 0


class TagMap:
    """The enabled tags by (connector, address), reloaded when tags change."""

    def __init__(self) -> None:
        self.by_address: dict[int, dict[str, TagInfo]] = {}
        self.by_id: dict[int, TagInfo] = {}
        self._stamp: tuple[Any, ...] | None = None
        self._last: dict[int, tuple[int, float | None]] = {}  # tag → last stored (ts, value), for deadband

    def refresh(self, session: Session) -> bool:
        """Reload when a tag was added, changed or removed; True when it did."""
        stamp = tuple(session.execute(select(func.count(Tag.id), func.max(Tag.updated_at), func.sum(Tag.version)))
                      .one())
        if stamp == self._stamp:
            return False
        by_address: dict[int, dict[str, TagInfo]] = {}
        by_id: dict[int, TagInfo] = {}
        for tag in session.scalars(select(Tag).where(Tag.enabled.is_(True))):
            scale, offset = (1.0 if tag.scale is None else tag.scale), tag.offset or 0.0
            info = TagInfo(tag.id, tag.equipment_id, tag.signal, tag.datatype is DataType.BOOL, scale, offset,
                           tag.deadband or 0.0, tag.sampling_ms or 0, scaled=(scale, offset) != (1.0, 0.0),
                           filtered=bool(tag.deadband or tag.sampling_ms))
            by_address.setdefault(tag.connector_id, {})[tag.address] = info
            by_id[tag.id] = info
        self.by_address, self.by_id, self._stamp = by_address, by_id, stamp
        return True

    def convert(self, connector_id: int, readings: Iterable[tuple[str, Any, Any, int]], out: Converted,
                now_ms: int | None = None) -> None:
        """Sort one connector's readings (address, ts_ms, value, quality) into `out`."""
        tags = self.by_address.get(connector_id, {})
        latest = (now_ms or time.time_ns() // 1_000_000) + FUTURE_LIMIT_MS
        rows, last, unmapped, quarantined = out.rows, self._last, out.unmapped, out.quarantined
        append = rows.append
        for address, ts, value, quality in readings:
            tag = tags.get(address)
            if tag is None:
                seen = unmapped.get(address)
                if seen is None:
                    unmapped[address] = [1, value, ts]
                else:
                    seen[0] += 1
                    seen[1], seen[2] = value, ts
                continue
            if ts.__class__ is not int:
                if isinstance(ts, float) and ts.is_integer():
                    ts = int(ts)
                else:
                    quarantined.append(("bad_timestamp", f"{address}: timestamp {ts!r} is not milliseconds",
                                        repr((address, ts, value))[:500]))
                    continue
            if ts > latest or ts < EPOCH_2000_MS:
                reason = "future_timestamp" if ts > latest else "bad_timestamp"
                quarantined.append((reason, f"{address}: timestamp {ts} ms", repr((address, ts, value))[:500]))
                continue
            kind = value.__class__
            if kind is float:
                number: float | None = value if value == value and value not in _INFINITE else None
            elif kind is int:
                number = float(value)
            elif kind is bool:
                number = 1.0 if value else 0.0
            elif value is None:
                number = None
            else:
                quarantined.append(("wrong_type", f"{address}: {kind.__name__} value {str(value)[:80]!r}",
                                    repr((address, ts, value))[:500]))
                continue
            if number is None:
                quality = BAD
            elif tag.is_bool:
                number = 1.0 if number else 0.0
            elif tag.scaled:
                number = number * tag.scale + tag.offset
            if tag.filtered:
                previous = last.get(tag.id)
                if previous is not None and ts > previous[0]:
                    if tag.sampling_ms and ts - previous[0] < tag.sampling_ms:
                        out.filtered += 1
                        continue
                    if (tag.deadband and number is not None and previous[1] is not None
                            and abs(number - previous[1]) <= tag.deadband):
                        out.filtered += 1
                        continue
                if previous is None or ts > previous[0]:
                    last[tag.id] = (ts, number)
            append((tag.id, ts, number, quality))
