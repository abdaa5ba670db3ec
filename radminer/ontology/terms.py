"""The record every ontology reader produces: one :class:`Term` per label."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CATEGORIES", "Term", "normalize_name"]

#: Label categories of the lesion ontology (the seed paper's body part / type / attribute).
CATEGORIES: tuple[str, ...] = ("bodypart", "type", "attribute")


def normalize_name(text: str) -> str:
    """Case- and whitespace-insensitive key of a term name or synonym."""
    return " ".join(text.split()).casefold()


class Term(NamedTuple):
    """One label of an ontology (an immutable record).

    ``parents`` and ``exclusive`` hold label names (not IRIs). ``synonyms`` never
    repeats the name itself. ``rid`` is the RadLex identifier (``"RID58"``) when known.
    A NamedTuple rather than a frozen dataclass: RadLex has 50,000 terms and a tuple is
    built several times faster, which keeps a cached load under 0.2 s.
    """

    name: str
    category: str | None = None
    synonyms: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    exclusive: tuple[str, ...] = ()
    iri: str | None = None
    rid: str | None = None
    num_detected: int | None = None
