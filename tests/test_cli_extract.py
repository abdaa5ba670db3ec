"""``radminer extract``: formats, --jobs, bad input, atomic output, Ctrl-C; extract_dataframe."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import resource
import signal
import stat
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cli_helpers import records, run
from click.testing import CliRunner

from radminer.cli import main
from radminer.ontology.owl import read_owl
from radminer.ontology.resources import shipped_ontology

REPORTS = (
    "id,text,impression\n"
    '1,"Hepatic mass BOOKMARK. Liver nodule.",Stable.\n'
    "2,,\n"
    '3,"Right lung nodule, 5 × 3 mm.",No effusion.\n'
    '3,"Duplicate id, liver.",\n'
)


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    path = tmp_path / "reports.csv"
    path.write_text(REPORTS, encoding="utf-8")
    return path


def test_jsonl_with_only_the_contract_arguments(reports: Path, tmp_path: Path) -> None:
    out = tmp_path / "labels.jsonl"
    result = run(reports, "-o", out)
    assert result.exit_code == 0, result.output
    rows = records(out)
    assert [r["id"] for r in rows] == ["1", "2", "3", "3"]  # input order, duplicate ids kept
    assert [list(r) for r in rows] == [["id", "bookmark", "sentence", "labels", "uncertain", "negated", "mentions"]] * 4
    assert "liver" in rows[0]["labels"] or "liver" in rows[0]["uncertain"]
    assert rows[1] == {
        "id": "2",
        "bookmark": None,
        "sentence": "",
        "labels": [],
        "uncertain": [],
        "negated": [],
        "mentions": [],
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.jsonl", "reports.csv"]


def test_jsonl_on_stdout_without_output(reports: Path, tmp_path: Path) -> None:
    result = run(reports)
    assert result.exit_code == 0
    out = tmp_path / "labels.jsonl"
    run(reports, "-o", out)
    assert result.stdout == out.read_text(encoding="utf-8")


def test_text_columns_are_joined(reports: Path) -> None:
    result = run(reports, "--text-column", "text", "--text-column", "impression")
    sentences = "".join(json.loads(line)["sentence"] for line in result.stdout.splitlines())
    assert "Right lung nodule, 5 × 3 mm.\n\nNo effusion." in sentences


@pytest.mark.parametrize(
    ("suffix", "fmt"), [("csv", "csv"), ("parquet", "parquet"), ("npz", "npz"), ("ndjson", "jsonl")]
)
def test_format_from_suffix(reports: Path, tmp_path: Path, suffix: str, fmt: str) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"labels.{suffix}"
    assert run(reports, "-o", out).exit_code == 0
    explicit = tmp_path / f"explicit.{suffix}.out"
    assert run(reports, "-o", explicit, "--format", fmt).exit_code == 0
    assert out.read_bytes() == explicit.read_bytes() or fmt == "parquet"


@pytest.mark.parametrize("name", ["labels.json", "labels.jsonl.gz", "labels"])
def test_unknown_output_suffix_is_refused_naming_the_formats(reports: Path, tmp_path: Path, name: str) -> None:
    result = CliRunner().invoke(main, ["extract", str(reports), "-o", str(tmp_path / name)])
    assert result.exit_code == 2
    assert (
        "cannot tell the output format of" in result.stderr and ".jsonl (jsonl), .ndjson (jsonl), .csv" in result.stderr
    )
    assert "--format" in result.stderr and not (tmp_path / name).exists()


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_output_equal_to_the_input_is_refused(reports: Path, tmp_path: Path, link: str) -> None:
    out = {"same": reports, "symlink": tmp_path / "link.csv", "hardlink": tmp_path / "hard.csv"}[link]
    if link == "symlink":
        out.symlink_to(reports)
    elif link == "hardlink":
        os.link(reports, out)
    result = CliRunner().invoke(main, ["extract", str(reports), "-o", str(out)])
    assert result.exit_code == 2 and "is the input file" in result.stderr
    assert reports.read_text(encoding="utf-8") == REPORTS


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "npz"])
def test_full_device_is_one_error_line(reports: Path, fmt: str) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    result = run(reports, "-o", "/dev/full", "--format", fmt)
    assert result.exit_code == 1
    assert result.stderr == "radminer: error: cannot write /dev/full: No space left on device\n"


def test_fifo_output_is_written_through(reports: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    result = run(reports, "-o", fifo)
    assert result.exit_code == 0
    assert reader.communicate(timeout=30)[0].decode().count("\n") == 4
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_symlink_output_replaces_its_target_and_keeps_the_link(reports: Path, tmp_path: Path) -> None:
    target = tmp_path / "target.jsonl"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    assert run(reports, "-o", link).exit_code == 0
    assert link.is_symlink() and len(records(target)) == 4


def test_output_mode_follows_the_umask(reports: Path, tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        assert run(reports, "-o", tmp_path / "labels.jsonl").exit_code == 0
        assert run("--help").exit_code == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "labels.jsonl").stat().st_mode) == 0o644


def _cli(*args: object, **kwargs: Any) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "radminer", "extract", *map(str, args), "--no-progress"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def test_full_disk_is_one_error_line_and_leaves_nothing(reports: Path, tmp_path: Path) -> None:
    def small_files() -> None:  # writes past 2 kB fail with EFBIG, as on a full disk
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, resource.RLIM_INFINITY))

    read_owl(shipped_ontology())  # the ontology cache is written now, not by the limited process
    many = tmp_path / "many.csv"
    many.write_text("id,text\n" + "".join(f"{i},Liver mass {i}.\n" for i in range(300)), encoding="utf-8")
    process = _cli(many, "-o", tmp_path / "out" / "labels.jsonl", preexec_fn=small_files)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1
    assert err == f"radminer: error: cannot write {tmp_path / 'out' / 'labels.jsonl'}: File too large\n"
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(
    ("signum", "jobs", "fmt"),
    [(signal.SIGTERM, 2, "jsonl"), (signal.SIGHUP, 1, "npz"), (signal.SIGINT, 1, "parquet"), (signal.SIGINT, 2, "csv")],
)
def test_signals_clean_up_and_stop_the_workers(tmp_path: Path, signum: int, jobs: int, fmt: str) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    many = tmp_path / "many.csv"
    many.write_text(
        "id,text\n" + "".join(f"{i},Liver mass BOOKMARK. Lung nodule {i} and no effusion.\n" for i in range(300_000)),
        encoding="utf-8",
    )
    # as from a terminal: a job started in the background of a script inherits SIGINT ignored
    interruptible = partial(signal.signal, signal.SIGINT, signal.SIG_DFL)
    process = _cli(many, "-o", tmp_path / f"labels.{fmt}", "--jobs", jobs, preexec_fn=interruptible)
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(f".labels.{fmt}.*.part")) or len(children.read_text().split()) < jobs * (jobs > 1):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    workers = [int(pid) for pid in children.read_text().split()]
    time.sleep(0.5)  # mining
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 128 + signum
    name = "interrupted" if signum == signal.SIGINT else f"terminated ({signal.Signals(signum).name})"
    assert err == f"radminer: {name}\n"  # no traceback, no "Exception ignored"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["many.csv"]
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()


def test_huge_bogus_header_gives_a_bounded_error_line(tmp_path: Path) -> None:
    path = tmp_path / "bogus.csv"
    path.write_text("x" * 10_000_000 + "\n1\n", encoding="utf-8")
    result = run(path, "-o", tmp_path / "labels.jsonl")
    assert result.exit_code == 1
    assert "has no column 'id' (columns present: 'xxx" in result.stderr
    assert "… (10,000,000 characters)" in result.stderr and len(result.stderr) < 600


def test_wide_csv_has_a_column_per_label_of_the_label_set(reports: Path, tmp_path: Path) -> None:
    out = tmp_path / "wide.csv"
    assert run(reports, "-o", out, "--format", "wide-csv", "--label-set", "lesanet171").exit_code == 0
    header, *rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert header[:2] == ["id", "bookmark"] and len(header) == 2 + 171
    assert [row[:2] for row in rows] == [["1", "0"], ["2", ""], ["3", ""], ["3", ""]]
    by_label = [dict(zip(header[2:], row[2:], strict=True)) for row in rows]
    assert by_label[0]["liver"] == "1" and set(by_label[1].values()) == {""}
    jsonl = records(tmp_path / "labels.jsonl") if run(reports, "-o", tmp_path / "labels.jsonl").exit_code == 0 else []
    for values, record in zip(by_label, jsonl, strict=True):
        for status, value in (("labels", "1"), ("uncertain", "-1"), ("negated", "0")):
            assert {x for x in record[status] if x in values} == {x for x, v in values.items() if v == value}


def test_format_choices_are_the_writers_formats() -> None:
    from radminer.io.writers import FORMATS

    option = next(p for p in main.commands["extract"].params if p.name == "fmt")  # type: ignore[attr-defined]
    assert tuple(option.type.choices) == FORMATS


def test_npz_holds_the_label_set(reports: Path, tmp_path: Path) -> None:
    out = tmp_path / "labels.npz"
    assert run(reports, "-o", out).exit_code == 0
    data = np.load(out)
    k = len(data["labels"])
    assert data["positive"].shape == (4, k) and data["positive"].dtype == np.uint8
    assert data["ids"].tolist() == ["1", "2", "3", "3"]
    assert data["positive"][1].sum() == 0 and data["positive"][0].sum() > 0


def test_binary_format_needs_an_output_file(reports: Path) -> None:
    result = CliRunner().invoke(main, ["extract", str(reports), "--format", "npz"])
    assert result.exit_code == 2
    assert "--format npz writes a binary file: give it a path with -o" in result.output


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "npz"])
def test_jobs_give_identical_output(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "many.csv"
    lines = [f'{i},"Report {i}: liver mass, lung nodule {i % 7}."' if i % 5 else f"{i}," for i in range(600)]
    path.write_text("id,text\n" + "\n".join(lines) + "\n", encoding="utf-8")
    one, two = tmp_path / f"one.{fmt}", tmp_path / f"two.{fmt}"
    assert run(path, "-o", one, "--jobs", 1).exit_code == 0
    assert run(path, "-o", two, "--jobs", 2).exit_code == 0
    assert one.read_bytes() == two.read_bytes()
    if fmt == "jsonl":
        assert [r["id"] for r in records(two)] == [str(i) for i in range(600)]


def test_missing_column_lists_columns_present(reports: Path, tmp_path: Path) -> None:
    result = run(reports, "-o", tmp_path / "x.jsonl", "--text-column", "findings")
    assert result.exit_code == 1
    assert f"radminer: error: {reports} has no column 'findings' (columns present: 'id', 'text', 'impression')" in (
        result.stderr
    )
    assert not (tmp_path / "x.jsonl").exists()


BAD = 'id,text\n1,Liver mass.\n2,"bad "quote\n3,"unclosed\n'


def test_unreadable_row_fails_naming_file_line_column_and_leaves_no_output(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(BAD, encoding="utf-8")
    out = tmp_path / "labels.jsonl"
    out.write_text("previous\n", encoding="utf-8")
    result = run(path, "-o", out)
    assert result.exit_code == 1
    assert f"radminer: error: {path}: line 3, column 9 (field 'text'): expected ','" in result.stderr
    assert out.read_text(encoding="utf-8") == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "labels.jsonl"]


def test_on_error_skip_logs_rows_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(BAD.encode() + b"4,caf\xe9\n")
    out = tmp_path / "labels.jsonl"
    result = run(path, "-o", out, "--on-error", "skip")
    assert result.exit_code == 0
    assert [r["id"] for r in records(out)] == ["1"]
    errors = records(tmp_path / "labels.errors.jsonl")
    assert [(e["line"], e["column"], e["field"]) for e in errors] == [(3, 9, "text"), (4, 3, "text")]
    assert errors[0]["raw"] == '2,"bad "quote\n' and "never closed" in errors[1]["error"]
    assert "skipped 2 unreadable row(s), listed in" in result.stderr


def test_on_error_skip_to_stderr_without_output(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"id,text\n1,ok\n2,caf\xe9\n")
    result = run(path, "--on-error", "skip")
    assert result.exit_code == 0
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["1"]
    assert "line 3, column 6 (field 'text'): invalid UTF-8 byte 0xe9" in result.stderr


def test_a_1mb_text(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    text = "No acute findings. " * 55_000 + "Liver mass."
    path.write_text(f'id,text\n1,"{text}"\n2,Lung nodule.\n', encoding="utf-8")
    result = run(path)
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["1", "2"]
    assert rows[0]["mentions"][-1]["end"] == len(text) - 1  # "mass", the offset into the 1 MB text


@pytest.mark.parametrize("jobs", [1, 2])
def test_ctrl_c_leaves_no_partial_output(
    reports: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    from radminer.io import writers

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(writers.TextWriter, "write_encoded", interrupt)
    out = tmp_path / "labels.jsonl"
    result = run(reports, "-o", out, "--on-error", "skip", "--jobs", jobs)
    assert result.exit_code == 130
    assert "radminer: interrupted" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reports.csv"]


def test_progress_bar_on_stderr_when_forced(reports: Path) -> None:
    result = run(reports, "--progress")
    assert "reports" in result.stderr and result.stdout.count("\n") == 4
    assert run(reports, "--no-progress").stderr == ""


def test_help_documents_exit_codes() -> None:
    result = run("--help")
    assert "Exit status: 0 success" in result.output and "130 interrupted" in result.output


def test_extract_dataframe(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    import radminer

    df = pd.DataFrame({"uid": [7, 8], "findings": ["Liver mass.", None], "impression": ["Lung nodule.", float("nan")]})
    out = radminer.extract_dataframe(df, text_columns=["findings", "impression"], id_column="uid")
    assert list(out.columns) == ["id", "bookmark", "sentence", "labels", "uncertain", "negated", "mentions"]
    assert out["id"].tolist() == [7, 8]
    assert out["labels"][1] == [] and "Lung nodule." in out["sentence"][0]
    with pytest.raises(radminer.InputError, match="the DataFrame has no column 'text'"):
        radminer.extract_dataframe(df, id_column=None)


def test_hiding_torch_from_spacy_leaves_torch_importable() -> None:
    code = (
        "import sys; from radminer.cli.commands import _import_spacy_without_torch as hide; hide(); "
        "assert 'spacy' in sys.modules and 'torch' not in sys.modules; import torch; print(torch.__name__)"
    )
    pytest.importorskip("torch")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "torch"


def test_compressed_and_parquet_input_give_the_plain_output(reports: Path, tmp_path: Path) -> None:
    expected = run(reports).stdout
    gz = tmp_path / "reports.csv.gz"
    gz.write_bytes(gzip.compress(reports.read_bytes()))
    assert run(gz).stdout == expected
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    parquet = tmp_path / "reports.parquet"
    pd.read_csv(reports, dtype=str, keep_default_na=False).to_parquet(parquet)
    assert run(parquet).stdout == expected


def test_encoding_option(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("id,text\n1,Lésion hépatique: liver mass.\n".encode("latin-1"))
    result = run(path, "--encoding", "latin-1")
    assert result.exit_code == 0 and json.loads(result.stdout)["sentence"] == "Lésion hépatique: liver mass."
    assert "invalid UTF-8 byte 0xe9" in run(path).stderr
    result = CliRunner().invoke(main, ["extract", str(path), "--encoding", "klingon"])
    assert result.exit_code == 2 and "unknown text encoding 'klingon'" in result.stderr


@pytest.mark.parametrize(
    ("flag", "text", "label", "by_default"),
    [
        ("--organ-parts", "Right lower lobe nodule.", "lung nodule", False),  # a lobe stands for the lung
        ("--exact-spelling", "Mild left hydronephorsis.", "hydronephrosis", True),  # a long misspelled term word
    ],
)
def test_flag_options(tmp_path: Path, flag: str, text: str, label: str, by_default: bool) -> None:
    """A flag turns on (``--organ-parts``) or off (``--exact-spelling``) what gives ``label``."""
    source = tmp_path / "report.csv"
    source.write_text(f"id,text\n1,{text}\n", encoding="utf-8")
    default, flagged = tmp_path / "default.jsonl", tmp_path / "flagged.jsonl"
    assert run(source, "-o", default, "--no-progress").exit_code == 0
    assert run(source, "-o", flagged, "--no-progress", flag).exit_code == 0
    assert (label in records(default)[0]["labels"]) is by_default
    assert (label in records(flagged)[0]["labels"]) is not by_default
