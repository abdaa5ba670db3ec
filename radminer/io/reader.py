"""Read reports from a CSV or Parquet file as a stream: one :class:`Report` per row, with clear errors.

A CSV file is read with the ``csv`` module, one record at a time, so memory stays flat
however large the file is; gzip, bzip2, xz and Zstandard (with the ``zstandard`` module)
compressed files are decompressed on the way, told by their first bytes. A row that cannot
be read (bad quoting, bytes invalid in the encoding, a wrong number of fields) raises
:class:`~radminer.errors.InputError` naming the file, line and column, or, when an
``on_error`` callback is given, is handed to it as a :class:`RowError` and skipped.
Parquet files (``.parquet``, ``.pq``; with pyarrow) are read in batches of rows.
:func:`open_reports` picks the reader.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import csv
import gzip
import io
import logging
import lzma
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, NamedTuple, TypeVar, cast

from ..errors import InputError, RadminerError

__all__ = [
    "COMPRESSIONS",
    "MAX_FIELD_CHARS",
    "MAX_QUOTED_CHARS",
    "PARQUET_SUFFIXES",
    "TEXT_SEPARATOR",
    "CsvReports",
    "ParquetReports",
    "Report",
    "Reports",
    "RowError",
    "check_columns",
    "join_texts",
    "open_reports",
    "quoted",
    "text_codec",
]

logger = logging.getLogger(__name__)

#: Largest CSV field read, in characters; beyond it a row is an error (often an unclosed quote).
MAX_FIELD_CHARS = 64 * 2**20
#: Joins the text columns of a row (``--text-column`` given several times); offsets
#: in the output refer to the joined text.
TEXT_SEPARATOR = "\n\n"
#: Longest raw record text kept in a :class:`RowError`.
_MAX_RAW_CHARS = 65_536
#: Longest piece of the input (a column name, a list of them) quoted in an error message.
MAX_QUOTED_CHARS = 200

#: Compressed CSV read: the suffix that names each, and the pattern its files start with.
COMPRESSIONS: dict[str, tuple[str, bytes]] = {
    "gzip": (".gz", rb"\x1f\x8b"),
    "bz2": (".bz2", rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)"),
    "xz": (".xz", rb"\xfd7zXZ\x00"),
    "zstd": (".zst", rb"\x28\xb5\x2f\xfd"),
}
#: Suffixes of Parquet files.
PARQUET_SUFFIXES: tuple[str, ...] = (".parquet", ".pq")
_MAGIC = re.compile(b"|".join(b"(?P<%s>%s)" % (name.encode(), magic) for name, (_, magic) in COMPRESSIONS.items()))
# Bytes that are not UTF-8 come through the "surrogateescape" handler as U+DC80..U+DCFF.
_UNDECODABLE = re.compile(f"[{chr(0xDC80)}-{chr(0xDCFF)}]")  # chr(): mypyc refuses surrogate literals


@dataclass(frozen=True)
class Report:
    """One row of a reports file: its id, its text (text columns joined) and its first line."""

    id: str
    text: str
    line: int


@dataclass(frozen=True)
class RowError:
    """A row that could not be read; ``line``/``column`` are 1-based, ``field`` a column name."""

    path: str
    line: int
    column: int | None
    field: str | None
    message: str
    raw: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}: line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
        if self.field is not None:
            where += f" (field {quoted(self.field)})"
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The record of ``OUT.errors.jsonl``."""
        return {
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "error": self.message,
            "raw": self.raw,
        }


def join_texts(values: Iterable[str]) -> str:
    """The text of a row: its non-empty text columns joined by :data:`TEXT_SEPARATOR`."""
    return TEXT_SEPARATOR.join(value for value in values if value)


