"""The one page parser of the JSON API's lists (vigie.api.params): page and per_page, their defaults,
their bounds, the 422 naming each bad one, and the envelope every list answers in."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from vigie.api.params import (
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    Page,
    parse_page,
    refuse_invalid,
)
from vigie.errors import ValidationFailed

# Every paged list of the API: each answers {"items", "page", "per_page", "total"}.
LISTS = (
    "/api/v1/deadlines",
    "/api/v1/breaches",
    "/api/v1/access-requests",
    "/api/v1/inquiries",
    "/api/v1/conventions",
    "/api/v1/meetings",
    "/api/v1/decisions",
    "/api/v1/action-items",
)


def parsed(values: dict[str, str]) -> tuple[Page, dict[str, str]]:
    fields: dict[str, str] = {}
    return parse_page(values, fields), fields


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, Page(1, DEFAULT_PER_PAGE)),
        ({"page": "", "per_page": "  "}, Page(1, DEFAULT_PER_PAGE)),  # blank: the default
        ({"page": " 3 ", "per_page": "7"}, Page(3, 7)),
        ({"per_page": "1"}, Page(1, 1)),
        ({"per_page": str(MAX_PER_PAGE)}, Page(1, MAX_PER_PAGE)),
        ({"page": "9" * 12}, Page(int("9" * 12), DEFAULT_PER_PAGE)),
    ],
)
def test_good_values(values: dict[str, str], expected: Page) -> None:
    assert parsed(values) == (expected, {})


@pytest.mark.usefixtures("app")
@pytest.mark.parametrize(
    ("values", "bad"),
    [
        ({"page": "0"}, {"page"}),
        ({"page": "-1"}, {"page"}),
        ({"page": "x"}, {"page"}),
        ({"page": "1.5"}, {"page"}),
        ({"page": "٣"}, {"page"}),  # a digit, but not an ASCII one
        ({"page": "1" * 13}, {"page"}),
        ({"per_page": "0"}, {"per_page"}),
        ({"per_page": str(MAX_PER_PAGE + 1)}, {"per_page"}),
        ({"per_page": "9" * 5000}, {"per_page"}),  # longer than int() reads: refused, not a crash
        ({"page": "0", "per_page": "500"}, {"page", "per_page"}),
    ],
)
def test_bad_values_are_named_and_keep_the_defaults(values: dict[str, str], bad: set[str]) -> None:
    page, fields = parsed(values)
    assert set(fields) == bad and all(fields.values())
    assert page == Page(1, DEFAULT_PER_PAGE)


@pytest.mark.usefixtures("app")
def test_without_fields_a_bad_value_is_refused_at_once() -> None:
    assert parse_page({"page": "2"}) == Page(2, DEFAULT_PER_PAGE)
    with pytest.raises(ValidationFailed) as refused:
        parse_page({"page": "2", "per_page": "0"})
    assert set(refused.value.fields) == {"per_page"}
    assert refused.value.message == refused.value.fields["per_page"]


def test_offset_and_envelope() -> None:
    page = Page(page=3, per_page=20)
    assert page.offset == 40 and Page().offset == 0
    assert page.envelope([{"id": 1}], 41) == {"items": [{"id": 1}], "page": 3, "per_page": 20, "total": 41}


@pytest.mark.usefixtures("app")
def test_refuse_invalid_names_every_field() -> None:
    refuse_invalid({})  # nothing to refuse
    with pytest.raises(ValidationFailed) as one:
        refuse_invalid({"page": "Bad page."})
    assert (one.value.message, one.value.fields) == ("Bad page.", {"page": "Bad page."})
    with pytest.raises(ValidationFailed) as two:
        refuse_invalid({"page": "Bad page.", "per_page": "Bad size."})
    assert two.value.message not in ("Bad page.", "Bad size.")
    assert two.value.fields == {"page": "Bad page.", "per_page": "Bad size."}


@pytest.fixture
def auditor(app: Flask, factory: Any) -> Any:
    """The auditor reads every list of the API."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {factory.token(factory.user('auditor'))}"
    return client


@pytest.mark.parametrize("url", LISTS)
def test_every_list_pages_alike(auditor: Any, url: str) -> None:
    assert auditor.get(url).json == {"items": [], "page": 1, "per_page": DEFAULT_PER_PAGE, "total": 0}
    assert auditor.get(f"{url}?page=2&per_page=3").json == {"items": [], "page": 2, "per_page": 3, "total": 0}


@pytest.mark.parametrize("url", LISTS)
def test_every_list_refuses_a_bad_page_alike(app: Flask, auditor: Any, url: str) -> None:
    with app.test_request_context():  # the same locale as the API's answer (French by default)
        _page, expected = parsed({"page": "0", "per_page": "9" * 5000})
    response = auditor.get(f"{url}?page=0&per_page={'9' * 5000}")
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.json["error"]
    assert error["code"] == "validation_failed"
    assert error["fields"] == expected
    with app.test_request_context():
        _page, alone = parsed({"per_page": str(MAX_PER_PAGE + 1)})
    one = auditor.get(f"{url}?per_page={MAX_PER_PAGE + 1}").json["error"]
    assert one["fields"] == alone and one["message"] == alone["per_page"]
