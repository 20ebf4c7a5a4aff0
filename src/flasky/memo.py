"""Bounded lookup tables for what a page builds the same way over and over (a URL, an
avatar tag, a list row's HTML or JSON).

Each table is keyed by everything its value depends on, so nothing ever goes stale: a
changed record or setting is a different key. What bounds the memory is the table
emptying itself when full; keys that stop being asked for go with it. Full and empty
again is cheap next to the work the table saves, and needs no bookkeeping per hit.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

V = TypeVar("V")


class BoundedTable(dict[Any, V], Generic[V]):
    """A dict that empties itself before it would hold more than `capacity`: entries by
    default, or the total of the weights passed to `store` (say, characters of HTML)."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.capacity = capacity
        self.held = 0

    def store(self, key: Any, value: V, weight: int = 1) -> V:
        if self.held + weight > self.capacity:
            self.clear()
        self[key] = value
        self.held += weight
        return value

    def clear(self) -> None:
        super().clear()
        self.held = 0
