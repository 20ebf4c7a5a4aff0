"""A deterministic identicon: a 5x5 grid mirrored left to right, coloured from the hash."""

from __future__ import annotations

GRID = 5


def identicon_svg(digest: str) -> str:
    """An SVG image for a hex digest (the email's MD5, as Gravatar uses)."""
    value = int(digest, 16)
    hue = value % 360
    cells = []
    bits = value >> 9
    for row in range(GRID):
        for column in range((GRID + 1) // 2):
            if bits & 1:
                cells.append((column, row))
                if column != GRID - 1 - column:
                    cells.append((GRID - 1 - column, row))
            bits >>= 1
    path = "".join(f"M{x} {y}h1v1h-1z" for x, y in cells)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 6 6" '
        'shape-rendering="crispEdges">'
        '<rect x="-0.5" y="-0.5" width="6" height="6" fill="#f0f0f0"/>'
        f'<path fill="hsl({hue},55%,45%)" d="{path}"/></svg>'
    )
