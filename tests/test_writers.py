"""radminer.io.writers (JSONL, CSV, wide CSV, Parquet, NPZ) and radminer.engines.local (ordered, chunked, parallel)."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable, Iterator

import numpy as np
import pytest

from radminer.engines.local import EMPTY_ROW, extract_texts
from radminer.errors import InputError, RadminerError
from radminer.io.writers import FORMATS, RECORD_FIELDS, format_for, make_writer
from radminer.ontology.labelspace import LabelSpace
from radminer.text.mentions import LesionLabels, Mention

MASS = Mention("liver mass", "hepatic mass", 4, 16)
NODULE = Mention("nodule", "nodule", 30, 36, status="negated", trigger="no", trigger_start=27, trigger_end=29)
ROWS = {
    "r1": [
        LesionLabels(0, "Big hepatic mass BOOKMARK.", ("abdomen", "liver", "liver mass", "mass"), mentions=(MASS,)),
        LesionLabels(1, "No nodule BOOKMARK, 5 × 3 cm.", negated=("nodule",), uncertain=("cyst",), mentions=(NODULE,)),
    ],
    "r2": [LesionLabels(None, "")],
}
SPACE = LabelSpace(["liver", "mass", "nodule", "cyst"], name="test")


def write_all(fmt: str) -> io.BytesIO | io.StringIO:
    handle: io.BytesIO | io.StringIO = io.BytesIO() if fmt in ("parquet", "npz") else io.StringIO()
    writer = make_writer(fmt, handle, space=SPACE)
    for report_id, rows in ROWS.items():
        writer.write(report_id, rows)
    writer.close()
    assert writer.rows == 3
    handle.seek(0)
    return handle


def test_jsonl_is_the_contract() -> None:
    lines = write_all("jsonl").getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert [list(r) for r in records] == [list(RECORD_FIELDS)] * 3
    assert records[0] == {
        "id": "r1",
        "bookmark": 0,
        "sentence": "Big hepatic mass BOOKMARK.",
        "labels": ["abdomen", "liver", "liver mass", "mass"],
        "uncertain": [],
        "negated": [],
        "mentions": [{"label": "liver mass", "text": "hepatic mass", "start": 4, "end": 16, "status": "positive"}],
    }
    assert records[1]["mentions"][0]["trigger"] == "no"
    assert records[2] == {"id": "r2", **EMPTY_ROW.to_dict()}
    assert "5 × 3 cm" in lines[1]  # UTF-8 as is, not \u escapes


def test_csv_one_row_per_lesion() -> None:
    rows = list(csv.reader(write_all("csv")))
    assert rows == [
        ["id", "bookmark", "sentence", "labels", "uncertain", "negated"],
        ["r1", "0", "Big hepatic mass BOOKMARK.", "abdomen|liver|liver mass|mass", "", ""],
        ["r1", "1", "No nodule BOOKMARK, 5 × 3 cm.", "", "cyst", "nodule"],
        ["r2", "", "", "", "", ""],
    ]


def test_wide_csv_is_chexpert_style() -> None:
    rows = list(csv.reader(write_all("wide-csv")))
    assert rows == [
        ["id", "bookmark", "liver", "mass", "nodule", "cyst"],
        ["r1", "0", "1", "1", "", ""],  # labels outside the label space (abdomen, liver mass) are left out
        ["r1", "1", "", "", "0", "-1"],
        ["r2", "", "", "", "", ""],
    ]


def test_parquet_round_trip() -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(write_all("parquet"))
    assert table.column_names == list(RECORD_FIELDS)
    records = table.to_pylist()
    assert records[0]["labels"] == ["abdomen", "liver", "liver mass", "mass"]
    assert records[1]["mentions"][0] == NODULE._asdict()
    assert records[2]["bookmark"] is None and records[2]["mentions"] == []


def test_parquet_without_pyarrow_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(RadminerError, match=r"pip install 'radminer\[parquet\]'"):
        make_writer("parquet", io.BytesIO())


def test_npz_matrices_follow_the_label_space() -> None:
    data = np.load(write_all("npz"))
    assert sorted(data.files) == ["bookmarks", "ids", "labels", "negated", "positive", "uncertain"]
    assert data["ids"].tolist() == ["r1", "r1", "r2"]
    assert data["bookmarks"].tolist() == [0, 1, -1]
    assert data["labels"].tolist() == list(SPACE.labels)
    assert data["positive"].dtype == np.uint8 and data["positive"].shape == (3, 4)
    assert data["positive"].tolist() == [[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert data["uncertain"][1].tolist() == [0, 0, 0, 1]
    assert data["negated"][1].tolist() == [0, 0, 1, 0]


def test_npz_of_nothing_has_the_right_shape() -> None:
    handle = io.BytesIO()
    writer = make_writer("npz", handle, space=SPACE)
    writer.close()
    handle.seek(0)
    assert np.load(handle)["positive"].shape == (0, 4)


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.jsonl", "jsonl"), ("b.CSV", "csv"), ("c.parquet", "parquet"), ("d.npz", "npz"), ("e.txt", None)],
)
def test_format_for(name: str, fmt: str | None) -> None:
    assert format_for(name) == fmt
    assert fmt is None or fmt in FORMATS


def test_unknown_format_and_npz_without_space() -> None:
    with pytest.raises(InputError, match="unknown output format 'xml': expected one of jsonl, csv, wide-csv, parquet"):
        make_writer("xml", io.StringIO())
    for fmt in ("npz", "wide-csv"):
        with pytest.raises(InputError, match=f"the {fmt} format needs a label space"):
            make_writer(fmt, io.BytesIO())


class Words:
    """A stand-in extractor: one row per text, its words as labels; no row for an empty text."""

    def pipe(self, texts: Iterable[str], *, batch_size: int = 64) -> Iterator[list[LesionLabels]]:
        for text in texts:
            yield [LesionLabels(None, text, tuple(sorted(set(text.split()))))] if text else []


@pytest.mark.parametrize(("jobs", "chunk_size"), [(1, 1), (1, 7), (2, 3), (3, 5)])
def test_runner_keeps_input_order_whatever_the_jobs(jobs: int, chunk_size: int) -> None:
    items = [(i, f"word{i} common" if i % 10 else "") for i in range(100)]
    out = list(extract_texts(items, extractor=Words(), jobs=jobs, chunk_size=chunk_size))
    assert [key for key, _ in out] == list(range(100))
    assert out == list(extract_texts(items, extractor=Words()))
    assert out[0][1] == [EMPTY_ROW] and out[1][1][0].labels == ("common", "word1")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "wide-csv", "npz"])
def test_encoding_in_workers_gives_the_same_file(fmt: str) -> None:
    texts = [(f"r{i}", f"liver mass nodule{i % 3}" if i % 4 else "") for i in range(50)]
    outputs = []
    for jobs in (1, 2):
        handle: io.BytesIO | io.StringIO = io.BytesIO() if fmt == "npz" else io.StringIO()
        writer = make_writer(fmt, handle, space=SPACE)
        for _, encoded in extract_texts(texts, extractor=Words(), encode=writer.encoder, jobs=jobs, chunk_size=7):
            writer.write_encoded(encoded)
        writer.close()
        assert writer.rows == 50
        outputs.append(handle.getvalue())
    assert outputs[0] == outputs[1]


def test_runner_rejects_bad_jobs() -> None:
    with pytest.raises(InputError, match="must be at least 1, got 0"):
        extract_texts([], extractor=Words(), jobs=0)
