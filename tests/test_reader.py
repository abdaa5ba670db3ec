"""radminer.io.reader: streaming CSV (compressed, any encoding) and Parquet; errors naming file, line and column."""

from __future__ import annotations

import bz2
import csv
import gzip
import lzma
import sys
from pathlib import Path

import pytest

from radminer.errors import InputError, RadminerError
from radminer.io.reader import (
    COMPRESSIONS,
    TEXT_SEPARATOR,
    CsvReports,
    ParquetReports,
    Report,
    RowError,
    check_columns,
    join_texts,
    open_reports,
)


def write(tmp_path: Path, data: bytes | str, name: str = "reports.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def read(path: Path, **kwargs: object) -> list[Report]:
    with CsvReports(path, **kwargs) as reports:  # type: ignore[arg-type]
        return list(reports)


def test_reads_rows_with_their_first_line(tmp_path: Path) -> None:
    path = write(tmp_path, '\ufeffid,text\n1,"Liver mass,\nsecond line"\n\n2,"He said ""no"""\r\n3,\n')
    assert read(path) == [
        Report("1", "Liver mass,\nsecond line", 2),
        Report("2", 'He said "no"', 5),
        Report("3", "", 6),
    ]


def test_text_columns_are_joined_with_a_blank_line_skipping_empty_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "uid,findings,impression\na,F1,I1\nb,,I2\nc,,\n")
    reports = read(path, text_columns=("findings", "impression"), id_column="uid")
    assert [r.text for r in reports] == [f"F1{TEXT_SEPARATOR}I1", "I2", ""]
    assert join_texts(["x", "", "y"]) == "x\n\ny"


@pytest.mark.parametrize(
    ("kwargs", "missing"),
    [({}, "'text'"), ({"id_column": "uid"}, "'uid'"), ({"text_columns": ("report", "body")}, "'body'")],
)
def test_missing_column_lists_the_columns_present(tmp_path: Path, kwargs: dict, missing: str) -> None:
    path = write(tmp_path, "id,report\n1,x\n")
    with pytest.raises(InputError, match=f"has no column {missing} \\(columns present: 'id', 'report'\\)"):
        CsvReports(path, **kwargs)


def test_repeated_column_is_ambiguous() -> None:
    with pytest.raises(InputError, match="has 2 columns named 'text'"):
        check_columns(["id", "text", "text"], ["id", "text"], source="f.csv")


@pytest.mark.parametrize("data", [b"", b"\n\n"])
def test_empty_file(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InputError, match="is empty: expected a header row"):
        CsvReports(write(tmp_path, data))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read reports file .*absent\.csv"):
        CsvReports(tmp_path / "absent.csv")


CLOSING = "expected ',' or a line end after a closing quote"
# data, line, column, field, message, ids of the rows read when bad rows are skipped
BAD_ROWS = {
    "bad quoting": (b'id,text\n1,"abc"def\n2,ok\n', 2, 8, "text", f"{CLOSING}, found 'd'", ["2"]),
    "unclosed quote": (b'id,text\n1,"abc\n2,ok\n', 2, 3, "text", "a quoted field is never closed", []),
    "quote closed lines later": (
        b'id,text\n1,"abc\n2,ok\n3,"x"y\n4,z\n',
        4,
        4,
        "text",
        f"{CLOSING}, found 'x' (in a quoted field opened 2 line(s) above)",
        ["4"],
    ),
    "invalid UTF-8": (b"id,text\n1,ab\xffc\n2,ok\n", 2, 5, "text", "invalid UTF-8 byte 0xff", ["2"]),
    "too many fields": (b"id,text\n1,a,b\n2,ok\n", 2, 5, None, "expected 2 fields (id, text), found 3", ["2"]),
    "too few fields": (b"id,text\n1\n2,ok\n", 2, 2, None, "expected 2 fields (id, text), found 1", ["2"]),
}
CASES = pytest.mark.parametrize(("data", "line", "column", "field", "message", "rest"), BAD_ROWS.values(), ids=BAD_ROWS)


@CASES
def test_unreadable_row_names_file_line_and_column(
    tmp_path: Path, data: bytes, line: int, column: int, field: str | None, message: str, rest: list[str]
) -> None:
    path = write(tmp_path, data)
    where = f"{path}: line {line}, column {column}" + (f" (field {field!r})" if field else "")
    with pytest.raises(InputError) as caught:
        read(path)
    assert str(caught.value) == f"{where}: {message}"


@CASES
def test_unreadable_rows_are_handed_to_on_error_and_reading_goes_on(
    tmp_path: Path, data: bytes, line: int, column: int, field: str | None, message: str, rest: list[str]
) -> None:
    errors: list[RowError] = []
    reports = read(write(tmp_path, data), on_error=errors.append)
    assert [r.id for r in reports] == rest
    assert len(errors) == 1
    record = errors[0].to_dict()
    assert record == {"line": line, "column": column, "field": field, "error": message, "raw": record["raw"]}
    assert record["raw"].startswith("1")


def test_invalid_utf8_in_header(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"reports\.csv: line 1, column 5: invalid UTF-8 byte 0xe9"):
        CsvReports(write(tmp_path, b"id,t\xe9xt\n1,x\n"))


def test_a_1mb_text_is_read_and_the_field_limit_restored(tmp_path: Path) -> None:
    text = "Liver mass. " * 90_000
    path = write(tmp_path, f'id,text\n1,"{text}"\n')
    limit = csv.field_size_limit()
    assert read(path) == [Report("1", text, 2)]
    assert csv.field_size_limit() == limit


