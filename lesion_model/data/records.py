"""Lesion records: DeepLesion's ``DL_info.csv``, a manifest for NIfTI/DICOM, LesaNet's split file.

Every reader returns :class:`LesionRecord` objects and names the file, the row (1-based line of the
CSV, header = line 1), the column and what was expected for each bad row: all bad rows are raised
together as a :class:`BadRowsError`, or, when the caller passes a ``skipped`` list, left out and
listed there. Geometry is checked on read (:mod:`lesion_model.data.geometry`).
"""

from __future__ import annotations

import csv
import logging
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._files import read_json
from ..errors import BadRowsError, DataError, SkippedRow
from .geometry import box_problem, image_size_problem, interval_problem, spacing_problem

__all__ = [
    "DL_INFO_COLUMNS",
    "MANIFEST_COLUMNS",
    "LesionRecord",
    "find_dl_info_rows",
    "read_dl_info",
    "read_json_object",
    "read_lesanet_split",
    "read_manifest",
]

logger = logging.getLogger(__name__)

DL_INFO_COLUMNS = (
    "File_name",
    "Patient_index",
    "Study_index",
    "Series_ID",
    "Key_slice_index",
    "Measurement_coordinates",
    "Bounding_boxes",
    "Lesion_diameters_Pixel_",
    "Normalized_lesion_location",
    "Coarse_lesion_type",
    "Possibly_noisy",
    "Slice_range",
    "Spacing_mm_px_",
    "Image_size",
    "DICOM_windows",
    "Patient_gender",
    "Patient_age",
    "Train_Val_Test",
)
#: Required manifest columns; ``split`` and ``patient_id`` are optional.
MANIFEST_COLUMNS = ("lesion_id", "image", "key_slice", "x1", "y1", "x2", "y2")
_DL_SPLITS = {"1": "train", "2": "val", "3": "test"}


@dataclass(frozen=True)
class LesionRecord:
    """One lesion on one key slice, with where to find its CT.

    ``box`` is ``(x1, y1, x2, y2)`` in pixels of the key slice (pixel centres at integers);
    ``kind`` is ``"deeplesion"`` (``image`` is the series folder of PNGs, ``first``/``last`` the
    slice range) or ``"volume"`` (``image`` is a NIfTI/DICOM file or DICOM folder, ``key_slice``
    a 0-based index along z). ``row`` is the 0-based data row of the source table, ``origin``
    where it is (``"DL_info.csv, line 5"``), ``image_size`` the slice size (width, height) the
    table states (DeepLesion's ``Image_size``).
    """

    lesion_id: str
    patient_id: str
    study_id: str
    split: str
    image: Path
    kind: str
    key_slice: int
    box: tuple[float, float, float, float]
    row: int
    spacing_xy: tuple[float, float] | None = None
    slice_interval: float | None = None
    first: int | None = None
    last: int | None = None
    noisy: bool = False
    coarse_type: int = -1
    image_size: tuple[int, int] | None = None
    origin: str = ""


def _read_rows(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            header = reader.fieldnames or []
    except FileNotFoundError:
        raise DataError(f"{path}: file is missing") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a readable CSV ({exc})") from exc
    missing = [c for c in required if c not in header]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(header) or 'none'}")
    return rows


class _Cells:
    """Parses the cells of one CSV row, naming file, line and column in errors."""

    def __init__(self, path: Path, i: int, row: Mapping[str, str]) -> None:
        self.path, self.line, self.row = path, i + 2, row
        self.origin = f"{path}, line {self.line}"

    def _fail(self, column: str, expected: str) -> DataError:
        value = self.row.get(column)
        return DataError(f"{self.origin}, column {column}: expected {expected}, found {value!r}")

    def check(self, column: str, problem: str | None) -> None:
        """Fail on ``column`` when a geometry check found a ``problem`` (what was expected)."""
        if problem is not None:
            raise self._fail(column, problem)

    def get(self, column: str, convert: Callable[[str], Any], expected: str) -> Any:
        try:
            return convert((self.row.get(column) or "").strip())
        except (ValueError, TypeError, OverflowError):
            raise self._fail(column, expected) from None

    def floats(self, column: str, n: int) -> tuple[float, ...]:
        text = (self.row.get(column) or "").strip()
        try:
            values = tuple(float(x) for x in text.split(","))
        except ValueError:
            values = ()
        if len(values) != n:
            raise self._fail(column, f"{n} comma-separated numbers")
        return values

    def ints(self, column: str, n: int) -> tuple[int, ...]:
        values = self.floats(column, n)
        if not all(math.isfinite(v) and v.is_integer() for v in values):
            raise self._fail(column, f"{n} comma-separated integers")
        return tuple(int(v) for v in values)


