"""Evaluation: metrics.json layout, thresholds, plots, expansion, label checks, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from lesion_model.data.store import PatchStore, write_store  # noqa: E402
from lesion_model.errors import DataError  # noqa: E402
from lesion_model.evaluate import (  # noqa: E402
    evaluate_checkpoint,
    expand_scores,
    format_table,
    main,
)
from lesion_model.synth import make_store  # noqa: E402
from lesion_model.train import TrainConfig, train  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("lm_eval")
    store = make_store(root / "store", n=24, seed=5)
    config = TrainConfig(data=str(store), out=str(root / "run"), width=0.125, hidden=8, epochs=1, batch_size=4)
    train(config)
    return store, root / "run"


def test_metrics_json_and_plots(run: tuple[Path, Path], tmp_path: Path) -> None:
    store, run_dir = run
    result = evaluate_checkpoint(run_dir / "checkpoint.pt", store, out=tmp_path, device="cpu")
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["mean_auc"] == result["mean_auc"]
    assert set(saved["mean_auc_by_category"]) == {"bodypart", "type", "attribute"}
    assert set(saved["table2"]) == {"bodypart", "type", "attribute"}
    opened = PatchStore.open(store)
    assert list(saved["labels"]) == list(opened.labels)
    test_rows = opened.split_indices("test")
    for label, entry in saved["labels"].items():
        c = opened.labels.index(label)
        assert entry["positives"] == int(opened.positive[test_rows, c].sum())
        assert entry["threshold_source"] in {"val", "default"}
        assert 0.0 <= entry["f1"] <= 1.0
    assert saved["lesions"] == len(test_rows)
    for name in ("roc.png", "category_auc.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC


def test_default_output_folder_and_cli(run: tuple[Path, Path]) -> None:
    store, run_dir = run
    result = CliRunner().invoke(
        main, ["--checkpoint", str(run_dir), "--data", str(store), "--split", "val", "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    assert "overall" in result.stdout and "bodypart" in result.stdout
    assert (run_dir / "eval_val" / "metrics.json").is_file()


def test_store_with_other_labels_is_refused(run: tuple[Path, Path], tmp_path: Path) -> None:
    store, run_dir = run
    opened = PatchStore.open(store)
    from lesion_model.data.store import StoreLabels

    labels = StoreLabels(
        "other", ("x", *opened.labels[1:]), opened.categories, "test", opened.positive, opened.uncertain, opened.negated
    )
    other = write_store(
        tmp_path / "other", patch_chunks=[np.asarray(opened.patches)], index=opened.index, labels=labels
    )
    with pytest.raises(DataError, match="labels differ"):
        evaluate_checkpoint(run_dir, other, out=tmp_path / "out", device="cpu")
    with pytest.raises(DataError, match="not among"):
        evaluate_checkpoint(run_dir, store, out=tmp_path / "out", roc_labels=["nope"], device="cpu")


class _Graph:
    """A tiny label DAG: chest → lung → lung nodule."""

    below: ClassVar[dict[str, set[str]]] = {
        "chest": {"lung", "lung nodule"},
        "lung": {"lung nodule"},
        "lung nodule": set(),
    }

    def __contains__(self, label: object) -> bool:
        return label in self.below

    def descendants(self, label: str) -> frozenset[str]:
        return frozenset(self.below[label])


def test_expand_scores_raises_ancestors_to_descendant_max() -> None:
    labels = ["chest", "lung nodule", "unknown", "lung"]
    scores = np.array([[0.1, 0.9, 0.5, 0.2], [0.6, 0.1, 0.5, 0.3]])
    out = expand_scores(scores, labels, _Graph())
    assert out.tolist() == [[0.9, 0.9, 0.5, 0.9], [0.6, 0.1, 0.5, 0.3]]


def test_format_table() -> None:
    metrics = {"mean_auc": 0.9083, "mean_auc_by_category": {"bodypart": 0.9431, "type": 0.8659, "attribute": None}}
    text = format_table([("multiscale + weighted_bootstrap", metrics)])
    assert "0.9083" in text and "0.9431" in text and "n/a" in text
