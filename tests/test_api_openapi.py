"""The OpenAPI document: served without auth, valid OpenAPI 3.1, and describing exactly the
routes the api blueprint has. (That responses match its schemas is checked by every API test
through tests/api_client.py, and by schemathesis in tests/test_api_schemathesis.py.)"""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate as validate_openapi

from tests.api_client import document

HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


async def test_document_is_served_without_auth(api):
    response = await api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json["openapi"].startswith("3.1")
    assert response.json["servers"] == [{"url": "http://localhost/api/v1"}]
    assert response.json == document()


def test_document_is_valid_openapi():
    validate_openapi(document())


def routes(app) -> set[tuple[str, str, str]]:
    """(path template as OpenAPI writes it, method, endpoint) of every api route."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule).removeprefix("/api/v1")
        for method in rule.methods & HTTP_METHODS:
            found.add((path, method.lower(), rule.endpoint.removeprefix("api.")))
    return found


def operations() -> set[tuple[str, str, str]]:
    return {
        (path, method, operation["operationId"])
        for path, item in document()["paths"].items()
        for method, operation in item.items()
    }


async def test_document_describes_every_route_and_nothing_else(app):
    assert operations() == routes(app)


def test_book_endpoint_names_are_kept(app):
    endpoints = {endpoint for _, _, endpoint in routes(app)}
    assert {
        "get_token", "get_posts", "new_post", "get_post", "edit_post", "get_user",
        "get_user_posts", "get_user_followed_posts", "get_comments", "get_comment",
        "get_post_comments", "new_post_comment",
    } <= endpoints  # fmt: skip


@pytest.mark.parametrize(("path", "method", "operation_id"), sorted(operations()))
def test_every_operation_documents_its_answers(path, method, operation_id):
    operation = document()["paths"][path][method]
    responses = set(operation["responses"])
    if operation_id == "openapi":
        assert operation["security"] == []
        return
    assert "security" not in operation  # the document-wide Basic scheme applies
    assert {"401", "403", "500"} <= responses
    if "{id}" in path:
        assert "404" in responses
    if method in ("post", "put") and operation_id != "get_token":
        assert {"400", "413", "415"} <= responses
        assert operation["requestBody"]["required"] is True
    if "201" in responses:
        assert "Location" in operation["responses"]["201"]["headers"]
    if "page" in {p["name"] for p in operation.get("parameters", [])}:
        assert operation["responses"]["200"]["content"]["application/json"]["schema"][
            "$ref"
        ].endswith("Page")


def test_security_schemes_are_basic_and_bearer():
    schemes = document()["components"]["securitySchemes"]
    assert set(schemes) == {"basicAuth", "bearerAuth"}
    assert (schemes["basicAuth"]["type"], schemes["basicAuth"]["scheme"]) == ("http", "basic")
    assert (schemes["bearerAuth"]["type"], schemes["bearerAuth"]["scheme"]) == ("http", "bearer")
    # Either one authenticates an operation.
    assert document()["security"] == [{"basicAuth": []}, {"bearerAuth": []}]


def test_token_revocation_is_documented():
    operation = document()["paths"]["/tokens/"]["delete"]
    assert "204" in operation["responses"]
    assert "revokes that token" in operation["description"]
    assert "every token of the account" in operation["description"]
