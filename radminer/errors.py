"""Errors and warnings of radminer: one base class each, so callers can catch them all."""

from __future__ import annotations

__all__ = [
    "InputError",
    "OntologyError",
    "OntologyWarning",
    "OutputError",
    "RadminerError",
    "RadminerWarning",
]


class RadminerError(Exception):
    """Base class of every error radminer raises on purpose."""


class OntologyError(RadminerError):
    """An ontology, vocabulary or curation table is broken (unreadable, cyclic, unsafe)."""


class InputError(RadminerError):
    """Input data (a reports CSV, a label-set file, an argument) is not what was expected."""


class OutputError(RadminerError):
    """An output file cannot be written (a read-only folder, a full disk, the input itself)."""


class RadminerWarning(UserWarning):
    """Base class of radminer's warnings."""


class OntologyWarning(RadminerWarning):
    """Ontology content is unsound but usable (dangling names, shared synonyms, unmatched labels)."""
