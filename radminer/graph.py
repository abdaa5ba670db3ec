"""The label DAG: a networkx ``DiGraph`` (parent → child) behind a small read-only API."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx

from .errors import OntologyError, OntologyWarning
from .labelspace import LabelSpace, select_labels
from .terms import Term, normalize_name

if TYPE_CHECKING:
    from .curation import Curation

__all__ = ["LabelGraph"]


class LabelGraph:
    """Labels of one ontology with their synonyms, categories, hierarchy and exclusive pairs.

    Built from :class:`Term` records. At construction a cycle raises :class:`OntologyError`
    naming it; dangling parent or exclusive names and synonyms claimed by two labels are
    dropped and reported once through :class:`OntologyWarning` (also kept in ``problems``).
    ``label_space`` is the selected :class:`LabelSpace` (all labels unless chosen otherwise
    with :meth:`with_label_set`); ``curation`` the tables applied when loading.
    """

    def __init__(
        self,
        terms: Iterable[Term],
        *,
        source: str = "<terms>",
        curation: Curation | None = None,
        curation_skipped: Sequence[str] = (),
    ) -> None:
        self.source = source
        self.curation = curation
        self.curation_skipped = tuple(curation_skipped)
        self._terms: dict[str, Term] = {}
        for term in terms:
            if term.name in self._terms:
                raise OntologyError(f"{source}: label {term.name!r} is defined twice")
            self._terms[term.name] = term
        self.problems: list[str] = []
        self._graph = nx.DiGraph()
        self._graph.add_nodes_from(self._terms)
        dangling: list[str] = []
        for term in self._terms.values():
            for parent in term.parents:
                if parent in self._terms and parent != term.name:
                    self._graph.add_edge(parent, term.name)
                else:
                    dangling.append(f"{term.name} -> parent {parent}")
        self._exclusive: dict[str, set[str]] = {name: set() for name in self._terms}
        for term in self._terms.values():
            for other in term.exclusive:
                if other in self._terms and other != term.name:
                    self._exclusive[term.name].add(other)
                    self._exclusive[other].add(term.name)
                else:
                    dangling.append(f"{term.name} -> exclusive {other}")
        self._check_acyclic()
        self._synonyms = self._index_synonyms()
        if dangling:
            self._warn(f"{len(dangling)} dangling name(s) ignored: " + "; ".join(dangling))
        self._ancestors = lru_cache(maxsize=None)(self._compute_ancestors)
        self.label_space = LabelSpace(self.labels, name="all")

    def select(self, spec: str | Sequence[str] | Path = "all") -> LabelSpace:
        """A :class:`LabelSpace` of this graph (see :func:`radminer.labelspace.select_labels`)."""
        return select_labels(self, spec)

    def with_label_set(self, spec: str | Sequence[str] | Path) -> LabelGraph:
        """A view of this graph (sharing its read-only content) whose ``label_space`` is ``spec``."""
        view = copy.copy(self)
        view.label_space = self.select(spec)
        return view

    # -- validation -------------------------------------------------------------------
    def _warn(self, message: str) -> None:
        self.problems.append(message)
        warnings.warn(f"{self.source}: {message}", OntologyWarning, stacklevel=3)

    def _check_acyclic(self) -> None:
        try:
            cycle = nx.find_cycle(self._graph)
        except nx.NetworkXNoCycle:
            return
        path = " -> ".join([edge[0] for edge in cycle] + [cycle[0][0]])
        raise OntologyError(f"{self.source}: the label hierarchy has a cycle: {path}")

    def _index_synonyms(self) -> dict[str, str]:
        """Normalized name or synonym → label. A label's own name always wins."""
        index = {normalize_name(name): name for name in self._terms}
        claims: dict[str, set[str]] = {}
        for term in self._terms.values():
            for synonym in term.synonyms:
                claims.setdefault(normalize_name(synonym), set()).add(term.name)
        shared: list[str] = []
        for key, names in sorted(claims.items()):
            owner = index.get(key)
            if owner is not None:
                names = names - {owner}
                if names:
                    shared.append(f"{key!r}: {', '.join(sorted(names))} (name of {owner})")
            elif len(names) > 1:
                shared.append(f"{key!r}: {', '.join(sorted(names))}")
            else:
                index[key] = next(iter(names))
        if shared:
            self._warn(f"{len(shared)} synonym(s) claimed by several labels, dropped: " + "; ".join(shared))
        return index

    # -- content ------------------------------------------------------------------------
    @property
    def labels(self) -> tuple[str, ...]:
        """All label names, in ontology order."""
        return tuple(self._terms)

    def __len__(self) -> int:
        return len(self._terms)

    def __iter__(self) -> Iterator[str]:
        return iter(self._terms)

    def __contains__(self, label: object) -> bool:
        return label in self._terms

    def __repr__(self) -> str:
        return f"<LabelGraph {self.source!r}: {len(self)} labels>"

    def term(self, label: str) -> Term:
        """The :class:`Term` of ``label``; :class:`KeyError` naming it when unknown."""
        try:
            return self._terms[label]
        except KeyError:
            raise KeyError(f"unknown label {label!r} in {self.source}") from None

    def category(self, label: str) -> str | None:
        return self.term(label).category

    def synonyms(self, label: str) -> tuple[str, ...]:
        """Synonyms of ``label`` as the matcher uses them (shared synonyms removed)."""
        return tuple(s for s in self.term(label).synonyms if self._synonyms.get(normalize_name(s)) == label)

    def lookup(self, text: str) -> str | None:
        """The label whose name or synonym is ``text`` (case-insensitive), else ``None``."""
        return self._synonyms.get(normalize_name(text))

    def lexicon(self) -> dict[str, str]:
        """Every normalized name and synonym mapped to its label (a copy)."""
        return dict(self._synonyms)

    def parents(self, label: str) -> frozenset[str]:
        self.term(label)
        return frozenset(self._graph.predecessors(label))

    def children(self, label: str) -> frozenset[str]:
        self.term(label)
        return frozenset(self._graph.successors(label))

    def _compute_ancestors(self, label: str) -> frozenset[str]:
        return frozenset(nx.ancestors(self._graph, label))

    def ancestors(self, label: str) -> frozenset[str]:
        """All labels above ``label`` (excluding itself)."""
        self.term(label)
        return self._ancestors(label)

    def descendants(self, label: str) -> frozenset[str]:
        """All labels below ``label`` (excluding itself)."""
        self.term(label)
        return frozenset(nx.descendants(self._graph, label))

    def exclusive(self, label: str) -> frozenset[str]:
        """Labels that cannot hold together with ``label`` (symmetric)."""
        self.term(label)
        return frozenset(self._exclusive[label])

    def exclusive_pairs(self) -> list[tuple[str, str]]:
        """Each exclusive pair once, ``(a, b)`` with ``a < b``, sorted."""
        return sorted({tuple(sorted((a, b))) for a, others in self._exclusive.items() for b in others})  # type: ignore[misc]

    def expand(self, labels: Iterable[str]) -> frozenset[str]:
        """``labels`` closed under ancestors (lung nodule ⇒ lung, nodule, chest)."""
        out: set[str] = set()
        for label in labels:
            if label not in out:
                out.add(label)
                out |= self.ancestors(label)
        return frozenset(out)

    def roots(self) -> list[str]:
        return [n for n in self._terms if self._graph.in_degree(n) == 0]

    def depth(self) -> int:
        """Number of labels on the longest parent → child path (0 when empty)."""
        if not self._terms:
            return 0
        return int(nx.dag_longest_path_length(self._graph)) + 1

    def to_networkx(self) -> nx.DiGraph:
        """A copy of the DAG with node attributes ``category``, ``synonyms``, ``rid``, ``iri``."""
        graph = self._graph.copy()
        for name, term in self._terms.items():
            graph.nodes[name].update(
                category=term.category or "",
                synonyms="|".join(self.synonyms(name)),
                rid=term.rid or "",
                iri=term.iri or "",
            )
        return graph
