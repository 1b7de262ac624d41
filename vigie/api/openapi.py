"""The OpenAPI document, built from the routes themselves so it cannot forget one."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask
from pydantic import BaseModel

from vigie.api.schemas import ErrorOut

DOC_ATTR = "_vigie_api_doc"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ApiDoc:
    summary: str
    body: type[BaseModel] | None
    response: type[BaseModel] | None
    status: int
    many: bool
    query: tuple[str, ...]


def documented(
    summary: str,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    many: bool = False,
    query: tuple[str, ...] = (),
) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        setattr(view, DOC_ATTR, ApiDoc(summary, body, response, status, many, query))
        return view

    return decorate


def _schema_ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_document(app: Flask) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, dict[str, Any]] = {}
    error_ref = _schema_ref(ErrorOut, components)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/v1/"):
            continue
        doc: ApiDoc | None = getattr(app.view_functions[rule.endpoint], DOC_ATTR, None)
        if doc is None:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op: dict[str, Any] = {
                "summary": doc.summary,
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "responses": {
                    "4XX": {
                        "description": "Error",
                        "content": {"application/json": {"schema": error_ref}},
                    }
                },
            }
            params = [
                {"name": a, "in": "path", "required": True, "schema": {"type": "integer"}}
                for a in sorted(rule.arguments)
            ] + [
                {"name": q, "in": "query", "required": False, "schema": {"type": "string"}} for q in doc.query
            ]
            if params:
                op["parameters"] = params
            if doc.body is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _schema_ref(doc.body, components)}},
                }
            ok: dict[str, Any] = {"description": "Success"}
            if doc.response is not None:
                ref = _schema_ref(doc.response, components)
                schema = {"type": "array", "items": ref} if doc.many else ref
                ok["content"] = {"application/json": {"schema": schema}}
            op["responses"][str(doc.status)] = ok
            if rule.rule != "/api/v1/openapi.json":
                op["security"] = [{"bearer": []}]
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Vigie API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
