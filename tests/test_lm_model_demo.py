"""The end-to-end demo, small: every step runs and leaves its outputs in one folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("SimpleITK")

from lesion_model.demo import run_demo


@pytest.mark.slow
def test_small_demo_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_demo(
        tmp_path, patients=12, image_size=128, epochs=1, width=0.125, downsample=2, batch_size=8, echo=lines.append
    )
    for name in ("metrics.json", "roc.png", "category_auc.png", "annotation.png", "summary.txt"):
        assert (tmp_path / name).is_file(), name
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert "mean_auc" in metrics and metrics["model"]["head"] == "multiscale"
    assert [name for name, _ in result["rows"]] == ["+ bootstrap (full method)"]
    assert set(result["timings"]) >= {"synthesize", "extract", "prepare", "annotate"}
    assert "overall" in lines[0] and "bodypart" in lines[0]
