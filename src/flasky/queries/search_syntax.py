"""The query syntax people know from web search, read once and written out for each
database's full-text engine.

`cat dog` needs both words, `"black cat"` the exact phrase, `-dog` excludes, `cat OR dog`
needs either side (OR splits the query into alternatives, as PostgreSQL's
websearch_to_tsquery reads it: `a b OR c` is "a and b, or c"). Anything else is text:
quotes left open close at the end, lone operators and punctuation are ignored, and only
runs of letters and digits become words, so what reaches a database is built from words
this module wrote, never from the user's text (FTS5 would otherwise read `NEAR(`,
`col:` or `*` in it as syntax, and fail on unbalanced quotes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Enough for any real query; a pasted essay is cut here instead of becoming thousands of
# terms for the database to intersect.
MAX_TERMS = 32
MAX_WORD_LENGTH = 64

# A quoted phrase (its closing quote optional) or a run of other non-space characters,
# either one maybe preceded by "-".
_PIECE = re.compile(r'(?P<minus>-?)(?:"(?P<phrase>[^"]*)"?|(?P<bare>[^\s"]+))')
# The words inside a piece: letters and digits (the underscore separates, as in FTS5's
# unicode61 tokenizer and PostgreSQL's parser).
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Term:
    """One word, or the words of a phrase (also a word written with inner punctuation:
    `e-mail` is the phrase "e mail", matching how both databases split it)."""

    words: tuple[str, ...]


@dataclass(frozen=True)
class Alternative:
    """Terms that must all match, and terms that must not."""

    required: tuple[Term, ...]
    excluded: tuple[Term, ...]


@dataclass(frozen=True)
class SearchQuery:
    """Posts (or people) matching any of the alternatives."""

    alternatives: tuple[Alternative, ...]

    def __bool__(self) -> bool:
        return bool(self.alternatives)

    @property
    def has_phrase(self) -> bool:
        """Whether a required term is several words that must stand together."""
        return any(
            len(term.words) > 1
            for alternative in self.alternatives
            for term in alternative.required
        )

    def websearch(self) -> str:
        """For PostgreSQL's websearch_to_tsquery; every term quoted, so a word such as
        "or" stays a word."""
        return " OR ".join(
            " ".join(
                [_quoted(term) for term in alternative.required]
                + ["-" + _quoted(term) for term in alternative.excluded]
            )
            for alternative in self.alternatives
        )

    def fts5(self) -> str:
        """For SQLite's FTS5 MATCH: every term a quoted string (FTS5 tokenizes and stems
        it like the indexed text), grouped with explicit parentheses."""
        rendered = []
        for alternative in self.alternatives:
            required = "(" + " AND ".join(_quoted(term) for term in alternative.required) + ")"
            if alternative.excluded:
                excluded = " OR ".join(_quoted(term) for term in alternative.excluded)
                required = f"({required} NOT ({excluded}))"
            rendered.append(required)
        return " OR ".join(rendered)


def _quoted(term: Term) -> str:
    return '"' + " ".join(term.words) + '"'


def parse(text: str) -> SearchQuery:
    """Read a query; an alternative without a required term is dropped (no engine can
    list everything except a word quickly), so `-dog` alone finds nothing."""
    alternatives: list[Alternative] = []
    required: list[Term] = []
    excluded: list[Term] = []
    budget = MAX_TERMS

    def close() -> None:
        if required:
            alternatives.append(Alternative(tuple(required), tuple(excluded)))
        required.clear()
        excluded.clear()

    for piece in _PIECE.finditer(text):
        if budget == 0:
            break
        phrase, bare, minus = piece["phrase"], piece["bare"], piece["minus"]
        if bare == "OR" and not minus:
            close()
            continue
        words = tuple(
            word[:MAX_WORD_LENGTH] for word in _WORD.findall(phrase if phrase is not None else bare)
        )[:budget]
        if not words:
            continue
        budget -= len(words)
        (excluded if minus else required).append(Term(words))
    close()
    return SearchQuery(tuple(alternatives))