def _parse_rows(
    path: Path,
    table: Sequence[Mapping[str, str]],
    parse: Callable[[_Cells], LesionRecord | None],
    skipped: list[SkippedRow] | None,
    id_column: str | None = None,
) -> list[LesionRecord]:
    """``parse`` every row (``None``: left out); bad rows go to ``skipped`` or raise together."""
    records: list[LesionRecord] = []
    bad: list[SkippedRow] = []
    for i, row in enumerate(table):
        cells = _Cells(path, i, row)
        try:
            record = parse(cells)
        except DataError as exc:
            lesion_id = (row.get(id_column) or "").strip() if id_column else str(i)
            bad.append(SkippedRow(lesion_id, str(exc)))
            continue
        if record is not None:
            records.append(record)
    if bad and skipped is None:
        raise BadRowsError(path, bad)
    if skipped is not None:
        skipped.extend(bad)
    return records


def read_lesanet_split(path: Path) -> dict[int, str]:
    """0-based DL_info row → split, from LesaNet's ``text_mined_labels_171_and_split.json``."""
    data = read_json_object(path)
    out: dict[int, str] = {}
    for split in ("train", "val", "test"):
        key = f"{split}_lesion_idxs"
        if not isinstance(data.get(key), list):
            raise DataError(f"{path}: expected a list under {key!r}")
        out.update((int(i), split) for i in data[key])
    return out


def read_json_object(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; a :class:`DataError` naming the file for anything else."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object")
    return data


def read_dl_info(
    path: Path,
    *,
    images: Path | None = None,
    splits: Mapping[int, str] | None = None,
    rows: Sequence[int] | None = None,
    skipped: list[SkippedRow] | None = None,
) -> list[LesionRecord]:
    """Lesions of DeepLesion's ``DL_info.csv``; lesion id = 0-based data row (as LesaNet counts).

    ``images`` is the ``Images_png`` folder (default: next to the CSV). The split comes from
    ``Train_Val_Test`` (1 train, 2 val, 3 test) unless ``splits`` (row → split, e.g. from
    :func:`read_lesanet_split`) is given; rows absent from ``splits`` are left out. ``rows``
    keeps only those data rows. Spacing, slice interval, image size and box are checked
    (:mod:`~lesion_model.data.geometry`); bad rows raise a :class:`BadRowsError` listing them
    all, or, with a ``skipped`` list, are left out and appended to it.
    """
    table = _read_rows(path, DL_INFO_COLUMNS)
    folder = images or path.parent / "Images_png"
    keep = set(rows) if rows is not None else None

    def parse(cells: _Cells) -> LesionRecord | None:
        i = cells.line - 2
        if (keep is not None and i not in keep) or (splits is not None and i not in splits):
            return None
        patient = cells.get("Patient_index", int, "an integer")
        study = cells.get("Study_index", int, "an integer")
        series = cells.get("Series_ID", int, "an integer")
        key = cells.get("Key_slice_index", int, "an integer")
        sx, sy, interval = cells.floats("Spacing_mm_px_", 3)
        cells.check("Spacing_mm_px_", spacing_problem((sx, sy)) or interval_problem(interval))
        first, last = cells.ints("Slice_range", 2)
        if not first <= key <= last:
            raise cells._fail("Slice_range", f"a range holding the key slice {key}")
        width, height = cells.floats("Image_size", 2)
        cells.check("Image_size", image_size_problem((width, height)))
        size = (int(width), int(height))
        box = cells.floats("Bounding_boxes", 4)
        cells.check("Bounding_boxes", box_problem(box, size))
        split = splits[i] if splits is not None else _DL_SPLITS.get(str(cells.row["Train_Val_Test"]).strip())
        if split is None:
            raise cells._fail("Train_Val_Test", "1 (train), 2 (val) or 3 (test)")
        return LesionRecord(
            lesion_id=str(i),
            patient_id=f"{patient:06d}",
            study_id=f"{patient:06d}_{study:02d}",
            split=split,
            image=folder / f"{patient:06d}_{study:02d}_{series:02d}",
            kind="deeplesion",
            key_slice=key,
            box=(box[0], box[1], box[2], box[3]),
            row=i,
            spacing_xy=(sx, sy),
            slice_interval=interval,
            first=first,
            last=last,
            noisy=cells.get("Possibly_noisy", lambda s: int(float(s)) != 0, "0 or 1"),
            coarse_type=cells.get("Coarse_lesion_type", lambda s: int(float(s)), "an integer"),
            image_size=size,
            origin=cells.origin,
        )

    records = _parse_rows(path, table, parse, skipped)
    logger.info("%s: %d lesion(s)", path, len(records))
    return records


