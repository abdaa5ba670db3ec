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
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError
from .records import read_json_object
from .store import StoreLabels

__all__ = [
    "LabelTable",
    "LesionLabelSets",
    "lesion_key",
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

    ``labels`` fixes the label order when the source has one (LesaNet's ``term_list``); ``path``
    is the file read (``None``: no labels given).
    """

    source: str
    by_lesion: Mapping[str, LesionLabelSets]
    labels: tuple[str, ...] | None = None
    path: Path | None = None


def _csv_rows(path: Path, what: str) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read the {what} ({exc})") from None


def read_bookmark_map(path: Path) -> dict[tuple[str, int], str]:
    """``(report id, bookmark) → lesion id`` from a CSV with columns ``id, bookmark, lesion_id``."""
    out: dict[tuple[str, int], str] = {}
    for i, row in enumerate(_csv_rows(path, "bookmark map")):
        try:
            key, lesion = (row["id"], int(row["bookmark"])), row["lesion_id"]
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{path}, line {i + 2}: expected columns id, bookmark (an integer), lesion_id") from None
        if out.setdefault(key, lesion) != lesion:
            raise DataError(f"{path}, line {i + 2}: report {key[0]} bookmark {key[1]} maps to two lesions")
    return out


def _label_list(obj: Mapping[str, object], field: str, where: str, *, required: bool) -> frozenset[str]:
    value = obj.get(field)
    if value is None and not required:
        return frozenset()
    if field not in obj:
        raise DataError(f"{where}: field {field!r} is missing (expected a list of label names)")
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise DataError(f"{where}: field {field!r}: expected a list of label names, found {json.dumps(value)[:80]}")
    return frozenset(value)


def _jsonl_entry(line: str, where: str, known: Container[str] | None) -> tuple[str, int | None, LesionLabelSets]:
    """Report id, bookmark and label sets of one radminer JSONL line, validated."""
    try:
        obj = json.loads(line)
    except ValueError as exc:
        raise DataError(f"{where}: expected a JSON object ({exc})") from None
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object with id and labels, found {type(obj).__name__}")
    report, bookmark = obj.get("id"), obj.get("bookmark")
    if isinstance(report, bool) or not isinstance(report, str | int) or report == "":
        raise DataError(f"{where}: field 'id': expected a report id (a string or integer), found {report!r}")
    if bookmark is not None and (isinstance(bookmark, bool) or not isinstance(bookmark, int) or bookmark < 0):
        raise DataError(f"{where}: field 'bookmark': expected null or an integer ≥ 0, found {bookmark!r}")
    sets = LesionLabelSets(
        _label_list(obj, "labels", where, required=True),
        _label_list(obj, "uncertain", where, required=False),
        _label_list(obj, "negated", where, required=False),
    )
    if known is not None:
        unknown = sorted(x for x in sets.positive | sets.uncertain | sets.negated if x not in known)
        if unknown:
            raise DataError(
                f"{where}: unknown label(s) {', '.join(map(repr, unknown[:5]))}: not in the ontology "
                "(were the labels mined with another one?)"
            )
    return str(report), bookmark, sets


def lesion_key(
    report: str, bookmark: int | None, bookmark_map: Mapping[tuple[str, int], str] | None, where: str
) -> str:
    """The lesion id of a radminer JSONL line: its id, its bookmark mapped, or ``"<id>#<bookmark>"``."""
    if bookmark is None:
        return report
    if bookmark_map is None:
        return f"{report}#{bookmark}"
    mapped = bookmark_map.get((report, bookmark))
    if mapped is None:
        raise DataError(f"{where}: report {report!r} bookmark {bookmark} is not in the bookmark map")
    return mapped


def read_radminer_jsonl(
    path: Path,
    bookmark_map: Mapping[tuple[str, int], str] | None = None,
    *,
    known: Container[str] | None = None,
) -> LabelTable:
    """radminer's output (one JSON object per line, see docs/cli.md) keyed by lesion id.

    Every line needs ``id`` and a ``labels`` list (``uncertain``, ``negated`` optional lists);
    with ``known`` (e.g. a :class:`~radminer.ontology.graph.LabelGraph`) every label must be in it. A
    bookmark missing from ``bookmark_map``, a lesion given different labels on two lines, a
    line that is not UTF-8 JSON and a file without lines are errors naming the file and line.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read radminer's JSONL ({exc.strerror or exc})") from None
    by_lesion: dict[str, LesionLabelSets] = {}
    first_line: dict[str, int] = {}
    for n, raw in enumerate(data.removeprefix(b"\xef\xbb\xbf").splitlines(), start=1):
        where = f"{path}, line {n}"
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{where}, column {exc.start + 1}: expected UTF-8 text, found byte 0x{raw[exc.start]:02x}"
            ) from None
        if not line.strip():
            continue
        report, bookmark, sets = _jsonl_entry(line, where, known)
        key = lesion_key(report, bookmark, bookmark_map, where)
        if key in by_lesion and by_lesion[key] != sets:
            raise DataError(f"{where}: lesion {key!r} already has other labels on line {first_line[key]}")
        by_lesion[key] = sets
        first_line.setdefault(key, n)
    if not by_lesion:
        raise DataError(f"{path}: no labels (the file holds no JSON lines)")
    return LabelTable("radminer-jsonl", by_lesion, path=path)


def read_lesanet_labels(path: Path) -> LabelTable:
    """LesaNet's ``text_mined_labels_171_and_split.json``, as released."""
    data = read_json_object(path)
    terms = data.get("term_list")
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise DataError(f"{path}: expected a list of label names under 'term_list'")
    by_lesion: dict[str, LesionLabelSets] = {}
    for split in ("train", "val", "test"):
        rows = data.get(f"{split}_lesion_idxs")
        relevant = data.get(f"{split}_relevant_labels")
        uncertain = data.get(f"{split}_uncertain_labels")
        irrelevant = data.get(f"{split}_irrelevant_labels")
        if not isinstance(rows, list):
            raise DataError(f"{path}: expected a list under {f'{split}_lesion_idxs'!r}")
        if not isinstance(relevant, list):
            raise DataError(f"{path}: expected a list under {f'{split}_relevant_labels'!r}")
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
    if not by_lesion:
        raise DataError(f"{path}: no labels (its lesion lists are empty)")
    return LabelTable("lesanet-json", by_lesion, tuple(terms), path=path)


def read_truth(path: Path, expand: Callable[[Iterable[str]], Iterable[str]] | None = None) -> LabelTable:
    """lesion-synth's ``truth.csv`` (``lesion_id, labels``, ``;``-separated), optionally expanded.

    ``expand`` maps a label iterable to its closure (e.g. ``LabelGraph.expand``).
    """
    by_lesion = {}
    for i, row in enumerate(_csv_rows(path, "truth file")):
        if not isinstance(row.get("lesion_id"), str) or not isinstance(row.get("labels"), str):
            raise DataError(f"{path}, line {i + 2}: expected columns lesion_id and labels (';'-separated)")
        labels = [x for x in row["labels"].split(";") if x]
        by_lesion[row["lesion_id"]] = LesionLabelSets(frozenset(expand(labels) if expand else labels))
    if not by_lesion:
        raise DataError(f"{path}: no labels (the file holds no rows)")
    return LabelTable("synthetic-truth", by_lesion, path=path)


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
    if missing and table.source != "none":
        where = table.path or f"the {table.source} labels"
        logger.warning("%d of %d lesion(s) have no labels in %s", missing, n, where)
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
