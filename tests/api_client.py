"""A test client for /api/v1 that checks every response against the published OpenAPI
document: the status must be documented for the operation and the body must match its
schema. So each API test also proves the description true for what it exercised."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from flasky.api.openapi import openapi_document

PREFIX = "/api/v1"
# The Basic credentials of the `john` and `susan` fixtures (tests/conftest.py).
JOHN = ("john@example.com", "cat")
SUSAN = ("susan@example.com", "dog")
DOCUMENT_URI = "urn:flasky:openapi"


@cache
def document() -> dict[str, Any]:
    return openapi_document("http://localhost/api/v1")


@cache
def _registry() -> Registry:
    return Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document(), default_specification=DRAFT202012)
    )


@cache
def _path_patterns() -> list[tuple[re.Pattern[str], str]]:
    patterns = []
    for template in document()["paths"]:
        regex = re.escape(template).replace(re.escape("{id}"), r"\d+")
        patterns.append((re.compile(f"^{regex}$"), template))
    return patterns


def operation_for(method: str, path: str) -> dict[str, Any] | None:
    path = path.split("?", 1)[0]
    if not path.startswith(PREFIX):
        return None
    for pattern, template in _path_patterns():
        if pattern.match(path[len(PREFIX) :]):
            return document()["paths"][template].get(method.lower())
    return None


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        pointer = node["$ref"].removeprefix("#/").split("/")
        node = document()
        for part in pointer:
            node = node[part]
    return node


def validate(instance: Any, schema_name: str) -> None:
    """Raise jsonschema.ValidationError unless instance matches components/schemas/<name>."""
    schema = {"$ref": f"{DOCUMENT_URI}#/components/schemas/{schema_name}"}
    Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    ).validate(instance)


def check_against_document(method: str, path: str, status: int, headers: Any, body: Any) -> None:
    operation = operation_for(method, path)
    if operation is None:  # an unknown URL or method: only the error shape is promised
        if status >= 400:
            validate(body, "Error")
        return
    documented = operation["responses"]
    assert str(status) in documented, f"{method} {path} answered {status}, not documented"
    response = _resolve(documented[str(status)])
    for header in response.get("headers", {}):
        assert header in headers, f"{method} {path} {status} lacks the {header} header"
    if "content" not in response:  # documented without a body (204)
        assert body is None, f"{method} {path} {status} has a body"
        return
    schema = response["content"]["application/json"]["schema"]
    Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#{_pointer(schema)}"} if "$ref" in schema else schema,
        registry=_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    ).validate(body)


def _pointer(schema: dict[str, Any]) -> str:
    return schema["$ref"].removeprefix("#")


def basic(username: str, password: str = "") -> dict[str, str]:
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


@dataclass
class APIResponse:
    status_code: int
    headers: Any
    json: Any


class APIClient:
    """`await api.get(url, auth=(email, password) | token | None)` -> APIResponse."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def request(
        self,
        method: str,
        url: str,
        *,
        auth: tuple[str, str] | str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> APIResponse:
        all_headers = {"Accept": "application/json"}
        if isinstance(auth, tuple):
            all_headers.update(basic(*auth))
        elif isinstance(auth, str):
            all_headers.update(basic(auth, ""))
        all_headers.update(headers or {})
        response = await self.client.open(url, method=method, headers=all_headers, **kwargs)
        text = await response.get_data(as_text=True)
        if response.status_code == 204:
            assert text == ""
            check_against_document(method, url, 204, response.headers, None)
            return APIResponse(204, response.headers, None)
        assert response.mimetype == "application/json", (response.status_code, text[:200])
        body = json.loads(text)
        check_against_document(method, url, response.status_code, response.headers, body)
        if response.status_code >= 400:
            assert set(body) <= {"error", "message"} and body["error"], body
        return APIResponse(response.status_code, response.headers, body)

    async def get(self, url: str, **kwargs: Any) -> APIResponse:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> APIResponse:
        return await self.request("POST", url, **kwargs)

    async def put(self, url: str, **kwargs: Any) -> APIResponse:
        return await self.request("PUT", url, **kwargs)

    async def delete(self, url: str, **kwargs: Any) -> APIResponse:
        return await self.request("DELETE", url, **kwargs)
