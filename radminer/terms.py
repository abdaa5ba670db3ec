"""The record every ontology reader produces: one :class:`Term` per label."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CATEGORIES", "Term", "normalize_name"]

#: Label categories of the lesion ontology (the seed paper's body part / type / attribute).
CATEGORIES: tuple[str, ...] = ("bodypart", "type", "attribute")


def normalize_name(text: str) -> str:
    """Case- and whitespace-insensitive key of a term name or synonym."""
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class Term:
    """One label of an ontology.

    ``parents`` and ``exclusive`` hold label names (not IRIs). ``synonyms`` never
    repeats the name itself. ``rid`` is the RadLex identifier (``"RID58"``) when known.
    """

    name: str
    category: str | None = None
    synonyms: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    exclusive: tuple[str, ...] = ()
    iri: str | None = None
    rid: str | None = None
    num_detected: int | None = None
