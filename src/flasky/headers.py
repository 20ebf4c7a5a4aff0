"""Security headers on every response.

The policy allows no inline script and no inline style: page behaviour lives in
static/js, styles in static/css, so an injected `<script>` or `style=` does nothing.
Images may come from any https address (Gravatar's avatars, the images in posts, which
the Markdown allow-list keeps only from https); Bootstrap's CSS draws its icons from
`data:` SVGs.
"""

from __future__ import annotations

from quart import Response, current_app, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' https: data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    # For browsers that predate CSP's frame-ancestors.
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


_SECURITY_ITEMS = [(name.lower(), name, value) for name, value in SECURITY_HEADERS.items()]


async def add_security_headers(response: Response) -> Response:
    """Set the headers a view has not set itself (a view may loosen its own policy)."""
    # One pass over the response's headers, not one search per header set.
    present = {name.lower() for name, _ in response.headers.items()}
    response.headers.extend(
        [(name, value) for key, name, value in _SECURITY_ITEMS if key not in present]
    )
    # HSTS only means something over HTTPS; behind a proxy, request.is_secure relies on
    # the forwarded-headers fix being configured (proxies.py, FLASKY_PROXY_COUNT).
    hsts_max_age = current_app.config["FLASKY_HSTS_MAX_AGE"]
    if hsts_max_age > 0 and request.is_secure:
        response.headers.setdefault(
            "Strict-Transport-Security", f"max-age={hsts_max_age}; includeSubDomains"
        )
    return response