def quoted(text: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """``repr(text)``, cut after ``limit`` characters (then followed by the full length)."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def _listing(names: Sequence[str], limit: int = MAX_QUOTED_CHARS) -> str:
    """The quoted ``names``, as many as fit in about ``limit`` characters, then their count."""
    shown: list[str] = []
    size = 0
    for name in names:
        item = quoted(name, limit)
        if shown and size + len(item) > limit:
            return f"{', '.join(shown)}, … ({len(names):,} in all)"
        shown.append(item)
        size += len(item) + 2
    return ", ".join(shown) or "none"


def check_columns(present: Sequence[str], wanted: Iterable[str], *, source: str) -> None:
    """Raise :class:`InputError` when a wanted column is missing or repeated in ``present``.

    The message lists the columns present, cut to about :data:`MAX_QUOTED_CHARS` characters.
    """
    present = list(present)
    for name in dict.fromkeys(wanted):
        count = present.count(name)
        if count != 1:
            problem = "has no column" if count == 0 else f"has {count} columns named"
            raise InputError(f"{source} {problem} {quoted(name)} (columns present: {_listing(present)})")


class _Where(NamedTuple):
    line: int  # index into the record's lines
    column: int  # 0-based
    field: int  # 0-based


class _LineTap:
    """Iterates over lines and keeps those of the record being parsed (for error reports)."""

    __slots__ = ("_lines", "record")

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self.record: list[str] = []

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.record.append(line)
        return line


_START, _UNQUOTED, _QUOTED, _CLOSED = range(4)


def _diagnose(
    lines: list[str], *, at: tuple[int, int] | None = None, field: int | None = None
) -> tuple[_Where, str | None]:
    """Walk a record as strict CSV does, up to character ``at`` or the start of field ``field``.

    Returns where it stopped, or where the record breaks and why, or its end.
    """
    state, index, opened = _START, 0, _Where(0, 0, 0)
    for i, line in enumerate(lines):
        for j, char in enumerate(line):
            here = _Where(i, j, index)
            if (i, j) == at or (index == field and state == _START):
                return here, None
            if state == _CLOSED and char not in '",\r\n':
                problem = f"expected ',' or a line end after a closing quote, found {char!r}"
                if opened.line != i:
                    problem += f" (in a quoted field opened {i - opened.line} line(s) above)"
                return here, problem
            if char == "," and state != _QUOTED:
                state, index = _START, index + 1
            elif char == '"' and state == _START:
                state, opened = _QUOTED, here
            elif char == '"':
                state = _CLOSED if state == _QUOTED else _QUOTED if state == _CLOSED else state
            elif char in "\r\n" and state != _QUOTED:
                state = _START
            elif state == _START:
                state = _UNQUOTED
    if state == _QUOTED:
        return opened, "a quoted field is never closed"
    last = len(lines) - 1
    return _Where(max(last, 0), len(lines[last].rstrip("\r\n")) if lines else 0, index), None


def text_codec(encoding: str) -> tuple[str, str]:
    """The codec to read ``encoding`` with (UTF-8 accepting a BOM) and its name in messages."""
    try:
        name = codecs.lookup(encoding).name
        "".encode(name)  # a LookupError for codecs that are not text encodings (base64, ...)
    except LookupError:
        expected = "expected a Python codec name such as utf-8, latin-1, cp1252"
        raise InputError(f"unknown text encoding {quoted(encoding)}: {expected}") from None
    if name in ("utf-8", "utf-8-sig"):
        return "utf-8-sig", "UTF-8"
    return name, name


def _compression(path: Path, stream: io.BufferedReader) -> str | None:
    """The compression of ``stream``, told by its first bytes; an error when its suffix names another."""
    match = _MAGIC.match(stream.peek(16)[:16])
    found = match.lastgroup if match else None
    named = next((name for name, (suffix, _) in COMPRESSIONS.items() if path.suffix.lower() == suffix), None)
    if named is not None and found != named:
        raise InputError(f"{path}: its name says {named}-compressed, but it does not start as {named} data does")
    return found


def _decompressed(path: Path, stream: io.BufferedReader, compression: str | None) -> io.BufferedIOBase:
    """``stream`` decompressed (read lazily)."""
    if compression is None:
        return stream
    if compression == "gzip":
        return gzip.GzipFile(fileobj=stream, mode="rb")
    if compression == "bz2":
        return bz2.BZ2File(stream)
    if compression == "xz":
        return lzma.LZMAFile(stream)
    try:
        import zstandard
    except ImportError:
        raise RadminerError(
            f"{path} is Zstandard-compressed: reading it needs the zstandard package: pip install 'radminer[zstd]'"
        ) from None
    reader = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
    return io.BufferedReader(reader)  # type: ignore[arg-type]  # a raw stream, though not an io.RawIOBase


_R = TypeVar("_R", bound="Reports")


class Reports(ABC):
    """The reports of a file, read lazily (an iterable of :class:`Report`); a context manager
    that closes the file. ``columns``: the names of its columns."""

    path: Path
    columns: tuple[str, ...]

    @abstractmethod
    def __iter__(self) -> Iterator[Report]: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self: _R) -> _R:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class CsvReports(Reports):
    """The reports of a CSV file, read lazily; a context manager that closes the file.

    ``text_columns`` are joined by :data:`TEXT_SEPARATOR` (empty cells skipped);
    ``id_column`` gives :attr:`Report.id`. Column names are checked when the file is
    opened. ``on_error``: ``None`` raises :class:`InputError` at the first unreadable
    row; a callback receives each :class:`RowError` and reading goes on. ``encoding``: of
    the text (UTF-8 may start with a BOM); bytes invalid in it make a row unreadable. A
    compressed file (gzip, bzip2, xz, Zstandard: see :data:`COMPRESSIONS`) is told by its
    first bytes and decompressed as it is read (:attr:`compression`).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        text_columns: Sequence[str] = ("text",),
        id_column: str = "id",
        on_error: Callable[[RowError], None] | None = None,
        encoding: str = "utf-8",
    ) -> None:
        if not text_columns:
            raise InputError("expected at least one text column, got none")
        self.path = Path(path)
        self._on_error = on_error
        codec, self._encoding = text_codec(encoding)
        try:
            self._stream = open(self.path, "rb")  # noqa: SIM115 (closed by close())
        except OSError as exc:
            raise InputError(f"cannot read reports file {self.path}: {exc.strerror}") from exc
        try:
            self.compression = _compression(self.path, self._stream)
            data = _decompressed(self.path, self._stream, self.compression)
        except BaseException:
            self._stream.close()
            raise
        self._file = io.TextIOWrapper(cast(BinaryIO, data), encoding=codec, errors="surrogateescape", newline="")
        self._tap = _LineTap(iter(self._file))
        self.columns: tuple[str, ...] = ()
        self._reader = csv.reader(self._tap, strict=True)
        try:
            self.columns = self._header()
            check_columns(self.columns, [id_column, *text_columns], source=str(self.path))
        except BaseException:
            self.close()
            raise
        self._id = self.columns.index(id_column)
        self._texts = [self.columns.index(c) for c in text_columns]

    def _header(self) -> tuple[str, ...]:
        with _field_limit():
            for header in self._records(on_error=None):
                if header:
                    return tuple(header)
        raise InputError(f"{self.path} is empty: expected a header row naming its columns")

    def __iter__(self) -> Iterator[Report]:
        width, id_index, text_indexes = len(self.columns), self._id, self._texts
        with _field_limit():
            for row in self._records(on_error=self._on_error):
                if len(row) != width:
                    self._fail(self._count_error(row), on_error=self._on_error)
                    continue
                yield Report(row[id_index], join_texts(row[i] for i in text_indexes), self._start)

    def _records(self, *, on_error: Callable[[RowError], None] | None) -> Iterator[list[str]]:
        """Parsed non-blank records, each checked for undecodable bytes."""
        reader, tap = self._reader, self._tap
        while True:
            tap.record = []
            self._start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self._fail(self._parse_error(str(exc)), on_error=on_error)
                continue
            except Exception as exc:  # decompression (any codec's error) or the disk
                if self.compression is None and not isinstance(exc, OSError):
                    raise
                what = f"cannot decompress ({self.compression})" if self.compression else "cannot read"
                raise InputError(f"{self.path}: line {self._start}: {what}: {exc}") from exc
            if not row:
                continue
            for i, line in enumerate(tap.record):
                bad = _UNDECODABLE.search(line)
                if bad:
                    byte = ord(bad.group()) - 0xDC00
                    where, _ = _diagnose(tap.record, at=(i, bad.start()))
                    error = self._error(where, f"invalid {self._encoding} byte 0x{byte:02x}")
                    self._fail(error, on_error=on_error)
                    break
            else:
                yield row

    def _fail(self, error: RowError, *, on_error: Callable[[RowError], None] | None) -> None:
        if on_error is None:
            raise InputError(str(error))
        logger.info("skipped unreadable row: %s", error)
        on_error(error)

    def _error(self, where: _Where, message: str, *, column: bool = True) -> RowError:
        """A :class:`RowError` for the record being read, at ``where`` in its lines."""
        raw = "".join(self._tap.record)
        raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")[:_MAX_RAW_CHARS]
        return RowError(
            path=str(self.path),
            line=self._start + where.line,
            column=where.column + 1 if column else None,
            field=self.columns[where.field] if column and where.field < len(self.columns) else None,
            message=message,
            raw=raw,
        )

    def _parse_error(self, reason: str) -> RowError:
        where, problem = _diagnose(self._tap.record)
        if problem is None:  # not a quoting problem: say what the csv module says, on its line
            where = _Where(max(len(self._tap.record) - 1, 0), 0, 0)
            return self._error(where, f"cannot be parsed as CSV: {reason}", column=False)
        return self._error(where, problem)

    def _count_error(self, row: list[str]) -> RowError:
        """Wrong number of fields: located at the first extra field, or at the end of the row."""
        expected = len(self.columns)
        if len(row) > expected:
            where, _ = _diagnose(self._tap.record, field=expected)
        else:  # at the end of the row, in no field
            where = _diagnose(self._tap.record)[0]._replace(field=expected)
        names = ", ".join(self.columns)
        return self._error(where, f"expected {expected} fields ({names}), found {len(row)}")

    def close(self) -> None:
        self._file.close()
        self._stream.close()  # not closed with a decompressor over it


