"""JSON responses: orjson's speed, Flask's output rules."""

from __future__ import annotations

import dataclasses
import decimal
import json
import uuid
from datetime import UTC, datetime

from flask.json.provider import DefaultJSONProvider

from flasky.json_provider import OrjsonProvider


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_the_json_is_flasks_json(app):
    assert isinstance(app.json, OrjsonProvider)
    flask_provider = DefaultJSONProvider(app)
    value = {
        "z": [1, 2.5, None, True],
        "a": {"nested": "text", "b": 1},
        "when": datetime(2026, 12, 7, 1, 2, 3, tzinfo=UTC),
        "amount": decimal.Decimal("1.10"),
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "point": Point(1, 2),
    }
    ours = app.json.dumps(value, separators=(",", ":"))
    assert json.loads(ours) == json.loads(flask_provider.dumps(value, separators=(",", ":")))
    assert ours.startswith('{"a":{"b":1,"nested":"text"},"amount":"1.10",')  # sorted and compact
    assert '"when":"Mon, 07 Dec 2026 01:02:03 GMT"' in ours


def test_what_orjson_refuses_goes_to_the_standard_encoder(app):
    huge = 2**70
    assert app.json.dumps({"n": huge}) == json.dumps({"n": huge}, sort_keys=True)
    try:
        app.json.dumps({"x": object()})
    except TypeError as error:
        assert "not JSON serializable" in str(error)
    else:
        raise AssertionError("an unknown type must not encode")


async def test_responses_are_compact_and_end_with_a_newline(app):
    async with app.app_context():
        response = app.json.response({"b": 1, "a": "é"})
    assert await response.get_data(as_text=True) == '{"a":"é","b":1}\n'
    assert response.mimetype == "application/json"


async def test_a_response_orjson_refuses_is_encoded_as_flask_would(app):
    async with app.app_context():
        response = app.json.response({"n": 2**70})
        assert await response.get_data(as_text=True) == f'{{"n":{2**70}}}\n'
        # Outside compact mode (debug), Flask's own indented response.
        app.json.compact = False
        try:
            indented = app.json.response({"b": 1})
        finally:
            app.json.compact = None
    assert await indented.get_data(as_text=True) == '{\n  "b": 1\n}\n'
