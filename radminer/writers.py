"""Write extraction results: JSONL (DESIGN.md's contract), CSV, Parquet and NPZ label matrices.

A writer receives, report by report, the id and the :class:`~radminer.mentions.LesionLabels`
rows of that report; :meth:`Writer.close` finishes the file. Writers write to an open
handle (text for JSONL/CSV, binary for Parquet/NPZ): pair them with
:func:`radminer.io.atomic_output` so that only complete files appear.
"""

from __future__ import annotations

import csv
import json
from abc import ABC, abstractmethod
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import InputError, RadminerError
from .labelspace import LabelSpace
from .mentions import LesionLabels

__all__ = [
    "BINARY_FORMATS",
    "CSV_COLUMNS",
    "FORMATS",
    "RECORD_FIELDS",
    "CsvWriter",
    "JsonlWriter",
    "NpzWriter",
    "ParquetWriter",
    "Writer",
    "format_for",
    "make_writer",
]

#: Output formats, and those written to a binary handle.
FORMATS: tuple[str, ...] = ("jsonl", "csv", "parquet", "npz")
BINARY_FORMATS = frozenset({"parquet", "npz"})
_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".npz": "npz"}

#: Keys of a JSONL record, in order; also the Parquet and DataFrame columns.
RECORD_FIELDS: tuple[str, ...] = ("id", "bookmark", "sentence", "labels", "uncertain", "negated", "mentions")
#: Columns of the CSV output (one row per lesion; label lists joined by ``|``).
CSV_COLUMNS: tuple[str, ...] = RECORD_FIELDS[:-1]
_LIST_FIELDS = ("labels", "uncertain", "negated")


def format_for(path: str | Path) -> str | None:
    """The output format that the suffix of ``path`` names, ``None`` when it names none."""
    return _SUFFIXES.get(Path(path).suffix.lower())


class Writer(ABC):
    """Writes the rows of each report in turn; :meth:`close` completes the output."""

    def __init__(self, handle: IO[Any]) -> None:
        self.handle = handle
        self.rows = 0

    @abstractmethod
    def write(self, report_id: str, rows: Sequence[LesionLabels]) -> None:
        """Write the rows of one report."""

    def close(self) -> None:
        """Complete the output (the handle itself stays open)."""
        self.handle.flush()


class JsonlWriter(Writer):
    """One JSON object per row, keys in the order of :data:`RECORD_FIELDS`, UTF-8 as is."""

    _encode = json.JSONEncoder(ensure_ascii=False).encode

    def write(self, report_id: str, rows: Sequence[LesionLabels]) -> None:
        encode = self._encode
        self.handle.write("".join(encode(row.to_dict(report_id)) + "\n" for row in rows))
        self.rows += len(rows)


class CsvWriter(Writer):
    """One CSV row per lesion: :data:`CSV_COLUMNS`, labels joined by ``|``, no bookmark as empty."""

    def __init__(self, handle: IO[str]) -> None:
        super().__init__(handle)
        self._csv = csv.writer(handle, lineterminator="\n")
        self._csv.writerow(CSV_COLUMNS)

    def write(self, report_id: str, rows: Sequence[LesionLabels]) -> None:
        self._csv.writerows(
            (
                report_id,
                "" if row.bookmark is None else row.bookmark,
                row.sentence,
                "|".join(row.labels),
                "|".join(row.uncertain),
                "|".join(row.negated),
            )
            for row in rows
        )
        self.rows += len(rows)


