"""Annotation: top-k with TP/FP/FN, NIfTI and DeepLesion PNG inputs, the figure, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402
from lm_helpers import make_store  # noqa: E402

from lesion_model.annotation import annotate, read_lesion  # noqa: E402
from lesion_model.cli import annotate as main  # noqa: E402
from lesion_model.errors import DataError  # noqa: E402
from lesion_model.training import TrainConfig, load_checkpoint, train  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SAMPLES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "deeplesion" / "samples"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lm_annotate")
    store = make_store(root / "store", n=16, seed=7)
    train(TrainConfig(data=str(store), out=str(root / "run"), width=0.125, hidden=8, epochs=1, batch_size=4))
    return root / "run"


def _phantom() -> np.ndarray:
    hu = np.full((3, 120, 120), 40.0, dtype=np.float32)
    hu[:, 50:70, 50:70] = -20.0
    return hu


def test_top_k_with_truth(run_dir: Path) -> None:
    loaded = load_checkpoint(run_dir)
    predictions, scores = annotate(loaded, _phantom(), (50, 50, 70, 70), top=3)
    assert len(predictions) == 3 and scores.shape == (len(loaded.labels),)
    assert [p.score for p in predictions] == sorted(scores, reverse=True)[:3]
    assert all(p.status is None for p in predictions)
    order = np.argsort(-scores)
    truth = [loaded.labels[order[0]], loaded.labels[order[-1]]]
    marked, _ = annotate(loaded, _phantom(), (50, 50, 70, 70), top=3, truth=truth)
    assert [p.status for p in marked] == ["TP", "FP", "FP", "FN"]
    assert marked[-1].label == loaded.labels[order[-1]]
    with pytest.raises(DataError, match="not labels of this model"):
        annotate(loaded, _phantom(), (50, 50, 70, 70), truth=["no such label"])


def test_cli_on_nifti_json_and_figure(run_dir: Path, tmp_path: Path) -> None:
    sitk = pytest.importorskip("SimpleITK")
    volume = np.full((5, 96, 96), -1000, dtype=np.int16)
    volume[:, 20:80, 20:80] = 50
    volume[1:4, 40:56, 44:60] = 150
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing((0.8, 0.8, 2.0))
    path = tmp_path / "ct.nii.gz"
    sitk.WriteImage(image, str(path))
    fig = tmp_path / "fig.png"
    args = ["--checkpoint", str(run_dir / "checkpoint.pt"), "--image", str(path), "--slice", "2"]
    args += ["--bbox", "44,40,59,55", "--top", "4", "--json", "--out", str(fig), "--device", "cpu"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert len(record["predictions"]) == 4 and record["replicated"] is False
    assert fig.read_bytes()[:8] == PNG_MAGIC
    text = CliRunner().invoke(main, [*args[:8], "--device", "cpu"])
    assert text.exit_code == 0 and len(text.stdout.strip().splitlines()) == 5


def test_input_errors(tmp_path: Path) -> None:
    png = tmp_path / "000001_01_01" / "010.png"
    with pytest.raises(DataError, match="--dl-info"):
        read_lesion(png)
    with pytest.raises(DataError, match="--slice and --bbox"):
        read_lesion(tmp_path / "ct.nii.gz", key_slice=1)
    result = CliRunner().invoke(main, ["--checkpoint", str(tmp_path), "--image", str(tmp_path), "--bbox", "1,2,3"])
    assert result.exit_code == 1 and "lesion-annotate: error:" in result.stderr


@pytest.mark.shared
@pytest.mark.skipif(not (SAMPLES / "DL_info_samples.csv").is_file(), reason="../shared samples absent")
def test_real_deeplesion_key_slice(run_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("SimpleITK")
    png = SAMPLES / "Images_png" / "000016_02_01" / "253.png"
    info = SAMPLES / "DL_info_samples.csv"
    missing = CliRunner().invoke(main, ["--checkpoint", str(run_dir), "--image", str(png), "--dl-info", str(info)])
    assert missing.exit_code == 1 and "replicate" in missing.stderr
    args = ["--checkpoint", str(run_dir), "--image", str(png), "--dl-info", str(info), "--replicate-key-only"]
    result = CliRunner().invoke(main, [*args, "--json", "--out", str(tmp_path / "real.png")])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["replicated"] is True and len(record["predictions"]) == 5
    assert record["bbox"] == pytest.approx([258.656, 190.607, 289.07, 218.469])


def test_truth_is_expanded_to_ancestors_in_the_label_set() -> None:
    from lesion_model.annotation.annotate import _truth_labels

    labels = ("liver", "abdomen", "upper abdomen", "lung")
    assert _truth_labels(["liver"], labels) == ["liver", "abdomen", "upper abdomen"]
    assert _truth_labels(["lung, liver"], ("lung", "liver")) == ["lung", "liver"]
    assert _truth_labels([], labels) == []
