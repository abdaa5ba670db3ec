"""Write extraction results: JSONL (the record of docs/cli.md), CSV, a CheXpert-style wide CSV, Parquet
and NPZ label matrices.

A writer receives, report by report, the id and the :class:`~radminer.text.mentions.LesionLabels`
rows of that report (or its :class:`~radminer.text.mentions.SentenceLabels`, ``per="sentence"``: every
format but NPZ); :meth:`Writer.close` finishes the file. Each writer has an
:class:`Encoder` (picklable) that turns a report's rows into what the writer writes, so
that worker processes can do that part (see :func:`radminer.engines.local.extract_texts`). Writers write to an open
handle (text for JSONL/CSV, binary for Parquet/NPZ): pair them with
:func:`radminer.files.atomic_output` so that only complete files appear.
"""

from __future__ import annotations

import csv
import io
import json
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import InputError, RadminerError
from ..ontology.labelspace import LabelSpace
from ..text.mentions import LesionLabels, Mention, SentenceLabels, per_sentence

__all__ = [
    "BINARY_FORMATS",
    "FORMATS",
    "RECORD_FIELDS",
    "SENTENCE_FIELDS",
    "SUFFIXES",
    "Encoded",
    "Encoder",
    "JsonlEncoder",
    "ParquetWriter",
    "TextWriter",
    "Writer",
    "format_for",
    "make_writer",
]

#: Output formats, and those written to a binary handle.
FORMATS: tuple[str, ...] = ("jsonl", "csv", "wide-csv", "parquet", "npz")
BINARY_FORMATS = frozenset({"parquet", "npz"})
#: File name suffixes and the formats they name.
SUFFIXES: dict[str, str] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet", ".npz": "npz"}

#: Keys of a JSONL record, in order; also the Parquet and DataFrame columns.
RECORD_FIELDS: tuple[str, ...] = ("id", "bookmark", "sentence", "labels", "uncertain", "negated", "mentions")
#: Columns of the CSV output (one row per lesion; label lists joined by ``|``).
_CSV_COLUMNS: tuple[str, ...] = RECORD_FIELDS[:-1]
#: Keys of a JSONL record per sentence (``per="sentence"``), in order; also its Parquet and DataFrame columns.
SENTENCE_FIELDS: tuple[str, ...] = (
    "id", "sentence_index", "start", "end", "section", "sentence", "labels", "uncertain", "negated", "mentions",
)  # fmt: skip
#: Columns of the CSV output per sentence.
_SENTENCE_CSV_COLUMNS: tuple[str, ...] = SENTENCE_FIELDS[:-1]
_LIST_FIELDS = ("labels", "uncertain", "negated")


def format_for(path: str | Path) -> str | None:
    """The output format that the suffix of ``path`` names, ``None`` when it names none."""
    return SUFFIXES.get(Path(path).suffix.lower())


#: What an encoder makes of one report: its number of rows and the payload its writer takes.
Encoded = tuple[int, Any]


class Encoder:
    """Turns the rows of one report into what its :class:`Writer` writes.

    Encoders are small picklable objects, so that worker processes can encode (the costly
    part) and the writing process only writes.
    """

    def __call__(self, report_id: str, rows: Sequence[LesionLabels]) -> Encoded:
        raise NotImplementedError


class Writer(ABC):
    """Writes the rows of each report in turn; :meth:`close` completes the output."""

    def __init__(self, handle: IO[Any], encoder: Encoder) -> None:
        self.handle = handle
        self.encoder = encoder
        self.rows = 0

    def write(self, report_id: str, rows: Sequence[LesionLabels]) -> None:
        """Write the rows of one report."""
        self.write_encoded(self.encoder(report_id, rows))

    def write_encoded(self, encoded: Encoded) -> None:
        """Write what :attr:`encoder` made of one report."""
        count, payload = encoded
        self._write(payload)
        self.rows += count

    @abstractmethod
    def _write(self, payload: Any) -> None: ...

    def close(self) -> None:
        """Complete the output (the handle itself stays open)."""
        self.handle.flush()


class TextWriter(Writer):
    """Writes the text that its encoder makes."""

    def _write(self, payload: str) -> None:
        self.handle.write(payload)


