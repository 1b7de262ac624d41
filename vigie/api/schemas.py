"""Request and response shapes of the API (they also feed the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganisationIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["controller", "partner", "other"]
    siren: str | None = Field(default=None, max_length=11)
    address: str | None = Field(default=None, max_length=1000)
    computerised_libraries: bool = True
    parent_id: int | None = None


class OrganisationOut(BaseModel):
    id: int
    name: str
    kind: str
    siren: str | None
    address: str | None
    computerised_libraries: bool
    parent_id: int | None
    active: bool


class MeOut(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]
    organisation: OrganisationOut


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: dict[str, str]


class ErrorOut(BaseModel):
    error: ErrorDetail
