"""An ordered subset of a LabelGraph's labels: the columns of label vectors and matrices."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError, OntologyWarning
from . import resources

if TYPE_CHECKING:
    from .graph import LabelGraph

__all__ = ["LabelSpace", "select_labels"]

_MIN_DETECTED = re.compile(r"^num_detected\s*>=\s*(\d+)$")


class LabelSpace:
    """Ordered labels with vector and matrix conversion.

    ``mapping`` records, for a curated label set applied to another ontology (for example
    the LesaNet labels on a full RadLex), which ontology label each curated name became;
    ``unmatched`` lists the curated names that found none.
    """

    def __init__(
        self,
        labels: Sequence[str],
        *,
        name: str = "custom",
        mapping: dict[str, str] | None = None,
        unmatched: Sequence[str] = (),
    ) -> None:
        self.labels: tuple[str, ...] = tuple(labels)
        if len(set(self.labels)) != len(self.labels):
            dupes = sorted({x for x in self.labels if self.labels.count(x) > 1})
            raise InputError(f"label set {name!r} repeats labels: {', '.join(dupes)}")
        self.name = name
        self.mapping = dict(mapping or {})
        self.unmatched = tuple(unmatched)
        self._index = {label: i for i, label in enumerate(self.labels)}

    def __len__(self) -> int:
        return len(self.labels)

    def __contains__(self, label: object) -> bool:
        return label in self._index

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.labels)

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


def _read_label_file(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InputError(f"cannot read label set file {path}: {exc.strerror}") from exc
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def select_labels(graph: LabelGraph, spec: str | Sequence[str] | Path = "all") -> LabelSpace:
    """Resolve a label-set spec against ``graph``.

    ``spec`` is ``"all"``; a shipped set name (``"lesanet171"``); ``"num_detected>=N"``;
    a path to a file with one label per line; or a sequence of label names. Names of a
    shipped set or file that are not labels of ``graph`` are matched by RadLex RID and by
    synonym, and those still unmatched are reported with :class:`OntologyWarning`.
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


def _map_names(graph: LabelGraph, names: list[str], *, name: str) -> LabelSpace:
    by_rid = _shipped_rids() if any(x not in graph for x in names) else {}
    rid_to_label = {graph.term(x).rid: x for x in graph.labels if graph.term(x).rid}
    labels: list[str] = []
    mapping: dict[str, str] = {}
    unmatched: list[str] = []
    for wanted in names:
        found = wanted if wanted in graph else rid_to_label.get(by_rid.get(wanted)) or graph.lookup(wanted)
        if found is None or found in mapping.values():
            unmatched.append(wanted)
            continue
        labels.append(found)
        mapping[wanted] = found
    if unmatched:
        warnings.warn(
            f"label set {name!r}: {len(unmatched)} of {len(names)} label(s) not found in "
            f"{graph.source}: {', '.join(unmatched)}",
            OntologyWarning,
            stacklevel=3,
        )
    return LabelSpace(labels, name=name, mapping=mapping, unmatched=unmatched)


def _shipped_rids() -> dict[str, str]:
    """Label name → RadLex RID in the shipped lesion ontology (for mapping onto RadLex)."""
    from .loader import load_ontology

    shipped = load_ontology()
    return {x: shipped.term(x).rid for x in shipped.labels if shipped.term(x).rid}  # type: ignore[misc]
