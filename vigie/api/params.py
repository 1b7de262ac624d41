"""Query-string values shared by the list endpoints and exports: whole numbers, the page of a JSON list
(`page`, `per_page`) and the envelope it is answered in, and the one 422 for bad parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from vigie.errors import ValidationFailed

PAGE_PARAMS = ("page", "per_page")
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200


def positive_int(value: str, maximum: int | None = None) -> int | None:
    """A whole number from 1 (to `maximum`), or None: no sign, no spaces, no 30-digit numbers."""
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    number = int(value)
    if number < 1 or (maximum is not None and number > maximum):
        return None
    return number


@dataclass(frozen=True)
class Page:
    """One page of a list: `page` counts from 1, `per_page` records each."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def envelope(self, items: list[Any], total: int) -> dict[str, Any]:
        """A list endpoint's answer: the shape of its `*PageOut` model."""
        return {"items": items, "page": self.page, "per_page": self.per_page, "total": total}


def parse_page(values: Mapping[str, str], fields: dict[str, str] | None = None) -> Page:
    """`page` and `per_page` (1 to MAX_PER_PAGE) from query values; absent or blank, the default. A bad
    value is recorded in `fields` under its name, for the caller to refuse with its other problems;
    without `fields`, it is refused at once (422)."""
    problems: dict[str, str] = {} if fields is None else fields
    raw_page = (values.get("page") or "").strip()
    raw_per_page = (values.get("per_page") or "").strip()
    page = positive_int(raw_page) if raw_page else 1
    per_page = positive_int(raw_per_page, MAX_PER_PAGE) if raw_per_page else DEFAULT_PER_PAGE
    if page is None:
        problems["page"] = _("A page is a positive whole number.")
    if per_page is None:
        problems["per_page"] = _("Between 1 and %(max)d records a page.", max=MAX_PER_PAGE)
    if fields is None:
        refuse_invalid(problems)
    return Page(page=page or 1, per_page=per_page or DEFAULT_PER_PAGE)


def refuse_invalid(fields: dict[str, str]) -> None:
    """Refuse (422) the parameters named in `fields`, if any, all at once: the message is the problem's
    own when there is one, a general one otherwise."""
    if fields:
        message = next(iter(fields.values())) if len(fields) == 1 else _("Some parameters are invalid.")
        raise ValidationFailed(message, fields)
