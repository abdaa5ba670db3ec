"""Rows per sentence: ``Extractor.sentences``, ``radminer extract --per sentence`` in every format,
``--jobs``, ``extract_dataframe`` and the Dask engine, and the bounds on hostile rows."""

from __future__ import annotations

import csv
import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import records, run

import radminer
from radminer.engines.local import extract_texts
from radminer.errors import InputError, RadminerWarning
from radminer.text.mentions import SentenceLabels

REPORT = (
    "FINDINGS: No pleural effusion. Unremarkable spleen.\n"
    "LIVER: 3 cm mass, likely a hemangioma.\n\n"
    "IMPRESSION: Left adrenal nodule BOOKMARK. No liver mass.  \n"
)
FIELDS = ["id", "sentence_index", "start", "end", "section", "sentence", "labels", "uncertain", "negated", "mentions"]
REPORTS = f'id,text\nr1,"{REPORT}"\nr2,\nr3,"Possible lung nodule, ""quoted""; no effusion"\n'


@pytest.fixture(scope="module")
def extractor() -> radminer.Extractor:
    return radminer.Extractor()


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    path = tmp_path / "reports.csv"
    path.write_text(REPORTS, encoding="utf-8")
    return path


def test_one_row_per_sentence_with_offsets_and_sections(extractor: radminer.Extractor) -> None:
    rows = extractor.sentences(REPORT)
    assert all(isinstance(row, SentenceLabels) for row in rows)
    assert [row.sentence for row in rows] == [
        "FINDINGS:",
        "No pleural effusion.",
        "Unremarkable spleen.",
        "LIVER:",
        "3 cm mass, likely a hemangioma.",
        "IMPRESSION:",
        "Left adrenal nodule BOOKMARK.",
        "No liver mass.",
    ]
    assert [row.sentence_index for row in rows] == list(range(len(rows)))
    assert all(REPORT[row.start : row.end] == row.sentence for row in rows)  # blanks at the ends left out
    assert [row.section for row in rows] == ["findings"] * 5 + ["impression"] * 3
    for row in rows:  # each mention lies in its sentence
        assert all(row.start <= m.start and m.end <= row.end for m in row.mentions)


def test_labels_are_those_of_each_sentence(extractor: radminer.Extractor) -> None:
    rows = {row.sentence: row for row in extractor.sentences(REPORT)}
    assert rows["No pleural effusion."].negated == ("effusion", "pleural effusion")
    assert rows["Unremarkable spleen."].labels == ()  # normal: in no list, but among the mentions
    assert [m.status for m in rows["Unremarkable spleen."].mentions] == ["normal"]
    assert "liver mass" in rows["3 cm mass, likely a hemangioma."].labels  # the organ header composes
    assert "hemangioma" in rows["3 cm mass, likely a hemangioma."].uncertain
    assert "liver mass" in rows["No liver mass."].negated  # negated here, positive two sentences before
    assert rows["FINDINGS:"] == SentenceLabels(0, 0, 9, "findings", "FINDINGS:")  # a row without mentions
    # A bookmark is a token like another: no mention about another lesion becomes irrelevant.
    assert {m.status for row in rows.values() for m in row.mentions} <= {"positive", "negated", "uncertain", "normal"}


def test_sections_that_do_not_count_keep_their_mentions(extractor: radminer.Extractor) -> None:
    (history, finding) = extractor.sentences("HISTORY: Liver mass.\nFINDINGS: Liver mass.")[1::2]
    assert history.section == "history" and history.labels == () and history.mentions
    assert finding.section == "findings" and "liver mass" in finding.labels


def test_empty_texts_give_no_row_and_a_text_without_headers_no_section(extractor: radminer.Extractor) -> None:
    assert extractor.sentences("") == [] and extractor.sentences(" \n\n ") == []
    (row,) = extractor.sentences("  Liver mass.  ")
    assert (row.start, row.end, row.section, row.sentence) == (2, 13, None, "Liver mass.")