def test_reading_is_lazy(tmp_path: Path) -> None:
    path = write(tmp_path, 'id,text\n1,a\n2,b""c"\n')
    with CsvReports(path) as reports:
        first = next(iter(reports))
    assert first == Report("1", "a", 2)


PLAIN = '\ufeffid,text\n1,"Liver mass,\nsecond line"\n2,café\n'.encode()
EXPECTED = [Report("1", "Liver mass,\nsecond line", 2), Report("2", "café", 4)]


def _compress(kind: str, data: bytes) -> bytes:
    if kind == "gzip":
        return gzip.compress(data)
    if kind == "bz2":
        return bz2.compress(data)
    if kind == "xz":
        return lzma.compress(data)
    zstandard = pytest.importorskip("zstandard")
    return zstandard.ZstdCompressor().compress(data[:20]) + zstandard.ZstdCompressor().compress(data[20:])  # 2 frames


@pytest.mark.parametrize("kind", list(COMPRESSIONS))
@pytest.mark.parametrize("named", [True, False])
def test_compressed_csv_by_suffix_and_by_first_bytes(tmp_path: Path, kind: str, named: bool) -> None:
    suffix = COMPRESSIONS[kind][0] if named else ""
    path = write(tmp_path, _compress(kind, PLAIN), f"reports.csv{suffix}")
    with CsvReports(path) as reports:
        assert reports.compression == kind
        assert list(reports) == EXPECTED


def test_suffix_naming_another_compression_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, PLAIN, "reports.csv.gz")
    with pytest.raises(InputError, match=r"reports\.csv\.gz: its name says gzip-compressed, but it does not start"):
        CsvReports(path)


def test_corrupt_compressed_data_names_file_and_line(tmp_path: Path) -> None:
    data = gzip.compress(b"id,text\n" + b"".join(b"%d,Liver mass.\n" % i for i in range(5000)))
    path = write(tmp_path, data[: len(data) // 2], "reports.csv.gz")
    with pytest.raises(InputError, match=r"reports\.csv\.gz: line \d+: cannot decompress \(gzip\): "):
        read(path)


def test_zstd_without_zstandard_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, b"\x28\xb5\x2f\xfd" + b"\x00" * 20, "reports.csv.zst")
    monkeypatch.setitem(sys.modules, "zstandard", None)
    with pytest.raises(RadminerError, match=r"Zstandard-compressed: reading it needs the zstandard package"):
        CsvReports(path)


def test_encoding_latin1_and_invalid_bytes_named_in_the_encoding(tmp_path: Path) -> None:
    path = write(tmp_path, "id,text\n1,café\n".encode("latin-1"))
    assert read(path, encoding="latin-1") == [Report("1", "café", 2)]
    with pytest.raises(InputError, match=r"line 2, column 6 \(field 'text'\): invalid UTF-8 byte 0xe9"):
        read(path)
    with pytest.raises(InputError, match=r"line 2, column 3 \(field 'text'\): invalid cp1252 byte 0x81"):
        read(write(tmp_path, b"id,text\n1,\x81\n"), encoding="cp1252")


@pytest.mark.parametrize("encoding", ["klingon", "base64"])
def test_unknown_encoding(tmp_path: Path, encoding: str) -> None:
    with pytest.raises(InputError, match=f"unknown text encoding '{encoding}'"):
        CsvReports(write(tmp_path, PLAIN), encoding=encoding)


def test_parquet_reports(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "reports.parquet"
    table = pa.table({"uid": [7, 8, None], "findings": ["Liver mass.", None, "x"], "impression": ["Stable.", "", None]})
    pq.write_table(table, path, row_group_size=2)
    with open_reports(path, text_columns=("findings", "impression"), id_column="uid") as reports:
        assert isinstance(reports, ParquetReports)
        assert list(reports) == [Report("7", "Liver mass.\n\nStable.", 1), Report("8", "", 2), Report("", "x", 3)]
    with pytest.raises(InputError, match=r"has no column 'id' \(columns present: 'uid', 'findings', 'impression'\)"):
        open_reports(path)
    with pytest.raises(InputError, match=r"bogus\.parquet: not a Parquet file"):
        open_reports(write(tmp_path, PLAIN, "bogus.parquet"))


def test_parquet_without_pyarrow_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(RadminerError, match=r"reading Parquet needs pyarrow: .*radminer\[parquet\]"):
        open_reports(tmp_path / "reports.parquet")


def test_open_reports_reads_csv_otherwise(tmp_path: Path) -> None:
    with open_reports(write(tmp_path, PLAIN, "reports.txt")) as reports:
        assert isinstance(reports, CsvReports) and list(reports) == EXPECTED


def test_long_column_names_are_cut_in_messages() -> None:
    with pytest.raises(InputError) as caught:
        check_columns(["y" * 5000, *map(str, range(1000))], ["id"], source="f.csv")
    message = str(caught.value)
    assert message.startswith("f.csv has no column 'id' (columns present: 'yyy")
    assert "… (5,000 characters)" in message and message.endswith(", … (1,001 in all))") and len(message) < 500


def test_nul_and_crlf_and_lone_cr_are_text(tmp_path: Path) -> None:
    path = write(tmp_path, b'id,text\r\n1,"liver\x00mass"\r\n2,"a\rb"\r\n')
    assert read(path) == [Report("1", "liver\x00mass", 2), Report("2", "a\rb", 3)]
