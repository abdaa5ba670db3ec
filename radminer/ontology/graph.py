"""The label DAG: parent → child links held in dicts (fast to build at RadLex scale), with a
networkx ``DiGraph`` built on first use for graph algorithms and export, behind a small read-only API."""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import OntologyError, OntologyWarning
from .labelspace import LabelSpace, select_labels
from .terms import Term, normalize_name

if TYPE_CHECKING:
    import networkx as nx

    from .curation import Curation

__all__ = ["LabelGraph"]


class LabelGraph:
    """Labels of one ontology with their synonyms, categories, hierarchy and exclusive pairs.

    Built from :class:`Term` records. At construction a cycle raises :class:`OntologyError`
    naming it; dangling parent or exclusive names, synonyms claimed by two labels and names
    equal but for case or spacing are dropped and reported once each through
    :class:`OntologyWarning` (also kept in ``problems``), naming the labels' ``lines`` in
    ``source`` when given. ``label_space`` is the selected :class:`LabelSpace` (all labels
    unless chosen otherwise with :meth:`with_label_set`); ``curation`` the tables applied
    when loading. Any depth of hierarchy is handled (no recursion).

    A LabelGraph is read-only: its attributes cannot be set, and :meth:`with_label_set` gives
    a new graph (sharing the read-only content, with caches of its own), so a graph that
    :func:`~radminer.ontology.load_ontology` hands out again cannot have been changed.
    """

    __slots__ = (
        "_ancestor_sets", "_children", "_closures", "_curation", "_curation_skipped", "_excluded", "_exclusive",
        "_label_space", "_lines", "_negates", "_nx_graph", "_parents", "_problems", "_source", "_synonyms", "_terms",
    )  # fmt: skip

    def __init__(
        self,
        terms: Iterable[Term],
        *,
        source: str = "<terms>",
        curation: Curation | None = None,
        curation_skipped: Sequence[str] = (),
        lines: Mapping[str, int] | None = None,
    ) -> None:
        self._source = source
        self._curation = curation
        self._curation_skipped = tuple(curation_skipped)
        self._lines = dict(lines or {})
        self._nx_graph: nx.DiGraph | None = None
        self._terms: dict[str, Term] = {}
        for term in terms:
            if term.name in self._terms:
                raise OntologyError(f"{source}: label {term.name!r} is defined twice")
            self._terms[term.name] = term
        self._problems: list[str] = []
        dangling: list[str] = []
        self._parents: dict[str, tuple[str, ...]] = {}
        self._children: dict[str, list[str]] = {name: [] for name in self._terms}
        for name, term in self._terms.items():
            valid = []
            for parent in term.parents:
                if parent in self._terms and parent != name:
                    valid.append(parent)
                    self._children[parent].append(name)
                else:
                    dangling.append(f"{self._at(name)} -> parent {parent}")
            self._parents[name] = tuple(dict.fromkeys(valid))
        self._exclusive: dict[str, set[str]] = {}
        for name, term in self._terms.items():
            for other in term.exclusive:
                if other in self._terms and other != name:
                    self._exclusive.setdefault(name, set()).add(other)
                    self._exclusive.setdefault(other, set()).add(name)
                else:
                    dangling.append(f"{self._at(name)} -> exclusive {other}")
        self._check_acyclic()
        self._synonyms = self._index_synonyms()
        if dangling:
            self._warn(f"{len(dangling)} dangling name(s) ignored: " + "; ".join(dangling))
        self._ancestor_sets: dict[str, frozenset[str]] = {}  # label → its ancestors, filled on use
        self._closures: dict[str, frozenset[str]] = {}  # label → itself and its ancestors
        self._excluded: dict[str, frozenset[str]] = {}  # label → what it and its ancestors exclude
        self._negates: dict[str, frozenset[str]] = {}  # label → what negating it negates
        self._label_space = LabelSpace(self.labels, name="all")

    @property
    def source(self) -> str:
        """Where the terms came from (a path, or ``"<terms>"``)."""
        return self._source

    @property
    def curation(self) -> Curation | None:
        """The curation tables applied when loading (``None``: none)."""
        return self._curation

    @property
    def curation_skipped(self) -> tuple[str, ...]:
        """Curation rows that did not apply to this ontology."""
        return self._curation_skipped

    @property
    def problems(self) -> tuple[str, ...]:
        """The problems found at construction (each also given as an :class:`OntologyWarning`)."""
        return tuple(self._problems)

    @property
    def label_space(self) -> LabelSpace:
        """The selected labels: all, unless chosen with :meth:`with_label_set`."""
        return self._label_space

    def line(self, label: str) -> int | None:
        """The line of ``label`` in ``source`` when known (vocabulary CSV), else ``None``."""
        return self._lines.get(label)

    def select(self, spec: str | Sequence[str] | Path = "all") -> LabelSpace:
        """A :class:`LabelSpace` of this graph (see :func:`radminer.ontology.labelspace.select_labels`)."""
        return select_labels(self, spec)

    def with_label_set(self, spec: str | Sequence[str] | Path) -> LabelGraph:
        """A graph with this one's read-only content and caches of its own, whose ``label_space`` is ``spec``."""
        view = copy.copy(self)
        view._label_space = self.select(spec)
        view._ancestor_sets = {}
        view._closures = {}
        view._excluded = {}
        view._negates = {}
        view._nx_graph = None
        return view

    # -- validation -------------------------------------------------------------------
    def _at(self, name: str) -> str:
        """``name``, with its line in the source when known."""
        line = self._lines.get(name)
        return name if line is None else f"{name} (line {line})"

    def _warn(self, message: str) -> None:
        self._problems.append(message)
        warnings.warn(f"{self.source}: {message}", OntologyWarning, stacklevel=3)

    def _check_acyclic(self) -> None:
        """Kahn's algorithm (fast on 50,000 labels); networkx names the cycle when there is one."""
        indegree = {name: len(parents) for name, parents in self._parents.items()}
        ready = [name for name, d in indegree.items() if d == 0]
        seen = 0
        while ready:
            node = ready.pop()
            seen += 1
            for child in self._children[node]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
        if seen == len(indegree):
            return
        import networkx as nx

        cycle = nx.find_cycle(self._nx.subgraph(n for n, d in indegree.items() if d > 0))
        path = " -> ".join([edge[0] for edge in cycle] + [cycle[0][0]])
        raise OntologyError(f"{self.source}: the label hierarchy has a cycle: {path}")

    @property
    def _nx(self) -> nx.DiGraph:
        """The DAG as a networkx ``DiGraph`` (parent → child), built on first use (networkx imported then)."""
        if self._nx_graph is None:
            import networkx as nx

            graph = nx.DiGraph()
            graph.add_nodes_from(self._terms)
            graph.add_edges_from((p, c) for c, parents in self._parents.items() for p in parents)
            self._nx_graph = graph
        return self._nx_graph

    def _index_synonyms(self) -> dict[str, str]:
        """Normalized name or synonym → label. A label's own name always wins (the first of
        names equal but for case or spacing)."""
        index: dict[str, str] = {}
        twins: dict[str, list[str]] = {}
        for name in self._terms:
            key = " ".join(name.split()).casefold()  # normalize_name, inlined
            if index.setdefault(key, name) != name:
                twins.setdefault(key, [index[key]]).append(name)
        if twins:
            listed = "; ".join(f"{key!r}: {', '.join(map(self._at, names))}" for key, names in twins.items())
            self._warn(
                f"{len(twins)} name(s) equal but for case or spacing: lookup and matching find only the first "
                f"of each: {listed}"
            )
        names = set(index)
        shared: dict[str, set[str]] = {}
        for term in self._terms.values():
            for synonym in term.synonyms:
                key = " ".join(synonym.split()).casefold()
                owner = index.setdefault(key, term.name)
                if owner != term.name:
                    shared.setdefault(key, {owner}).add(term.name)
        problems = []
        for key, claimants in shared.items():
            if key in names:
                others = ", ".join(map(self._at, sorted(claimants - {index[key]})))
                problems.append(f"{key!r}: {others}, and the name of {self._at(index[key])}")
            else:
                problems.append(f"{key!r}: {', '.join(map(self._at, sorted(claimants)))}")
                del index[key]
        if problems:
            self._warn(f"{len(problems)} synonym(s) claimed by several labels, dropped: " + "; ".join(sorted(problems)))
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
        return frozenset(self._parents[label])

    def children(self, label: str) -> frozenset[str]:
        self.term(label)
        return frozenset(self._children[label])

    def _ancestors(self, label: str) -> frozenset[str]:
        """The ancestors of ``label``, and of every label above it, computed once each: parents
        before children, with an explicit stack (a hierarchy may be thousands of levels deep)."""
        known = self._ancestor_sets
        stack = [label]
        while stack:
            current = stack[-1]
            if current in known:
                stack.pop()
                continue
            todo = [parent for parent in self._parents[current] if parent not in known]
            if todo:
                stack += todo
                continue
            out: set[str] = set()
            for parent in self._parents[current]:
                out.add(parent)
                out |= known[parent]
            known[current] = frozenset(out)
            stack.pop()
        return known[label]

    def ancestors(self, label: str) -> frozenset[str]:
        """All labels above ``label`` (excluding itself)."""
        self.term(label)
        return self._ancestors(label)

    def descendants(self, label: str) -> frozenset[str]:
        """All labels below ``label`` (excluding itself)."""
        self.term(label)
        out: set[str] = set()
        stack = [label]
        while stack:
            for child in self._children[stack.pop()]:
                if child not in out:
                    out.add(child)
                    stack.append(child)
        return frozenset(out)

    def exclusive(self, label: str) -> frozenset[str]:
        """Labels that cannot hold together with ``label`` (symmetric)."""
        self.term(label)
        return frozenset(self._exclusive.get(label, ()))

    def excluded(self, label: str) -> frozenset[str]:
        """Labels exclusive with ``label`` or one of its ancestors: what a positive ``label`` rules out."""
        found = self._excluded.get(label)
        if found is None:
            found = self._excluded[label] = frozenset().union(*(self.exclusive(a) for a in self.expand([label])))
        return found

    def exclusive_pairs(self) -> list[tuple[str, str]]:
        """Each exclusive pair once, ``(a, b)`` with ``a < b``, sorted."""
        return sorted({tuple(sorted((a, b))) for a, others in self._exclusive.items() for b in others})  # type: ignore[misc]

    def expand(self, labels: Iterable[str]) -> frozenset[str]:
        """``labels`` closed under ancestors (lung nodule ⇒ lung, nodule, chest)."""
        closures = self._closures
        out: set[str] = set()
        for label in labels:
            closure = closures.get(label)
            if closure is None:
                closure = closures[label] = self.ancestors(label) | {label}
            out |= closure
        return frozenset(out)

    def negates(self, label: str) -> frozenset[str]:
        """What a negated ``label`` negates: itself and, for a finding named as an organ's (a
        ``type`` label with a ``bodypart`` parent whose name ends with the name of a ``type``
        parent: lung nodule, kidney cyst, liver mass), that parent. "No pulmonary nodules" says
        there is no nodule in the lungs, not that there are no lungs: *lung* stays unnegated, as
        do the broader classes of other findings ("no hemangioma" does not negate *neoplasm*)."""
        found = self._negates.get(label)
        if found is None:
            out = {label}
            term = self._terms.get(label)
            parents = self._parents.get(label, ())
            if (
                term is not None
                and term.category == "type"
                and any(self._terms[p].category == "bodypart" for p in parents)
            ):
                out.update(p for p in parents if self._terms[p].category == "type" and label.endswith(f" {p}"))
            found = self._negates[label] = frozenset(out)
        return found

    def roots(self) -> list[str]:
        return [name for name, parents in self._parents.items() if not parents]

    def depth(self) -> int:
        """Number of labels on the longest parent → child path (0 when empty)."""
        if not self._terms:
            return 0
        import networkx as nx

        return int(nx.dag_longest_path_length(self._nx)) + 1

    def to_networkx(self) -> nx.DiGraph:
        """A copy of the DAG with node attributes ``category``, ``synonyms``, ``rid``, ``iri``."""
        graph = self._nx.copy()
        for name, term in self._terms.items():
            graph.nodes[name].update(
                category=term.category or "",
                synonyms="|".join(self.synonyms(name)),
                rid=term.rid or "",
                iri=term.iri or "",
            )
        return graph