def test_pipe_sentences_is_sentences_over_a_stream_and_the_cache_keeps_kinds_apart() -> None:
    extractor = radminer.Extractor(label_set="lesanet171")
    texts = [REPORT, "Liver mass. Renal cyst.", REPORT]
    assert extractor(REPORT)[0].bookmark == 0  # rows per lesion first: the cache must not give them again
    assert list(extractor.pipe_sentences(texts)) == [extractor.sentences(t) for t in texts]
    assert extractor(REPORT) == radminer.Extractor(label_set="lesanet171", cache_size=0)(REPORT)
    assert all(set(r.labels) <= set(extractor.label_space.labels) for r in extractor.sentences(REPORT))


def test_hostile_rows_stay_bounded_and_linear() -> None:
    extractor = radminer.Extractor(max_sentence_chars=100)
    glued = "BOOKMARK" * 2_000  # one token, one sentence: its text is cut
    (row,) = extractor.sentences(glued)
    assert (row.start, row.end) == (0, len(glued)) and row.sentence == "BOOKMARK" * 12 + "BOOK…"
    line = "liver mass and " * 2_000  # a sentence of 6,000 tokens: one row per piece, no repeated text
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rows = extractor.sentences(line)
    assert [str(w.message).count("cut into pieces") for w in caught if w.category is RadminerWarning] == [1]
    assert len(rows) > 1 and sum(len(r.sentence) for r in rows) <= len(line)
    assert all(line[r.start : r.end].startswith(r.sentence.rstrip("…")) for r in rows)


@pytest.mark.parametrize("jobs", [1, 2])
def test_cli_jsonl_per_sentence(reports: Path, tmp_path: Path, jobs: int, extractor: radminer.Extractor) -> None:
    out = tmp_path / "sentences.jsonl"
    result = run(reports, "-o", out, "--per", "sentence", "--jobs", jobs)
    assert result.exit_code == 0, result.output
    rows = records(out)
    assert all(list(row) == FIELDS for row in rows)
    assert [row["id"] for row in rows] == ["r1"] * 8 + ["r3"]  # an empty report has no sentence
    expected = [r.to_dict("r1") for r in extractor.sentences(REPORT)]
    assert rows[:8] == json.loads(json.dumps(expected))


def test_cli_jobs_give_the_same_bytes(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for i in range(600):
            writer.writerow([i, REPORT if i % 3 else f"Right lung nodule {i} mm. No effusion."])
    for fmt in ("jsonl", "csv", "wide-csv"):
        one, two = tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"
        assert run(path, "-o", one, "--format", fmt, "--per", "sentence", "--label-set", "lesanet171").exit_code == 0
        args = (path, "-o", two, "--format", fmt, "--per", "sentence", "--label-set", "lesanet171", "--jobs", 2)
        assert run(*args).exit_code == 0
        assert one.read_bytes() == two.read_bytes(), fmt


def test_cli_csv_and_wide_csv_per_sentence(reports: Path, tmp_path: Path) -> None:
    out = tmp_path / "sentences.csv"
    assert run(reports, "-o", out, "--per", "sentence").exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0]) == FIELDS[:-1]
    assert rows[1]["sentence"] == "No pleural effusion." and rows[1]["negated"] == "effusion|pleural effusion"
    assert rows[-1]["section"] == "" and rows[-1]["sentence"] == 'Possible lung nodule, "quoted"; no effusion'
    wide = tmp_path / "wide.csv"
    result = run(reports, "-o", wide, "--format", "wide-csv", "--per", "sentence", "--label-set", "lesanet171")
    assert result.exit_code == 0, result.output
    table = list(csv.reader(io.StringIO(wide.read_text(encoding="utf-8"))))
    header = table[0]
    assert header[:5] == ["id", "sentence_index", "start", "end", "section"] and len(header) == 5 + 171
    by_sentence = {(r[0], r[1]): dict(zip(header, r, strict=True)) for r in table[1:]}
    assert by_sentence["r1", "4"]["liver"] == "1" and by_sentence["r1", "7"]["liver mass"] == "0"
    assert by_sentence["r3", "0"]["lung nodule"] == "-1" and by_sentence["r1", "0"]["liver"] == ""


