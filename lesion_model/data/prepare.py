"""What ``lesion-prepare`` does: CT lesions → a patch store (see :mod:`lesion_model.data.store`).

The work is cut into chunks of lesions; each chunk is computed by a worker process and saved in
``<OUT>.work/`` as it completes, so an interrupted run resumes where it stopped (the work folder
remembers the options and is discarded when they change). When all chunks are there, the store is
assembled in a temporary folder and renamed into place; the work folder is then removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from .._checks import window_ok
from ..errors import ConfigError, DataError, SkippedRow
from .labels import (
    LabelTable,
    read_bookmark_map,
    read_lesanet_labels,
    read_radminer_jsonl,
    read_truth,
    store_labels,
)
from .preprocess import DEFAULT_WINDOW, extract_patch, to_uint8
from .records import LesionRecord, read_dl_info, read_lesanet_split, read_manifest
from .store import PATCH_SHAPE, write_store
from .volumes import ArrayVolume, PngSeries, Volume, read_volume

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PrepareOptions",
    "check_join",
    "check_patient_splits",
    "prepare_store",
    "read_label_source",
    "truth_labels",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrepareOptions:
    """How patches are cut and stored (recorded in the work folder and in ``meta.json``).

    ``dtype``: ``int16`` HU, or ``uint8`` windowed by ``window``; ``on_error``: ``raise`` (a bad
    row or slice stops the run) or ``skip`` (the lesion is left out and listed). Checked on
    construction: a :class:`~lesion_model.errors.ConfigError` names the option and its range.
    """

    dtype: Literal["int16", "uint8"] = "int16"
    window: tuple[float, float] = DEFAULT_WINDOW
    replicate_key_only: bool = False
    on_error: Literal["raise", "skip"] = "raise"

    def __post_init__(self) -> None:
        checks = (
            ("dtype", self.dtype in ("int16", "uint8"), "int16 or uint8"),
            ("window", window_ok(self.window), "two HU values LO < HI, each from -100000 to 100000"),
            ("replicate_key_only", isinstance(self.replicate_key_only, bool), "true or false"),
            ("on_error", self.on_error in ("raise", "skip"), "raise or skip"),
        )
        for name, ok, expected in checks:
            if not ok:
                raise ConfigError.out_of_range(name, expected, getattr(self, name))


def truth_labels(path: Path) -> LabelTable:
    """lesion-synth's truth, expanded to ancestors with the shipped ontology."""
    from radminer.ontology import load_ontology

    return read_truth(path, load_ontology().expand)


def check_patient_splits(records: Sequence[LesionRecord]) -> None:
    """Refuse patients whose lesions fall in several splits (listing them)."""
    seen: dict[str, set[str]] = {}
    for record in records:
        seen.setdefault(record.patient_id, set()).add(record.split)
    shared = sorted(p for p, splits in seen.items() if len(splits) > 1)
    if shared:
        listed = ", ".join(f"{p} ({'/'.join(sorted(seen[p]))})" for p in shared[:20])
        more = f" and {len(shared) - 20} more" if len(shared) > 20 else ""
        raise DataError(f"{len(shared)} patient(s) are in several splits: {listed}{more}")


class _SeriesCache:
    """The volume of the current series; its decoded slices are shared by its lesions."""

    def __init__(self, options: PrepareOptions) -> None:
        self.options = options
        self.image: Path | None = None
        self.slices: dict[int, np.ndarray] = {}
        self.array: ArrayVolume | None = None

    def volume(self, record: LesionRecord) -> Volume:
        if record.image != self.image:
            self.image, self.slices, self.array = record.image, {}, None
        if record.kind == "deeplesion":
            # read_dl_info sets the geometry of every deeplesion record
            assert record.spacing_xy is not None and record.slice_interval is not None
            assert record.first is not None and record.last is not None
            return PngSeries(
                record.image,
                record.spacing_xy,
                record.slice_interval,
                record.first,
                record.last,
                record.key_slice,
                replicate_key_only=self.options.replicate_key_only,
                cache=self.slices,
                size=record.image_size,
            )
        if self.array is None:
            self.array = read_volume(record.image)
        return self.array


