"""A user vocabulary as CSV: ``term,synonyms,parents,category`` (``|``-separated lists).

Reading one also checks that each of its names and synonyms can be matched in text: terms
whose match keys (see :mod:`radminer.text.analysis`) are equal although their texts differ
("murmur" and "murmurs") and terms made only of words matching skips ("the") are reported
with an :class:`~radminer.errors.OntologyWarning` naming the file and lines. That check
analyses the terms, so spaCy is imported then.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from ..errors import OntologyError
from .curation import read_table
from .terms import CATEGORIES, Term

__all__ = ["VOCAB_COLUMNS", "Vocabulary", "read_vocabulary"]

VOCAB_COLUMNS = ("term", "synonyms", "parents", "category")
_OPTIONAL = ("exclusive", "rid", "num_detected")


class Vocabulary(NamedTuple):
    """The terms of a vocabulary CSV and the line of each (by name)."""

    terms: list[Term]
    lines: dict[str, int]


def _split(cell: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x.strip() for x in cell.split("|") if x.strip()))


def read_vocabulary(path: str | Path) -> Vocabulary:
    """Terms of a vocabulary CSV (UTF-8, a BOM accepted). Empty lists and categories are allowed.

    Optional columns: ``exclusive`` (``|``-separated), ``rid``, ``num_detected``. Any other
    column is an error listing the accepted ones. Terms that can never be matched, or only
    one of which can, are warned about (see the module docstring).
    """
    path = Path(path)
    rows = read_table(path, VOCAB_COLUMNS)
    extra = sorted(set(rows[0]) - set(VOCAB_COLUMNS) - set(_OPTIONAL)) if rows else []
    if extra:
        accepted = ", ".join(VOCAB_COLUMNS + _OPTIONAL)
        raise OntologyError(f"{path}: unknown column(s) {', '.join(extra)}; accepted columns: {accepted}")
    terms = []
    lines: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if not row["term"]:
            raise OntologyError(f"{path}: line {line}, column term: empty term name")
        category = row["category"] or None
        if category is not None and category not in CATEGORIES:
            # user vocabularies may bring their own categories (symptoms, diagnoses, ...)
            category = category.lower()
        detected = row.get("num_detected") or ""
        if detected and not detected.isdigit():
            raise OntologyError(f"{path}: line {line}, column num_detected: expected an integer, found {detected!r}")
        terms.append(
            Term(
                name=row["term"],
                category=category,
                synonyms=tuple(s for s in _split(row["synonyms"]) if s != row["term"]),
                parents=_split(row["parents"]),
                exclusive=_split(row.get("exclusive", "")),
                rid=row.get("rid") or None,
                num_detected=int(detected) if detected else None,
            )
        )
        lines.setdefault(row["term"], line)
    return Vocabulary(terms, lines)
