"""``load_ontology``: OWL or CSV vocabulary + curation tables → :class:`LabelGraph`."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from ..errors import OntologyError
from . import resources
from .curation import Curation, accepted_synonyms, read_curation
from .graph import LabelGraph
from .owl import read_owl
from .vocab import read_vocabulary

__all__ = ["ONTOLOGY_SUFFIXES", "load_ontology"]

logger = logging.getLogger(__name__)

#: File extensions ``load_ontology`` accepts, by reader.
ONTOLOGY_SUFFIXES = {
    ".owl": "OWL (RDF/XML)",
    ".rdf": "OWL (RDF/XML)",
    ".xml": "OWL (RDF/XML)",
    ".csv": "vocabulary CSV",
}


def load_ontology(
    path: str | Path | None = None,
    *,
    label_set: str | Sequence[str] | Path = "all",
    curation: str | Path | bool = True,
    cache: bool = True,
    imports: Mapping[str, str | Path] | None = None,
    extra_synonyms: str | Path | None = None,
) -> LabelGraph:
    """Load an ontology as a :class:`LabelGraph`.

    ``path``: an OWL file (``.owl``/``.rdf``/``.xml``) or a vocabulary CSV; ``None`` is the
    shipped lesion ontology. ``label_set`` selects ``graph.label_space`` (see
    :func:`radminer.ontology.labelspace.select_labels`). ``curation``: ``True`` for the shipped
    curation tables, ``False`` for none, or a folder of tables. ``cache`` and ``imports``
    go to :func:`radminer.ontology.owl.read_owl`. ``extra_synonyms``: a synonyms CSV applied on top of
    the curation (``radminer suggest``'s output with its accepted rows, or ``synonyms.csv``'s
    format; see :func:`radminer.ontology.curation.accepted_synonyms`).
    """
    source = Path(path) if path is not None else resources.shipped_ontology()
    if path is None and curation is True and cache and imports is None and extra_synonyms is None:
        graph = _shipped(str(source))
    else:
        graph = _build(source, curation=curation, cache=cache, imports=imports, extra_synonyms=extra_synonyms)
    return graph if label_set == "all" else graph.with_label_set(label_set)


@lru_cache(maxsize=2)
def _shipped(source: str) -> LabelGraph:
    """The shipped ontology is read once per process (its LabelGraph is read-only)."""
    return _build(Path(source), curation=True, cache=True, imports=None)


def _build(
    source: Path,
    *,
    curation: str | Path | bool,
    cache: bool,
    imports: Mapping[str, str | Path] | None,
    extra_synonyms: str | Path | None = None,
) -> LabelGraph:
    suffix = source.suffix.lower()
    if suffix not in ONTOLOGY_SUFFIXES:
        accepted = ", ".join(f"{s} ({kind})" for s, kind in ONTOLOGY_SUFFIXES.items())
        raise OntologyError(f"{source}: unknown ontology file type {suffix or '(none)'!r}; accepted: {accepted}")
    if not source.is_file():
        raise OntologyError(f"ontology file not found: {source}")
    if suffix == ".csv":
        terms, lines = read_vocabulary(source)
    else:
        terms, lines = read_owl(source, cache=cache, imports=imports), {}
    tables = _curation(curation)
    if extra_synonyms is not None:  # applied to the terms read (the OWL cache holds them before any curation)
        tables = accepted_synonyms(extra_synonyms, tables, terms)
    terms, skipped = tables.apply(terms)
    if skipped:
        logger.info("%s: %d curation row(s) not applicable: %s", source, len(skipped), "; ".join(skipped))
    return LabelGraph(terms, source=str(source), curation=tables, curation_skipped=skipped, lines=lines)


def _curation(curation: str | Path | bool) -> Curation:
    if curation is False:
        return Curation()
    return read_curation(resources.curation_dir() if curation is True else Path(curation))