def _work_chunk(records: Sequence[LesionRecord], options: PrepareOptions, path: Path) -> Path:
    """Cut the patches of ``records`` into ``path`` (an .npz), atomically."""
    out_dtype = np.int16 if options.dtype == "int16" else np.uint8
    patches = np.zeros((len(records), *PATCH_SHAPE), dtype=out_dtype)
    boxes = np.zeros((len(records), 4), dtype=np.float32)
    flags = np.zeros(len(records), dtype=np.uint8)
    ok = np.zeros(len(records), dtype=bool)
    errors: list[str] = []
    series = _SeriesCache(options)
    for i, record in enumerate(records):
        try:
            volume = series.volume(record)
            patch = extract_patch(volume, record.key_slice, record.box)
        except DataError as exc:
            reason = f"{record.origin}: {exc}"
            if options.on_error == "raise":
                raise DataError(reason) from exc
            errors.append(_skipped_line(SkippedRow(record.lesion_id, reason)))
            continue
        if options.dtype == "int16":
            patches[i] = np.clip(np.rint(patch.hu), -32768, 32767)
        else:
            patches[i] = to_uint8(patch.hu, options.window)
        boxes[i], flags[i], ok[i] = patch.box, patch.replicated, True
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, patches=patches, boxes=boxes, replicated=flags, ok=ok, errors=np.asarray(errors, dtype=str))
    os.replace(tmp, path)
    return path


def _fingerprint(source: Path, records: Sequence[LesionRecord], options: PrepareOptions, chunk: int) -> str:
    """Digest of all the chunks depend on: the source, every field of every record (image, key
    slice, box, spacing, slice interval and range, split, ...; paths resolved, so that how the
    source path is typed does not matter), the options and the chunk size."""
    digest = hashlib.sha256(json.dumps([str(source.resolve()), asdict(options), chunk]).encode())
    for record in records:
        fields = {**asdict(record), "image": str(record.image.resolve()), "origin": None}
        digest.update(json.dumps(fields, default=str).encode())
    return digest.hexdigest()[:16]


def _run_chunks(
    records: Sequence[LesionRecord], work: Path, options: PrepareOptions, chunk: int, jobs: int, progress: bool
) -> list[Path]:
    from tqdm import tqdm

    spans = [(i, records[i : i + chunk]) for i in range(0, len(records), chunk)]
    paths = [work / f"chunk_{i // chunk:05d}.npz" for i, _ in spans]
    todo = [(span, p) for (_, span), p in zip(spans, paths, strict=True) if not p.is_file()]
    done = len(records) - sum(len(span) for span, _ in todo)
    if done:
        logger.info("resuming: %d of %d lesions already done in %s", done, len(records), work)
    with tqdm(total=len(records), initial=done, unit="lesion", desc="lesion-prepare", disable=not progress) as bar:
        if jobs <= 1:
            for span, path in todo:
                _work_chunk(span, options, path)
                bar.update(len(span))
        else:
            with ProcessPoolExecutor(jobs) as pool:
                futures = {pool.submit(_work_chunk, span, options, path): len(span) for span, path in todo}
                for future in as_completed(futures):
                    future.result()
                    bar.update(futures[future])
    return paths


def _skipped_line(row: SkippedRow) -> str:
    """A line of ``skipped.tsv``: lesion id, tab, reason (on one line)."""
    return "\t".join(" ".join(x.split()) for x in (row.lesion_id, row.reason))


