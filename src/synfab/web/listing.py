"""Lists people page through: filter, sort, paginate — and export the same rows to Excel."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from starlette.requests import Request

PER_PAGE_CHOICES = (25, 50, 100, 200)


@dataclass
class ListQuery:
    """What the person asked for: page, sort column and direction, free text and named filters."""

    page: int = 1
    per_page: int = 50
    sort: str | None = None
    desc: bool = False
    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_request(cls, request: Request, filter_names: Sequence[str] = ()) -> ListQuery:
        p = request.query_params

        def as_int(name: str, default: int) -> int:
            try:
                return int(p.get(name, default))
            except ValueError:
                return default

        per_page = as_int("per_page", 50)
        return cls(
            page=max(1, as_int("page", 1)),
            per_page=per_page if per_page in PER_PAGE_CHOICES else 50,
            sort=p.get("sort") or None,
            desc=p.get("dir") == "desc",
            q=(p.get("q") or "").strip(),
            filters={n: p[n] for n in filter_names if p.get(n)},
        )

    def params(self, **changes: Any) -> dict[str, Any]:
        values: dict[str, Any] = {"q": self.q, "sort": self.sort, "dir": "desc" if self.desc else None,
                                  "per_page": self.per_page if self.per_page != 50 else None, "page": self.page,
                                  **self.filters}
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "") and not (k == "page" and v == 1)}

    def url(self, **changes: Any) -> str:
        """This list's query string with some parameters changed (links for pages, sort headers)."""
        return "?" + urlencode(self.params(**changes))

    def sort_url(self, column: str) -> str:
        desc = self.sort == column and not self.desc
        return self.url(sort=column, dir="desc" if desc else None, page=None)

    def sort_mark(self, column: str) -> str:
        if self.sort != column:
            return ""
        return "▼" if self.desc else "▲"

    def export_url(self, path: str) -> str:
        return path + "?" + urlencode({k: v for k, v in self.params(page=None, per_page=None).items()})


@dataclass
class Page:
    items: list[Any]
    total: int
    query: ListQuery

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.query.per_page))

    @property
    def number(self) -> int:
        return min(self.query.page, self.pages)

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.number - 1) * self.query.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.number * self.query.per_page)


def apply_sort(stmt: Select[Any], lq: ListQuery, sortable: Mapping[str, ColumnElement[Any]],
               default: Sequence[ColumnElement[Any]]) -> Select[Any]:
    column = sortable.get(lq.sort or "")
    if column is None:
        return stmt.order_by(*default)
    return stmt.order_by(column.desc() if lq.desc else column.asc(), *default)


def paginate(session: Session, stmt: Select[Any], lq: ListQuery, sortable: Mapping[str, ColumnElement[Any]],
             default: Sequence[ColumnElement[Any]], scalars: bool = True) -> Page:
    """One page of `stmt` (already filtered) in the requested order, with the total count."""
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / lq.per_page))
    page_no = min(lq.page, pages)
    ordered = apply_sort(stmt, lq, sortable, default).limit(lq.per_page).offset((page_no - 1) * lq.per_page)
    rows = session.scalars(ordered).unique().all() if scalars else session.execute(ordered).all()
    return Page(list(rows), total, lq)
