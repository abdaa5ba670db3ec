"""radminer.reader: streaming CSV reading, and its errors naming file, line and column."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from radminer.errors import InputError
from radminer.reader import TEXT_SEPARATOR, CsvReports, Report, RowError, check_columns, join_texts


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
