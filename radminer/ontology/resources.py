"""Where the shipped ontology, curation tables and label sets live.

In a wheel they are package data under ``radminer/_ontologies``; in a source checkout
(editable install) they are the repository's ``ontologies/`` folder.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import OntologyError

__all__ = ["curation_dir", "label_set_names", "label_set_path", "ontologies_dir", "shipped_ontology"]

_PACKAGE = Path(__file__).resolve().parents[1]  # the radminer package folder


def ontologies_dir() -> Path:
    """The folder holding ``lesion_ontology.owl``, ``curation/`` and ``label_sets/``."""
    for candidate in (_PACKAGE / "_ontologies", _PACKAGE.parent / "ontologies"):
        if (candidate / "lesion_ontology.owl").is_file():
            return candidate
    raise OntologyError(
        f"the shipped ontology is missing: neither {_PACKAGE / '_ontologies'} nor "
        f"{_PACKAGE.parent / 'ontologies'} holds lesion_ontology.owl (broken installation?)"
    )


def shipped_ontology() -> Path:
    return ontologies_dir() / "lesion_ontology.owl"


def curation_dir() -> Path:
    return ontologies_dir() / "curation"


def label_set_names() -> list[str]:
    """Names of the shipped label sets (besides ``"all"``)."""
    return sorted(p.stem for p in (ontologies_dir() / "label_sets").glob("*.txt"))


def label_set_path(name: str) -> Path | None:
    path = ontologies_dir() / "label_sets" / f"{name}.txt"
    return path if path.is_file() else None
