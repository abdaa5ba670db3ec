"""radminer's binary outputs under bad input (issue 12): Parquet prints no "Exception ignored" traceback
when extraction fails, and NPZ refuses ids that NumPy's string arrays would change."""

from __future__ import annotations

import gc
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from radminer.cli import main
from radminer.text.mentions import LesionLabels


def test_parquet_error_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    bad = tmp_path / "bad.csv"
    bad.write_text('id,text\n1,"Liver lesion BOOKMARK."\n2,"never closed\n', encoding="utf-8")
    code = "from radminer.cli import main; main()"
    run = subprocess.run(
        [sys.executable, "-c", code, "extract", str(bad), "-o", str(tmp_path / "out.parquet"), "--no-progress"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 1
    assert run.stderr == f"radminer: error: {bad}: line 3, column 3 (field 'text'): a quoted field is never closed\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_parquet_writer_dropped_unclosed_stays_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyarrow")
    from radminer.io.writers import ParquetWriter

    raised: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", raised.append)
    handle = io.BytesIO()
    writer = ParquetWriter(handle)
    writer.write("r1", [LesionLabels(bookmark=None, sentence="", labels=("liver",))])
    handle.close()  # what an error or Ctrl-C upstream does before the writer is dropped
    del writer
    gc.collect()
    assert raised == []


def test_npz_refuses_ids_ending_in_nul(tmp_path: Path) -> None:
    reports = tmp_path / "reports.csv"
    reports.write_text('id,text\n"a\x00\x00",Liver lesion.\n', encoding="utf-8")
    out = tmp_path / "labels.npz"
    result = CliRunner().invoke(main, ["extract", str(reports), "-o", str(out), "--no-progress"])
    assert result.exit_code == 1
    assert result.stderr == (
        "radminer: error: report id 'a\\x00\\x00' ends with a NUL character, which NumPy's string arrays drop: "
        "write JSONL, CSV or Parquet instead of NPZ\n"
    )
    assert not out.exists()
    reports.write_text('id,text\n"a\x00b",Liver lesion.\n', encoding="utf-8")  # a NUL inside is kept
    assert CliRunner().invoke(main, ["extract", str(reports), "-o", str(out), "--no-progress"]).exit_code == 0
    with np.load(out) as saved:
        assert saved["ids"].tolist() == ["a\x00b"]
