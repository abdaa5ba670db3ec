"""An ordered subset of a LabelGraph's labels: the columns of label vectors and matrices."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError, OntologyWarning
from . import resources

if TYPE_CHECKING:
    from .graph import LabelGraph

__all__ = ["LabelSpace", "select_labels"]

_MIN_DETECTED = re.compile(r"^num_detected\s*>=\s*(\d+)$")


class LabelSpace:
    """Ordered labels with vector and matrix conversion; read-only.

    ``mapping`` records, for a curated label set applied to another ontology (for example
    the LesaNet labels on a full RadLex), which ontology label each curated name became;
    ``unmatched`` lists the curated names that found none.
    """

    __slots__ = ("_index", "_labels", "_mapping", "_name", "_unmatched")

    def __init__(
        self,
        labels: Sequence[str],
        *,
        name: str = "custom",
        mapping: Mapping[str, str] | None = None,
        unmatched: Sequence[str] = (),
    ) -> None:
        self._labels: tuple[str, ...] = tuple(labels)
        if len(set(self._labels)) != len(self._labels):
            dupes = sorted({x for x in self._labels if self._labels.count(x) > 1})
            raise InputError(f"label set {name!r} repeats labels: {', '.join(dupes)}")
        self._name = name
        self._mapping: Mapping[str, str] = MappingProxyType(dict(mapping or {}))
        self._unmatched = tuple(unmatched)
        self._index = MappingProxyType({label: i for i, label in enumerate(self._labels)})

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return _label_space, (self._labels, self._name, dict(self._mapping), self._unmatched)

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    @property
    def name(self) -> str:
        return self._name

    @property
    def mapping(self) -> Mapping[str, str]:
        return self._mapping

    @property
    def unmatched(self) -> tuple[str, ...]:
        return self._unmatched

    def __len__(self) -> int:
        return len(self.labels)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._labels)

    def __repr__(self) -> str:
        return f"<LabelSpace {self.name!r}: {len(self)} labels>"

    def index(self, label: str) -> int:
        """Column of ``label``; :class:`KeyError` naming the label set when absent."""
        try:
            return self._index[label]
        except KeyError:
            raise KeyError(f"label {label!r} is not in label set {self.name!r}") from None

    def vector(self, labels: Iterable[str]) -> np.ndarray:
        """``uint8[K]`` with 1 for each of ``labels`` in this space (others are ignored)."""
        out = np.zeros(len(self.labels), dtype=np.uint8)
        for label in labels:
            i = self._index.get(label)
            if i is not None:
                out[i] = 1
        return out

    def matrix(self, rows: Iterable[Iterable[str]]) -> np.ndarray:
        """``uint8[N, K]``: one :meth:`vector` per row."""
        vectors = [self.vector(row) for row in rows]
        if not vectors:
            return np.zeros((0, len(self.labels)), dtype=np.uint8)
        return np.stack(vectors)

    def labels_of(self, vector: np.ndarray | Sequence[float], threshold: float = 0.5) -> list[str]:
        """Labels whose entry in ``vector`` (``[K]``) is ≥ ``threshold``, in space order."""
        values = np.asarray(vector)
        if values.shape != (len(self.labels),):
            raise InputError(f"expected a vector of shape ({len(self.labels)},), got {values.shape}")
        return [label for label, v in zip(self.labels, values, strict=True) if v >= threshold]


def _label_space(
    labels: tuple[str, ...], name: str, mapping: dict[str, str], unmatched: tuple[str, ...]
) -> LabelSpace:
    """Unpickling: a :class:`LabelSpace` from its parts."""
    return LabelSpace(labels, name=name, mapping=mapping, unmatched=unmatched)


def _read_label_file(path: Path) -> list[tuple[str, str | None]]:
    """``(label, RID or None)`` per line of a label-set file: a label, optionally followed by a
    tab and its RadLex RID; blank lines and ``#`` comments are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read label set file {path}: {exc.strerror}") from exc
    entries: list[tuple[str, str | None]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, rid = line.partition("\t")
        if "\t" in rid:
            raise InputError(f"{path}: line {number}: expected a label, optionally a tab and its RID, found {line!r}")
        entries.append((name.strip(), rid.strip() or None))
    return entries


def select_labels(graph: LabelGraph, spec: str | Sequence[str] | Path = "all") -> LabelSpace:
    """Resolve a label-set spec against ``graph``.

    ``spec`` is ``"all"``; a shipped set name (``"lesanet171"``); ``"num_detected>=N"``;
    a path to a file with one label per line (optionally a tab and the label's RadLex RID);
    or a sequence of label names. Names of a shipped set or file that are not labels of
    ``graph`` are matched by the RID given in the file and by synonym, and those still
    unmatched are reported with :class:`OntologyWarning`.
    Explicit sequences must name labels of the graph exactly.
    """
    if not isinstance(spec, (str, Path)):
        missing = [x for x in spec if x not in graph]
        if missing:
            raise InputError(f"labels not in {graph.source}: {', '.join(missing)}")
        return LabelSpace(list(spec))
    text = str(spec)
    if text == "all":
        return LabelSpace(graph.labels, name="all")
    match = _MIN_DETECTED.match(text)
    if match:
        n = int(match.group(1))
        chosen = [x for x in graph.labels if (graph.term(x).num_detected or 0) >= n]
        return LabelSpace(chosen, name=text)
    shipped = resources.label_set_path(text) if isinstance(spec, str) else None
    path = shipped or Path(text)
    if not path.is_file():
        allowed = ", ".join(["all", "num_detected>=N", *resources.label_set_names()])
        raise InputError(f"unknown label set {text!r}: expected one of {allowed}, or a file with one label per line")
    return _map_names(graph, _read_label_file(path), name=text if shipped else path.stem)


def _map_names(graph: LabelGraph, entries: list[tuple[str, str | None]], *, name: str) -> LabelSpace:
    rid_to_label = {graph.term(x).rid: x for x in graph.labels if graph.term(x).rid}
    labels: list[str] = []
    mapping: dict[str, str] = {}
    unmatched: list[str] = []
    for wanted, rid in entries:
        found = wanted if wanted in graph else rid_to_label.get(rid) or graph.lookup(wanted)
        if found is None or found in mapping.values():
            unmatched.append(wanted)
            continue
        labels.append(found)
        mapping[wanted] = found
    if unmatched:
        warnings.warn(
            f"label set {name!r}: {len(unmatched)} of {len(entries)} label(s) not found in "
            f"{graph.source}: {', '.join(unmatched)}",
            OntologyWarning,
            stacklevel=3,
        )
    return LabelSpace(labels, name=name, mapping=mapping, unmatched=unmatched)
