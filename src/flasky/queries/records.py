"""Records from rows, by column label.

A list's statement labels its columns with the names of its record's fields; a record is
built from the labels, never from positions, so a column added anywhere in a select
cannot shift another figure. The labels are looked up once per result rather than per
row: a RowMapping lookup per field made building a page of 20 posts ~70 % dearer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter

from sqlalchemy import Row


def columns_by_label(rows: Sequence[Row], labels: Sequence[str]) -> Callable[[Row], tuple]:
    """A function giving the columns `labels`, in that order, of any row of this result
    (all its rows share their labels). A label the statement lacks raises ValueError."""
    fields = rows[0]._fields
    positions = [fields.index(label) for label in labels]
    start = positions[0]
    if positions == list(range(start, start + len(positions))):
        # The usual case, labels in the record's order: one slice, as cheap as by position.
        return itemgetter(slice(start, start + len(positions)))
    return itemgetter(*positions) if len(positions) > 1 else lambda row: (row[start],)