def _load_records(source: Path, split_file: Path | None, skipped: list[SkippedRow] | None) -> list[LesionRecord]:
    if source.suffix.lower() != ".csv":
        raise DataError(f"{source}: expected DL_info.csv or a manifest .csv")
    try:
        with source.open(encoding="utf-8") as handle:
            header = handle.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{source}: not a readable CSV ({exc})") from exc
    if "Key_slice_index" in header:
        splits = read_lesanet_split(split_file) if split_file else None
        return read_dl_info(source, splits=splits, skipped=skipped)
    return read_manifest(source, skipped=skipped)


#: How each label source is keyed, for the hint of a join that matches too few lesions.
_KEYS = {
    "radminer-jsonl": "radminer JSONL lines join by their id, or by id and bookmark through --bookmarks "
    "(a CSV id,bookmark,lesion_id such as lesion-synth's bookmarks.csv); without --bookmarks a line with "
    "a bookmark is keyed 'id#bookmark'",
    "lesanet-json": "LesaNet's file joins by DL_info row (its lesion index)",
    "synthetic-truth": "truth.csv joins by its lesion_id column",
}


def check_join(table: LabelTable, records: Sequence[LesionRecord], source: Path, min_labelled: float) -> None:
    """Refuse labels that match fewer than ``min_labelled`` of the lesions, showing both key formats."""
    if table.source == "none":
        logger.warning("no label file: the store's lesions have no labels (has_labels = 0)")
        return
    matched = sum(1 for r in records if r.lesion_id in table.by_lesion)
    if matched >= min_labelled * len(records):
        return
    label_key = next(iter(table.by_lesion), "")
    kind = "DL_info lesion ids are 0-based data rows" if records[0].kind == "deeplesion" else "manifest lesion ids"
    where = table.path or f"the {table.source} labels"
    raise DataError(
        f"{where}: its labels match {matched} of the {len(records)} lesions of {source} "
        f"(fewer than {min_labelled:.0%}): label keys look like {label_key!r}, lesion ids like "
        f"{records[0].lesion_id!r}. {_KEYS.get(table.source, 'labels join by lesion id')}; {kind}. "
        "(--min-labelled lowers the share required)"
    )


def _select_labels(table: LabelTable, label_set: str) -> tuple[list[str], list[str], str]:
    from radminer.ontology import load_ontology, select_labels

    graph = load_ontology()
    if table.labels is not None:
        labels, name = list(table.labels), "lesanet171" if len(table.labels) == 171 else "source"
    elif label_set == "observed":
        present = set().union(*(s.positive for s in table.by_lesion.values())) if table.by_lesion else set()
        labels, name = [x for x in graph.labels if x in present], "observed"
    else:
        labels, name = list(select_labels(graph, label_set).labels), label_set
    categories = [graph.category(x) if x in graph else "unknown" for x in labels]
    return labels, [c or "unknown" for c in categories], name