class ParquetWriter(Writer):
    """Parquet with the columns of :data:`RECORD_FIELDS`, written in row groups of ``batch_rows``.

    ``mentions`` is a list of structs (label, text, start, end, status, trigger,
    trigger_start, trigger_end). Needs pyarrow (the ``parquet`` extra).
    """

    def __init__(self, handle: IO[bytes], *, batch_rows: int = 65_536) -> None:
        super().__init__(handle)
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise RadminerError(
                "writing Parquet needs pyarrow: install the extra with pip install 'radminer[parquet]'"
            ) from exc
        self._pa = pa
        strings = pa.list_(pa.string())
        mention = pa.struct(
            [
                ("label", pa.string()),
                ("text", pa.string()),
                ("start", pa.int64()),
                ("end", pa.int64()),
                ("status", pa.string()),
                ("trigger", pa.string()),
                ("trigger_start", pa.int64()),
                ("trigger_end", pa.int64()),
            ]
        )
        self._schema = pa.schema(
            [
                ("id", pa.string()),
                ("bookmark", pa.int32()),
                ("sentence", pa.string()),
                *[(name, strings) for name in _LIST_FIELDS],
                ("mentions", pa.list_(mention)),
            ]
        )
        self._file = pq.ParquetWriter(handle, self._schema)
        self._batch_rows = batch_rows
        self._columns: dict[str, list[Any]] = {name: [] for name in RECORD_FIELDS}

    def write(self, report_id: str, rows: Sequence[LesionLabels]) -> None:
        columns = self._columns
        for row in rows:
            columns["id"].append(report_id)
            columns["bookmark"].append(row.bookmark)
            columns["sentence"].append(row.sentence)
            columns["labels"].append(row.labels)
            columns["uncertain"].append(row.uncertain)
            columns["negated"].append(row.negated)
            columns["mentions"].append([vars(m) for m in row.mentions])
        self.rows += len(rows)
        if len(columns["id"]) >= self._batch_rows:
            self._flush()

    def _flush(self) -> None:
        self._file.write_table(self._pa.Table.from_pydict(self._columns, schema=self._schema))
        self._columns = {name: [] for name in RECORD_FIELDS}

    def close(self) -> None:
        if self._columns["id"] or not self.rows:
            self._flush()
        self._file.close()


class NpzWriter(Writer):
    """NumPy ``.npz``: ``ids`` [N], ``bookmarks`` int32 [N] (-1: none), ``labels`` [K] (the
    names of ``space``), and uint8 matrices ``positive``, ``uncertain``, ``negated`` [N, K].

    Only the matrix rows (K bytes each) and the ids are kept in memory until :meth:`close`.
    Labels outside ``space`` are left out.
    """

    def __init__(self, handle: IO[bytes], *, space: LabelSpace) -> None:
        super().__init__(handle)
        self.space = space
        self._ids: list[str] = []
        self._bookmarks = array("i")
        self._matrices = {"positive": bytearray(), "uncertain": bytearray(), "negated": bytearray()}

    def write(self, report_id: str, rows: Sequence[LesionLabels]) -> None:
        vector = self.space.vector
        positive, uncertain, negated = self._matrices.values()
        for row in rows:
            self._ids.append(report_id)
            self._bookmarks.append(-1 if row.bookmark is None else row.bookmark)
            positive += vector(row.labels).tobytes()
            uncertain += vector(row.uncertain).tobytes()
            negated += vector(row.negated).tobytes()
        self.rows += len(rows)

    def close(self) -> None:
        shape = (self.rows, len(self.space))
        np.savez_compressed(
            self.handle,
            ids=np.array(self._ids, dtype=str),
            bookmarks=np.frombuffer(self._bookmarks, dtype=np.intc).astype(np.int32),
            labels=np.array(self.space.labels, dtype=str),
            **{name: np.frombuffer(data, dtype=np.uint8).reshape(shape) for name, data in self._matrices.items()},
        )


def make_writer(fmt: str, handle: IO[Any], *, space: LabelSpace | None = None) -> Writer:
    """A writer of format ``fmt`` (one of :data:`FORMATS`) on ``handle``; NPZ needs ``space``."""
    if fmt == "jsonl":
        return JsonlWriter(handle)
    if fmt == "csv":
        return CsvWriter(handle)
    if fmt == "parquet":
        return ParquetWriter(handle)
    if fmt == "npz":
        if space is None:
            raise InputError("the npz format needs a label space (the columns of its matrices)")
        return NpzWriter(handle, space=space)
    raise InputError(f"unknown output format {fmt!r}: expected one of {', '.join(FORMATS)}")