class JsonlEncoder(Encoder):
    """One JSON object per row, keys in the order of :data:`RECORD_FIELDS`, UTF-8 as is.

    Writes the bytes ``json.dumps(row.to_dict(report_id), ensure_ascii=False)`` would, from
    strings built directly (labels encoded once each, and a mention that rows share once a report).
    """

    _encode = json.JSONEncoder(ensure_ascii=False).encode

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}  # label → its JSON string

    def __call__(self, report_id: str, rows: Sequence[LesionLabels]) -> Encoded:
        if not isinstance(report_id, str):
            return len(rows), "".join([self._encode(row.to_dict(report_id)) + "\n" for row in rows])
        head = '{"id": ' + _json_string(report_id) + ', "bookmark": '
        mention = self._mention
        if len(rows) > 1:  # rows of one sentence share mentions: each is encoded once
            encoded: dict[int, str] = {}  # id of a mention (all alive in ``rows``) → its JSON

            def mention(m: Mention) -> str:
                found = encoded.get(id(m))
                return found if found is not None else encoded.setdefault(id(m), self._mention(m))

        lines = [
            head
            + ("null" if row.bookmark is None else str(int(row.bookmark)))
            + ', "sentence": '
            + _json_string(row.sentence)
            + ', "labels": '
            + self._list(row.labels)
            + ', "uncertain": '
            + self._list(row.uncertain)
            + ', "negated": '
            + self._list(row.negated)
            + ', "mentions": ['
            + ", ".join([mention(m) for m in row.mentions])
            + "]}\n"
            for row in rows
        ]
        return len(rows), "".join(lines)

    def _list(self, labels: Sequence[str]) -> str:
        if not labels:
            return "[]"
        cache = self._labels
        return "[" + ", ".join([cache.get(x) or cache.setdefault(x, _json_string(x)) for x in labels]) + "]"

    def _mention(self, m: Mention) -> str:
        label = self._labels.get(m.label) or self._labels.setdefault(m.label, _json_string(m.label))
        out = (
            f'{{"label": {label}, "text": {_json_string(m.text)}, "start": {m.start:d}, '
            f'"end": {m.end:d}, "status": {_json_string(m.status)}'
        )
        if m.trigger is not None:
            out += (
                f', "trigger": {_json_string(m.trigger)}, "trigger_start": {_json_int(m.trigger_start)}, '
                f'"trigger_end": {_json_int(m.trigger_end)}'
            )
        if m.section is not None:
            out += f', "section": {_json_string(m.section)}'
        return out + "}"


_json_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _json_int(value: int | None) -> str:
    return "null" if value is None else int.__repr__(value)


class _SentenceJsonlEncoder(Encoder):
    """One JSON object per sentence row, keys in the order of :data:`SENTENCE_FIELDS`, UTF-8 as is."""

    _encode = json.JSONEncoder(ensure_ascii=False).encode

    def __call__(self, report_id: str, rows: Sequence[SentenceLabels]) -> Encoded:  # type: ignore[override]
        return len(rows), "".join([self._encode(row.to_dict(report_id)) + "\n" for row in rows])


def _report_cells(row: LesionLabels) -> tuple[object, ...]:
    """The cells of a lesion row between its report id and the labels of a (wide) CSV."""
    return ("" if row.bookmark is None else row.bookmark,)


def _sentence_cells(row: SentenceLabels) -> tuple[object, ...]:
    """The cells of a sentence row between its report id and the labels of a wide CSV."""
    return (row.sentence_index, row.start, row.end, row.section or "")


#: Per kind of row: the columns between ``id`` and the labels of a wide CSV, and the function giving their cells.
_CELLS: dict[str, tuple[tuple[str, ...], Callable[[Any], tuple[object, ...]]]] = {
    "report": (("bookmark",), _report_cells),
    "sentence": (SENTENCE_FIELDS[1:5], _sentence_cells),
}


class _CsvEncoder(Encoder):
    """One CSV row per lesion: :data:`_CSV_COLUMNS`, labels joined by ``|``, no bookmark as empty;
    ``per="sentence"``: one per sentence, :data:`_SENTENCE_CSV_COLUMNS` (no section: empty)."""

    def __init__(self, per: str = "report") -> None:
        self._cells = _CELLS[per][1]

    def __call__(self, report_id: str, rows: Sequence[Any]) -> Encoded:
        buffer = io.StringIO()
        cells = self._cells
        csv.writer(buffer, lineterminator="\n").writerows(
            (
                report_id,
                *cells(row),
                row.sentence,
                "|".join(row.labels),
                "|".join(row.uncertain),
                "|".join(row.negated),
            )
            for row in rows
        )
        return len(rows), buffer.getvalue()


