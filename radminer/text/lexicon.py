"""Checks of an ontology's names and synonyms against the analyzer that matches them: a
phrase whose words matching all skips is never matched, and phrases of different labels
whose texts differ but whose match keys (after lemmatization) are equal can be matched as
only one of them. Each problem is one :class:`~radminer.errors.OntologyWarning` line.

Phrases whose texts are equal but for case and spacing are left to
:class:`~radminer.ontology.LabelGraph`, which reports them when it is built.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

from ..errors import OntologyWarning
from ..ontology.terms import normalize_name

if TYPE_CHECKING:
    from ..ontology.graph import LabelGraph
    from .analysis import Analyzer

__all__ = ["check_match_keys"]


def check_match_keys(graph: LabelGraph, analyzer: Analyzer) -> None:
    """Warn about the phrases of ``graph`` that ``analyzer`` never matches or matches alike,
    naming ``graph.source`` and each label's line there when known."""
    claims: dict[tuple[str, ...], dict[str, tuple[str, str]]] = {}  # keys → phrase text → (label, description)
    for label in graph.labels:
        term = graph.term(label)
        line = graph.line(label)
        where = "" if line is None else f"line {line}: "
        for phrase in (term.name, *term.synonyms):
            what = f"term {phrase!r}" if phrase == term.name else f"synonym {phrase!r} of {term.name!r}"
            keys = analyzer.phrase_keys(phrase)
            if not keys:
                _warn(f"{graph.source}: {where}{what} holds only words that matching skips: it is never matched")
            else:
                claims.setdefault(keys, {}).setdefault(normalize_name(phrase), (label, where + what))
    for keys, phrases in claims.items():
        if len(phrases) > 1 and len({label for label, _ in phrases.values()}) > 1:
            listed = " and ".join(described for _, described in phrases.values())
            _warn(
                f"{graph.source}: {listed} have the same match key {' '.join(keys)!r} (after lemmatization): "
                "text can be matched as only one of them"
            )


def _warn(message: str) -> None:
    warnings.warn(message, OntologyWarning, stacklevel=4)
