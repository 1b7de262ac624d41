"""A page of a list already in memory, for the pager macro (templates/_pager.html), which reads the same
attributes as a Flask-SQLAlchemy pagination."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ListPage(Generic[T]):
    everything: Sequence[T]
    page: int
    per_page: int

    @property
    def total(self) -> int:
        return len(self.everything)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def items(self) -> Sequence[T]:
        start = (self.page - 1) * self.per_page
        return self.everything[start : start + self.per_page]

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return min(self.page, self.pages + 1) - 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int:
        return self.page + 1