class _CsvWriter(TextWriter):
    """CSV with a header of :data:`_CSV_COLUMNS` (``per="sentence"``: :data:`_SENTENCE_CSV_COLUMNS`)."""

    def __init__(self, handle: IO[str], *, per: str = "report") -> None:
        super().__init__(handle, _CsvEncoder(per))
        csv.writer(handle, lineterminator="\n").writerow(_SENTENCE_CSV_COLUMNS if per == "sentence" else _CSV_COLUMNS)


class _WideCsvEncoder(Encoder):
    """One CSV row per lesion, CheXpert's way: ``id``, ``bookmark``, then one column per label of
    ``space``: ``1`` positive, ``0`` negated, ``-1`` uncertain, empty when not mentioned;
    ``per="sentence"``: one per sentence, ``sentence_index, start, end, section`` instead of ``bookmark``."""

    def __init__(self, space: LabelSpace, per: str = "report") -> None:
        self.space = space
        self._columns = {label: i for i, label in enumerate(space.labels)}
        self._cells = _CELLS[per][1]

    def __call__(self, report_id: str, rows: Sequence[Any]) -> Encoded:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        cells_of = self._cells
        for row in rows:
            cells = [""] * len(self._columns)
            for labels, value in ((row.labels, "1"), (row.negated, "0"), (row.uncertain, "-1")):
                for label in labels:
                    column = self._columns.get(label)
                    if column is not None:
                        cells[column] = value
            writer.writerow([report_id, *cells_of(row), *cells])
        return len(rows), buffer.getvalue()


class _WideCsvWriter(TextWriter):
    """The wide CSV of :class:`_WideCsvEncoder`, with a header ``id, bookmark, LABEL...``
    (``per="sentence"``: ``id, sentence_index, start, end, section, LABEL...``)."""

    def __init__(self, handle: IO[str], *, space: LabelSpace, per: str = "report") -> None:
        super().__init__(handle, _WideCsvEncoder(space, per))
        csv.writer(handle, lineterminator="\n").writerow(["id", *_CELLS[per][0], *space.labels])


class _RecordsEncoder(Encoder):
    """The rows as tuples of the values of :data:`RECORD_FIELDS` (:data:`SENTENCE_FIELDS` for
    sentence rows; ``mentions`` as dicts of all fields)."""

    def __call__(self, report_id: str, rows: Sequence[Any]) -> Encoded:
        return len(rows), [(report_id, *row[:-1], [m._asdict() for m in row.mentions]) for row in rows]


class ParquetWriter(Writer):
    """Parquet with the columns of :data:`RECORD_FIELDS` (``per="sentence"``: :data:`SENTENCE_FIELDS`),
    written in row groups of ``batch_rows``.

    ``mentions`` is a list of structs (label, text, start, end, status, trigger,
    trigger_start, trigger_end). Needs pyarrow (the ``parquet`` extra).
    """

    def __init__(self, handle: IO[bytes], *, batch_rows: int = 65_536, per: str = "report") -> None:
        super().__init__(handle, _RecordsEncoder())
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
                ("section", pa.string()),
            ]
        )
        where = (
            [("sentence_index", pa.int32()), ("start", pa.int64()), ("end", pa.int64()), ("section", pa.string())]
            if per == "sentence"
            else [("bookmark", pa.int32())]
        )
        self._schema = pa.schema(
            [
                ("id", pa.string()),
                *where,
                ("sentence", pa.string()),
                *[(name, strings) for name in _LIST_FIELDS],
                ("mentions", pa.list_(mention)),
            ]
        )
        self._fields = SENTENCE_FIELDS if per == "sentence" else RECORD_FIELDS
        self._file = pq.ParquetWriter(handle, self._schema)
        self._batch_rows = batch_rows
        self._records: list[tuple[Any, ...]] = []

    def _write(self, payload: list[tuple[Any, ...]]) -> None:
        self._records += payload
        if len(self._records) >= self._batch_rows:
            self._flush()

    def _flush(self) -> None:
        values = zip(*self._records, strict=True) if self._records else [()] * len(self._fields)
        columns = {name: list(column) for name, column in zip(self._fields, values, strict=True)}
        self._file.write_table(self._pa.Table.from_pydict(columns, schema=self._schema))
        self._records = []

    def close(self) -> None:
        if self._records or not self.rows:
            self._flush()
        self._file.close()

    def __del__(self) -> None:
        # Dropped without close() (an error or Ctrl-C upstream has closed the handle): pyarrow must
        # not finish the file when it is collected, which prints an "Exception ignored" traceback.
        file = getattr(self, "_file", None)
        if file is not None:
            file.is_open = False