class ParquetReports(Reports):
    """The reports of a Parquet file, read in batches of ``batch_rows`` rows; a context manager.

    Columns as for :class:`CsvReports`; ids and texts that are not strings are written as
    text (``str(value)``), nulls as empty. :attr:`Report.line` is the row's number (1-based).
    Needs pyarrow (the ``parquet`` extra).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        text_columns: Sequence[str] = ("text",),
        id_column: str = "id",
        batch_rows: int = 4096,
    ) -> None:
        if not text_columns:
            raise InputError("expected at least one text column, got none")
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise RadminerError(
                "reading Parquet needs pyarrow: install the extra with pip install 'radminer[parquet]'"
            ) from None
        self.path = Path(path)
        try:
            self._file = pq.ParquetFile(self.path)
        except OSError as exc:
            raise InputError(f"cannot read reports file {self.path}: {exc.strerror or exc}") from exc
        except Exception as exc:  # pyarrow's ArrowInvalid and kin
            raise InputError(f"{self.path}: not a Parquet file ({quoted(str(exc))})") from exc
        self.columns: tuple[str, ...] = tuple(self._file.schema_arrow.names)
        try:
            check_columns(self.columns, [id_column, *text_columns], source=str(self.path))
        except BaseException:
            self.close()
            raise
        self._wanted = list(dict.fromkeys([id_column, *text_columns]))
        self._id = self._wanted.index(id_column)
        self._texts = [self._wanted.index(c) for c in text_columns]
        self._batch_rows = batch_rows

    def __iter__(self) -> Iterator[Report]:
        line = 0
        for batch in self._file.iter_batches(batch_size=self._batch_rows, columns=self._wanted):
            columns = [column.to_pylist() for column in batch.columns]
            for row in zip(*columns, strict=True):
                line += 1
                texts = (_cell(row[i]) for i in self._texts)
                yield Report(_cell(row[self._id]), join_texts(texts), line)

    def close(self) -> None:
        self._file.close()


def _cell(value: Any) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def open_reports(
    path: str | Path,
    *,
    text_columns: Sequence[str] = ("text",),
    id_column: str = "id",
    on_error: Callable[[RowError], None] | None = None,
    encoding: str = "utf-8",
) -> Reports:
    """The reports of ``path``: :class:`ParquetReports` for a name ending in one of
    :data:`PARQUET_SUFFIXES`, else :class:`CsvReports` (plain or compressed CSV).
    ``on_error`` and ``encoding`` are the CSV reader's."""
    if Path(path).suffix.lower() in PARQUET_SUFFIXES:
        return ParquetReports(path, text_columns=text_columns, id_column=id_column)
    return CsvReports(path, text_columns=text_columns, id_column=id_column, on_error=on_error, encoding=encoding)


@contextlib.contextmanager
def _field_limit() -> Iterator[None]:
    """Raise the csv module's (process-wide) field size limit while reading, then restore it."""
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, MAX_FIELD_CHARS))
    try:
        yield
    finally:
        csv.field_size_limit(previous)