def prepare_store(
    source: Path,
    out: Path,
    *,
    labels: LabelTable,
    label_set: str = "lesanet171",
    split_file: Path | None = None,
    options: PrepareOptions = PrepareOptions(),
    jobs: int = 1,
    chunk: int = 64,
    limit: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
    min_labelled: float = 0.5,
) -> Path:
    """Build the patch store of ``source`` (DL_info.csv or a manifest) at ``out``; see the module doc.

    ``label_set`` is a radminer label-set spec (``lesanet171``, ``all``, ...) or ``observed`` (the
    labels positive for some lesion); a source with its own label list (LesaNet's) keeps it.
    Bad rows of ``source`` raise a :class:`BadRowsError` listing them all before any work, or,
    with ``options.on_error == "skip"``, are left out and listed in ``skipped.tsv``. Labels that
    match fewer than ``min_labelled`` of the lesions are refused (:func:`check_join`).
    """
    source, out = Path(source), Path(out)
    if out.exists() and not overwrite:
        raise DataError(f"{out}: already exists (pass --overwrite to replace it)")
    bad_rows: list[SkippedRow] | None = [] if options.on_error == "skip" else None
    records = _load_records(source, split_file, bad_rows)[:limit]
    if not records:
        raise DataError(f"{source}: no lesions to prepare")
    check_patient_splits(records)
    check_join(labels, records, source, min_labelled)
    names, categories, name = _select_labels(labels, label_set)  # a bad label set fails before the work
    work = out.with_name(f"{out.name}.work")
    stamp = _fingerprint(source, records, options, chunk)
    if (work / "fingerprint").is_file() and (work / "fingerprint").read_text() != stamp:
        logger.warning("%s was made with other inputs or options: starting over", work)
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / "fingerprint").write_text(stamp)
    paths = _run_chunks(records, work, options, chunk, jobs, progress)
    kept, boxes, flags = [], [], []
    errors = [_skipped_line(row) for row in bad_rows or ()]
    for path in paths:
        with np.load(path) as part:
            kept.append(part["ok"])
            boxes.append(part["boxes"])
            flags.append(part["replicated"])
            errors.extend(str(e) for e in part["errors"])
    ok = np.concatenate(kept)
    rows = [r for r, good in zip(records, ok, strict=True) if good]
    index = _index_table(rows, np.concatenate(boxes)[ok], np.concatenate(flags)[ok], source)
    matrices = store_labels(labels, index["lesion_id"].tolist(), names, categories, name=name)
    index["has_labels"] = [int(x in labels.by_lesion) for x in index["lesion_id"]]

    def chunks() -> Iterator[np.ndarray]:
        for path in paths:
            with np.load(path) as part:
                yield part["patches"][part["ok"]]

    meta = {
        "window": list(options.window) if options.dtype == "uint8" else None,
        "replicate_key_only": options.replicate_key_only,
        "source_table": str(source),
        "skipped": len(errors),
    }
    write_store(
        out,
        patch_chunks=chunks(),
        index=index,
        labels=matrices,
        dtype=options.dtype,
        extra_meta=meta,
        extra_files={"skipped.tsv": "lesion_id\terror\n" + "".join(f"{e}\n" for e in errors)} if errors else None,
        overwrite=overwrite,
    )
    if errors:
        logger.warning("skipped %d lesion(s); see %s", len(errors), out / "skipped.tsv")
    shutil.rmtree(work, ignore_errors=True)
    return out


def _index_table(records: Sequence[LesionRecord], boxes: np.ndarray, flags: np.ndarray, source: Path) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        {
            "lesion_id": [r.lesion_id for r in records],
            "patient_id": [r.patient_id for r in records],
            "study_id": [r.study_id for r in records],
            "split": [r.split for r in records],
            "x1": boxes[:, 0].astype(float) if len(boxes) else [],
            "y1": boxes[:, 1].astype(float) if len(boxes) else [],
            "x2": boxes[:, 2].astype(float) if len(boxes) else [],
            "y2": boxes[:, 3].astype(float) if len(boxes) else [],
            "source": [
                str(r.image / f"{r.key_slice:03d}.png") if r.kind == "deeplesion" else str(r.image) for r in records
            ],
            "key_slice": [r.key_slice for r in records],
            "noisy": [int(r.noisy) for r in records],
            "replicated": flags.astype(int),
            "coarse_type": [r.coarse_type for r in records],
            "row": [r.row for r in records],
        }
    )


def read_label_source(path: Path | None, bookmarks: Path | None) -> LabelTable:
    """The labels of ``path`` by its suffix: radminer .jsonl (joined through ``bookmarks`` when
    given), LesaNet .json or lesion-synth's truth .csv; no path, no labels."""
    if path is None:
        return LabelTable("none", {})
    if path.suffix == ".jsonl":
        from radminer.ontology import load_ontology

        return read_radminer_jsonl(path, read_bookmark_map(bookmarks) if bookmarks else None, known=load_ontology())
    if path.suffix == ".json":
        return read_lesanet_labels(path)
    if path.suffix == ".csv":
        return truth_labels(path)
    raise DataError(f"{path}: expected radminer .jsonl, LesaNet .json or truth .csv labels")
