"""Label sources joined to lesions by lesion id: radminer's JSONL, LesaNet's file, synthetic truth.

Each reader returns a :class:`LabelTable`: lesion id → :class:`LesionLabelSets`. radminer's JSONL
lines are keyed by their ``id``, or, when they carry a ``bookmark``, through a bookmark map CSV
(``id, bookmark, lesion_id``; lesion-synth writes one as ``bookmarks.csv``); without a map a line
with a bookmark is keyed ``"<id>#<bookmark>"``. LesaNet's file is keyed by the 0-based DL_info
row (its lesion index); it has relevant, uncertain and (train only) irrelevant labels but no
negated ones, so ``negated`` stays empty and ``irrelevant`` is kept.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .store import StoreLabels

__all__ = [
    "LabelTable",
    "LesionLabelSets",
    "read_bookmark_map",
    "read_lesanet_labels",
    "read_radminer_jsonl",
    "read_truth",
    "store_labels",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LesionLabelSets:
    positive: frozenset[str] = frozenset()
    uncertain: frozenset[str] = frozenset()
    negated: frozenset[str] = frozenset()
    irrelevant: frozenset[str] | None = None


@dataclass(frozen=True)
class LabelTable:
    """Per-lesion label sets from one ``source`` (``radminer-jsonl``, ``lesanet-json``, ...).

    ``labels`` fixes the label order when the source has one (LesaNet's ``term_list``).
    """

    source: str
    by_lesion: Mapping[str, LesionLabelSets]
    labels: tuple[str, ...] | None = None


def read_bookmark_map(path: Path) -> dict[tuple[str, int], str]:
    """``(report id, bookmark) → lesion id`` from a CSV with columns ``id, bookmark, lesion_id``."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise DataError(f"{path}: cannot read the bookmark map ({exc})") from exc
    out: dict[tuple[str, int], str] = {}
    for i, row in enumerate(rows):
        try:
            out[(row["id"], int(row["bookmark"]))] = row["lesion_id"]
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{path}, line {i + 2}: expected columns id, bookmark (an integer), lesion_id") from None
    return out


def read_radminer_jsonl(path: Path, bookmark_map: Mapping[tuple[str, int], str] | None = None) -> LabelTable:
    """radminer's output (one JSON object per line, see DESIGN.md) keyed by lesion id."""
    by_lesion: dict[str, LesionLabelSets] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read radminer's JSONL ({exc})") from exc
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            report, bookmark = str(obj["id"]), obj.get("bookmark")
            sets = LesionLabelSets(*(frozenset(obj.get(k) or ()) for k in ("labels", "uncertain", "negated")))
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{path}, line {n}: expected a JSON object with id and labels ({exc})") from exc
        if bookmark is None:
            key = report
        elif bookmark_map is not None:
            key = bookmark_map.get((report, int(bookmark)))
            if key is None:
                logger.warning(
                    "%s, line %d: report %s bookmark %s is not in the bookmark map",
                    path,
                    n,
                    report,
                    bookmark,
                )
                continue
        else:
            key = f"{report}#{bookmark}"
        by_lesion[key] = sets
    return LabelTable("radminer-jsonl", by_lesion)


def read_lesanet_labels(path: Path) -> LabelTable:
    """LesaNet's ``text_mined_labels_171_and_split.json``, as released."""
    from .records import _read_json

    data = _read_json(path)
    terms = data.get("term_list")
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise DataError(f"{path}: expected a list of label names under 'term_list'")
    by_lesion: dict[str, LesionLabelSets] = {}
    for split in ("train", "val", "test"):
        rows = data.get(f"{split}_lesion_idxs")
        relevant = data.get(f"{split}_relevant_labels")
        uncertain = data.get(f"{split}_uncertain_labels")
        irrelevant = data.get(f"{split}_irrelevant_labels")
        for key, value in ((f"{split}_lesion_idxs", rows), (f"{split}_relevant_labels", relevant)):
            if not isinstance(value, list):
                raise DataError(f"{path}: expected a list under {key!r}")
        for j, row in enumerate(rows):
            try:
                names = [
                    frozenset(terms[i] for i in part[j]) if part is not None else frozenset()
                    for part in (relevant, uncertain)
                ]
                extra = frozenset(terms[i] for i in irrelevant[j]) if irrelevant is not None else frozenset()
            except (IndexError, TypeError):
                raise DataError(f"{path}: {split} lesion {j} (DL_info row {row}) has a bad label index") from None
            by_lesion[str(row)] = LesionLabelSets(names[0], names[1] - names[0], frozenset(), extra)
    return LabelTable("lesanet-json", by_lesion, tuple(terms))


def read_truth(path: Path, expand=None) -> LabelTable:  # type: ignore[no-untyped-def]
    """lesion-synth's ``truth.csv`` (``lesion_id, labels``, ``;``-separated), optionally expanded.

    ``expand`` maps a label iterable to its closure (e.g. ``LabelGraph.expand``).
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise DataError(f"{path}: cannot read the truth file ({exc})") from exc
    by_lesion = {}
    for row in rows:
        labels = [x for x in row["labels"].split(";") if x]
        by_lesion[row["lesion_id"]] = LesionLabelSets(frozenset(expand(labels) if expand else labels))
    return LabelTable("synthetic-truth", by_lesion)


def store_labels(
    table: LabelTable,
    lesion_ids: Sequence[str],
    labels: Sequence[str],
    categories: Sequence[str],
    *,
    name: str,
) -> StoreLabels:
    """The ``uint8[N, K]`` matrices of ``lesion_ids`` (rows) over ``labels`` (columns).

    Lesions missing from ``table`` get all-zero rows (and a warning with their count).
    """
    column = {label: k for k, label in enumerate(labels)}
    n, k = len(lesion_ids), len(labels)
    has_irrelevant = any(s.irrelevant is not None for s in table.by_lesion.values())
    mats = {m: np.zeros((n, k), dtype=np.uint8) for m in ("positive", "uncertain", "negated", "irrelevant")}
    missing = 0
    for i, lesion in enumerate(lesion_ids):
        sets = table.by_lesion.get(lesion)
        if sets is None:
            missing += 1
            continue
        for m in mats:
            _fill(mats[m][i], column, getattr(sets, m) or ())
    if missing:
        logger.warning("%d of %d lesion(s) have no labels in the %s source", missing, n, table.source)
    return StoreLabels(
        name=name,
        labels=tuple(labels),
        categories=tuple(categories),
        source=table.source,
        positive=mats["positive"],
        uncertain=mats["uncertain"],
        negated=mats["negated"],
        irrelevant=mats["irrelevant"] if has_irrelevant else None,
    )


def _fill(row: np.ndarray, column: Mapping[str, int], labels: Iterable[str]) -> None:
    for label in labels:
        k = column.get(label)
        if k is not None:
            row[k] = 1