def test_cli_parquet_per_sentence(reports: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out, jsonl = tmp_path / "sentences.parquet", tmp_path / "sentences.jsonl"
    assert run(reports, "-o", out, "--per", "sentence").exit_code == 0
    assert run(reports, "-o", jsonl, "--per", "sentence").exit_code == 0
    table = pq.read_table(out)
    assert table.column_names == FIELDS
    assert str(table.schema.field("sentence_index").type) == "int32"
    expected = records(jsonl)
    for got, want in zip(table.to_pylist(), expected, strict=True):
        mentions = [{k: v for k, v in m.items() if v is not None} for m in got.pop("mentions")]
        assert {**got, "mentions": mentions} == want


def test_cli_npz_per_sentence_is_a_usage_error(reports: Path, tmp_path: Path) -> None:
    result = run(reports, "-o", tmp_path / "labels.npz", "--per", "sentence")
    assert result.exit_code == 2
    assert "--per sentence does not go with --format npz" in result.output
    assert not (tmp_path / "labels.npz").exists()


def test_default_is_per_report(reports: Path, tmp_path: Path) -> None:
    default, per_report = tmp_path / "default.jsonl", tmp_path / "report.jsonl"
    assert run(reports, "-o", default).exit_code == 0
    assert run(reports, "-o", per_report, "--per", "report").exit_code == 0
    assert default.read_bytes() == per_report.read_bytes()


def test_extract_dataframe_per_sentence(extractor: radminer.Extractor) -> None:
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame({"id": ["r1", "r2"], "text": [REPORT, None]})
    out = radminer.extract_dataframe(df, extractor=extractor, per="sentence")
    assert list(out.columns) == FIELDS
    assert out.to_dict("records") == [r.to_dict("r1") for r in extractor.sentences(REPORT)]


def test_runner_errors() -> None:
    class Plain:
        def pipe(self, texts: Any, *, batch_size: int = 256) -> Iterator[list[Any]]:
            yield from ([] for _ in texts)

    with pytest.raises(InputError, match="per='sentence' needs a radminer Extractor, found Plain"):
        extract_texts([("1", "text")], extractor=Plain(), per="sentence")
    with pytest.raises(InputError, match="per: expected one of report, sentence, found 'lesion'"):
        extract_texts([("1", "text")], extractor=Plain(), per="lesion")


def test_dask_engine_per_sentence(client: Any, tmp_path: Path, extractor: radminer.Extractor) -> None:
    import dask.dataframe as dd
    import pandas as pd

    from radminer.engines import dask as radminer_dask

    df = pd.DataFrame({"id": [f"r{i}" for i in range(12)], "text": [REPORT, "Liver mass. No cyst.", ""] * 4})
    result = radminer_dask.extract(dd.from_pandas(df, npartitions=3), per="sentence")
    assert list(result.columns) == FIELDS
    local = radminer.extract_dataframe(df, extractor=extractor, per="sentence")
    pd.testing.assert_frame_equal(result.compute().reset_index(drop=True), local, check_dtype=False)
    source = tmp_path / "reports.csv"
    df.to_csv(source, index=False)
    address = client.scheduler.address
    for fmt in ("jsonl", "wide-csv"):
        mine, theirs = tmp_path / f"local.{fmt}", tmp_path / f"dask.{fmt}"
        assert run(source, "-o", mine, "--format", fmt, "--per", "sentence", "--label-set", "lesanet171").exit_code == 0
        args = ("--engine", "dask", "--scheduler", address, "--partitions", 3)
        result = run(source, "-o", theirs, "--format", fmt, "--per", "sentence", "--label-set", "lesanet171", *args)
        assert result.exit_code == 0, result.output
        assert theirs.read_bytes() == mine.read_bytes(), fmt
