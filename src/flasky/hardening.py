"""Input the routes never meant to take, refused before it reaches a view (found by
tests/test_fuzz_forms.py and tests/test_fuzz_api.py).

- `<int:id>` in a URL matches only ids a database integer column can hold: Werkzeug's
  converter takes any number of digits, and `/post/99999999999999999999` then overflowed
  in the driver (a 500) instead of being the 404 it is. The limit is in the converter's
  pattern, not only in its conversion: Werkzeug picks a rule by pattern and method before
  converting, so a DELETE to `/api/v1/posts/99999999999999999999` got past the GET rule
  (noting GET as allowed), failed in the DELETE rule's conversion and answered 405.
- The pages' forms take form data only. quart-wtf feeds a JSON body straight into a form,
  where a list, a number or bytes that are not UTF-8 raise inside the form (a 500).
- A malformed `Authorization` header is refused as bad credentials: Werkzeug's parser
  raises ValueError on a Basic header with non-ASCII characters (a 500 on every API
  endpoint).
- No NUL character in a URL or a form field: PostgreSQL's text types cannot hold one, so
  `/follow/%00` or an "About me" with a NUL in it failed in the driver (a 500 on
  PostgreSQL only). Browsers never send one; a 400 says the request is malformed.
"""

from __future__ import annotations

from quart import Quart, abort, request
from werkzeug.datastructures import Authorization
from werkzeug.exceptions import Unauthorized
from werkzeug.routing import IntegerConverter, Map

from flasky import security

# PostgreSQL's INTEGER (SQLite's is wider); every id column is one.
MAX_DATABASE_INTEGER = 2**31 - 1

# Endpoints outside the API that are meant to take JSON.
JSON_ENDPOINTS = {"main.preview"}


def digits_at_most(limit: int) -> str:
    """A pattern matching the decimal numbers from 0 to `limit`: fewer digits than the
    limit has, or the limit's first digits followed by a smaller one and any digits."""
    text = str(limit)
    shorter = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    below = [
        rf"{text[:i]}[0-{int(digit) - 1}]\d{{{len(text) - i - 1}}}"
        for i, digit in enumerate(text)
        if digit != "0"
    ]
    return "(?:" + "|".join([*shorter, *below, text]) + ")"


class DatabaseIntegerConverter(IntegerConverter):
    regex = digits_at_most(MAX_DATABASE_INTEGER)

    def __init__(
        self,
        map: Map,  # noqa: A002 - Werkzeug's name
        fixed_digits: int = 0,
        min: int | None = None,  # noqa: A002
        max: int | None = MAX_DATABASE_INTEGER,  # noqa: A002
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


async def refuse_json_for_forms() -> None:
    # A URL no route matches is left to routing's own 404 or 405, whatever its body: an
    # API call to a post that cannot exist is not a form.
    if (
        request.method in {"POST", "PUT", "PATCH", "DELETE"}
        and request.is_json
        and request.routing_exception is None
        and request.blueprint != "api"
        and request.endpoint not in JSON_ENDPOINTS
    ):
        abort(400, "This page takes form data, not JSON.")


async def refuse_nul_characters() -> None:
    texts = [request.path, *request.args.keys(), *request.args.values()]
    if request.method in {"POST", "PUT", "PATCH"} and request.mimetype in FORM_MIMETYPES:
        form = await request.form
        texts += [*form.keys(), *form.values()]
    if any("\x00" in text for text in texts):
        abort(400, "The request contains a NUL character.")


def authorization_or_none() -> Authorization | None:
    """request.authorization, or None when the header cannot be parsed at all."""
    try:
        return request.authorization
    except ValueError:
        return None


async def refuse_unparsable_credentials() -> None:
    # Only the API reads the header; pages ignore it.
    if request.blueprint == "api" and "Authorization" in request.headers:
        if authorization_or_none() is None:
            raise Unauthorized(security.API_CREDENTIALS_MESSAGE)


FORM_MIMETYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def init_app(app: Quart) -> None:
    """`<int:id>` URLs match database integers only; the request checks above are placed by
    flasky.pipeline. Before any blueprint is registered: a rule picks its converter when it
    is added."""
    app.url_map.converters["int"] = DatabaseIntegerConverter