class _NpzEncoder(Encoder):
    """Ids, bookmarks (-1: none) and the uint8 rows ``positive``, ``uncertain``, ``negated`` of ``space``."""

    def __init__(self, space: LabelSpace) -> None:
        self.space = space

    def __call__(self, report_id: str, rows: Sequence[LesionLabels]) -> Encoded:
        vector = self.space.vector
        matrices = [b"".join([vector(getattr(row, field)).tobytes() for row in rows]) for field in _LIST_FIELDS]
        bookmarks = [-1 if row.bookmark is None else row.bookmark for row in rows]
        return len(rows), (report_id, bookmarks, matrices)


class _NpzWriter(Writer):
    """NumPy ``.npz``: ``ids`` [N], ``bookmarks`` int32 [N] (-1: none), ``labels`` [K] (the
    names of ``space``), and uint8 matrices ``positive``, ``uncertain``, ``negated`` [N, K].

    Only the matrix rows (K bytes each) and the ids are kept in memory until :meth:`close`.
    Labels outside ``space`` are left out.
    """

    def __init__(self, handle: IO[bytes], *, space: LabelSpace) -> None:
        super().__init__(handle, _NpzEncoder(space))
        self.space = space
        self._ids: list[str] = []
        self._bookmarks = array("i")
        self._matrices = [bytearray(), bytearray(), bytearray()]

    def _write(self, payload: tuple[str, list[int], list[bytes]]) -> None:
        report_id, bookmarks, matrices = payload
        if report_id.endswith("\0"):
            raise InputError(
                f"report id {report_id!r} ends with a NUL character, which NumPy's string arrays drop: "
                "write JSONL, CSV or Parquet instead of NPZ"
            )
        self._ids += [report_id] * len(bookmarks)
        self._bookmarks.extend(bookmarks)
        for matrix, data in zip(self._matrices, matrices, strict=True):
            matrix += data

    def close(self) -> None:
        shape = (self.rows, len(self.space))
        positive, uncertain, negated = (np.frombuffer(data, dtype=np.uint8).reshape(shape) for data in self._matrices)
        np.savez_compressed(
            self.handle,
            ids=np.array(self._ids, dtype=str),
            bookmarks=np.frombuffer(self._bookmarks, dtype=np.intc).astype(np.int32),
            labels=np.array(self.space.labels, dtype=str),
            positive=positive,
            uncertain=uncertain,
            negated=negated,
        )


def make_writer(fmt: str, handle: IO[Any], *, space: LabelSpace | None = None, per: str = "report") -> Writer:
    """A writer of format ``fmt`` (one of :data:`FORMATS`) on ``handle``; NPZ and wide CSV need ``space``.
    ``per``: ``"report"`` (:class:`~radminer.text.mentions.LesionLabels` rows) or ``"sentence"``
    (:class:`~radminer.text.mentions.SentenceLabels` rows; every format but NPZ)."""
    if per_sentence(per) and fmt == "npz":
        raise InputError("the npz format has no rows per sentence: write jsonl, csv, wide-csv or parquet")
    if fmt == "jsonl":
        return TextWriter(handle, _SentenceJsonlEncoder() if per == "sentence" else JsonlEncoder())
    if fmt == "csv":
        return _CsvWriter(handle, per=per)
    if fmt == "parquet":
        return ParquetWriter(handle, per=per)
    if fmt in ("npz", "wide-csv"):
        if space is None:
            raise InputError(f"the {fmt} format needs a label space (its columns)")
        return _NpzWriter(handle, space=space) if fmt == "npz" else _WideCsvWriter(handle, space=space, per=per)
    raise InputError(f"unknown output format {fmt!r}: expected one of {', '.join(FORMATS)}")
