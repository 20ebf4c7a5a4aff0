"""How each response may be cached.

- Anything that depends on who is asking (every page a signed-in user sees, the whole API,
  any response that sets or changes a cookie, anything but GET/HEAD): `private, no-store`,
  so no shared cache keeps one person's page for another and the browser keeps no copy.
- Pages for visitors who are not signed in: `private, no-cache`: only the browser may keep
  them, and it asks again (the page shows the newest posts) before using its copy.
- Pages vary by the login cookie: `Vary: Cookie`.
- Static files: their URLs carry a version of the file's content (`?v=` + a hash, added by
  `url_for`), so a URL names one content forever and is cached for a year (`immutable`);
  the same file asked for without the version is revalidated by its ETag every time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from quart import Quart, Response, current_app, g, request, session

LONG_LIVED = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
PERSONAL = "private, no-store"
ANONYMOUS_PAGE = "private, no-cache"


def is_static(endpoint: str | None) -> bool:
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


def _static_folder(app: Quart, endpoint: str) -> str | None:
    if endpoint == "static":
        return app.static_folder
    blueprint = app.blueprints.get(endpoint.rsplit(".", 1)[0])
    return blueprint.static_folder if blueprint is not None else None


def static_version(app: Quart, endpoint: str, filename: str) -> str | None:
    """A short hash of the static file's content, computed once per file and process."""
    versions: dict[tuple[str, str], str | None] = app.extensions.setdefault("static_versions", {})
    key = (endpoint, filename)
    if key not in versions:
        folder = _static_folder(app, endpoint)
        path = Path(folder, filename).resolve() if folder else None
        try:
            if path is None or not path.is_relative_to(Path(folder).resolve()):  # type: ignore[arg-type]
                raise FileNotFoundError(filename)
            versions[key] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        except OSError:
            versions[key] = None
    return versions[key]


def _signed_in() -> bool:
    user = g.get("current_user")
    return user is not None and not getattr(user, "is_anonymous", True)


def cache_policy(response: Response, static: bool) -> str:
    """The Cache-Control value for a response; `static`: it is a static file."""
    if static and response.status_code in (200, 304):
        return LONG_LIVED if request.args.get("v") else REVALIDATE
    if (
        request.method not in ("GET", "HEAD")
        or request.blueprint == "api"
        or _signed_in()
        or "Set-Cookie" in response.headers
        or session.modified
    ):
        return PERSONAL
    return ANONYMOUS_PAGE


async def set_cache_headers(response: Response) -> Response:
    static = is_static(request.endpoint)
    headers = response.headers
    if static or "Cache-Control" not in headers:
        policy = headers["Cache-Control"] = cache_policy(response, static)
        if policy == LONG_LIVED:
            response.expires = None
    if not static and request.blueprint != "api":
        if "Vary" in headers:
            response.vary.add("Cookie")
        else:  # the usual case, without parsing and rewriting a header set
            headers["Vary"] = "Cookie"
    return response


def versioned_static_values(endpoint: str, values: dict) -> dict:
    """`url_for` values for a static file, with its content version added."""
    filename = values.get("filename")
    if filename and "v" not in values:
        version = static_version(current_app._get_current_object(), endpoint, filename)  # type: ignore[attr-defined]
        if version:
            return {**values, "v": version}
    return values