def find_dl_info_rows(path: Path, file_name: str) -> list[int]:
    """0-based data rows of ``DL_info.csv`` whose ``File_name`` is ``file_name`` (such as
    ``000016_02_01_253.png``: series folder, underscore, key slice), unparsed."""
    return [i for i, row in enumerate(_read_rows(path, DL_INFO_COLUMNS)) if row["File_name"].strip() == file_name]


def read_manifest(path: Path, *, skipped: list[SkippedRow] | None = None) -> list[LesionRecord]:
    """Lesions of a manifest CSV for NIfTI volumes and DICOM series.

    Columns ``lesion_id, image, key_slice, x1, y1, x2, y2`` and optionally ``split`` (default
    ``train``) and ``patient_id`` (default: the image's name). ``image`` is a NIfTI file, a DICOM
    file or a folder with one DICOM series, relative to the manifest's folder; ``key_slice`` is
    the 0-based index along the volume's z axis (SimpleITK order). Boxes must be finite with
    ``x1 < x2``, ``y1 < y2`` (whether they lie inside the image is checked when it is read). Bad
    rows raise or go to ``skipped`` as in :func:`read_dl_info`.
    """
    table = _read_rows(path, MANIFEST_COLUMNS)

    def parse(cells: _Cells) -> LesionRecord:
        row = cells.row
        lesion_id = row["lesion_id"].strip()
        if not lesion_id:
            raise cells._fail("lesion_id", "a non-empty id")
        image = path.parent / row["image"].strip()
        split = (row.get("split") or "train").strip()
        if split not in ("train", "val", "test"):
            raise cells._fail("split", "train, val or test")
        patient = (row.get("patient_id") or "").strip() or image.name
        x1, y1, x2, y2 = (cells.get(c, float, "a number") for c in ("x1", "y1", "x2", "y2"))
        problem = box_problem((x1, y1, x2, y2))
        if problem is not None:
            raise DataError(f"{cells.origin}, columns x1, y1, x2, y2: expected {problem}, found {x1}, {y1}, {x2}, {y2}")
        return LesionRecord(
            lesion_id=lesion_id,
            patient_id=patient,
            study_id=patient,
            split=split,
            image=image,
            kind="volume",
            key_slice=cells.get("key_slice", int, "a 0-based integer slice index"),
            box=(x1, y1, x2, y2),
            row=cells.line - 2,
            origin=cells.origin,
        )

    records = _parse_rows(path, table, parse, skipped, id_column="lesion_id")
    dupes = sorted(x for x, n in Counter(r.lesion_id for r in records).items() if n > 1)
    if dupes:
        raise DataError(f"{path}: column lesion_id repeats {', '.join(dupes[:10])}")
    return records
