"""The API's error format: {"error": {"code", "message", "fields"}}."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import jsonify, request
from flask_babel import gettext as _
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response

from vigie.errors import DomainError, ValidationFailed

T = TypeVar("T", bound=BaseModel)


class MalformedBody(DomainError):
    code = "malformed_body"
    status = 400


def error_response(
    status: int, code: str, message: str, fields: dict[str, str] | None = None
) -> tuple[Response, int]:
    body: dict[str, Any] = {"error": {"code": code, "message": message, "fields": fields or {}}}
    return jsonify(body), status


def json_body() -> Any:
    try:
        return request.get_json(force=True, silent=False)
    except BadRequest as exc:
        raise MalformedBody(_("The request body is not valid JSON.")) from exc


def parse_body(schema: type[T]) -> T:
    """Validate the JSON body; every problem is reported against its field."""
    data = json_body()
    if not isinstance(data, dict):
        raise MalformedBody(_("The request body must be a JSON object."))
    try:
        return schema.model_validate(data)
    except PydanticValidationError as exc:
        fields = {".".join(str(p) for p in err["loc"]) or "body": err["msg"] for err in exc.errors()}
        raise ValidationFailed(_("Some fields are missing or invalid."), fields) from exc
