"""Evaluation: metrics.json layout, thresholds, plots, expansion, label checks, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402
from lm_helpers import make_store  # noqa: E402

from lesion_model.cli import evaluate as main  # noqa: E402
from lesion_model.data.store import PatchStore, write_store  # noqa: E402
from lesion_model.errors import DataError  # noqa: E402
from lesion_model.evaluation import (  # noqa: E402
    evaluate_checkpoint,
    expand_scores,
    format_table,
)
from lesion_model.training import TrainConfig, train  # noqa: E402

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


def _relabelled(store: Path, out: Path, change) -> Path:  # type: ignore[no-untyped-def]
    """A copy of ``store`` whose test rows of ``positive`` are changed by ``change(matrix)``."""
    from lesion_model.data.store import StoreLabels

    opened = PatchStore.open(store)
    positive = np.array(opened.positive)
    rows = opened.split_indices("test")
    positive[rows] = change(positive[rows])
    labels = StoreLabels("x", opened.labels, opened.categories, "test", positive, opened.uncertain, opened.negated)
    return write_store(out, patch_chunks=[np.asarray(opened.patches)], index=opened.index, labels=labels)


def test_labels_without_auc_are_named_with_the_reason(
    run: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import warnings

    store, run_dir = run
    labels = PatchStore.open(store).labels

    def single_class(m: np.ndarray) -> np.ndarray:
        m[:, 0], m[:, 1] = 1, 0
        return m

    some = _relabelled(store, tmp_path / "some", single_class)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw matplotlib or numpy warning may leak
        result = evaluate_checkpoint(run_dir, some, out=tmp_path / "a", device="cpu")
    assert result["labels_without_auc"][labels[0]] == "no negative test lesion"
    assert result["labels_without_auc"][labels[1]] == "no positive test lesion"
    assert result["labels"][labels[0]]["auc"] is None
    assert f"labels have no AUC on the test split (left out of the means): no negative test lesion: {labels[0]}" in (
        caplog.text
    )
    assert (tmp_path / "a" / "roc.png").is_file()

    none = _relabelled(store, tmp_path / "none", lambda m: np.zeros_like(m))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "roc.png").write_bytes(b"an earlier run's curves")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = evaluate_checkpoint(run_dir, none, out=tmp_path / "b", device="cpu", roc_labels=[labels[0]])
    assert result["mean_auc"] is None and result["labels_with_auc"] == 0
    assert set(result["labels_without_auc"].values()) == {"no positive test lesion"}
    assert not (tmp_path / "b" / "roc.png").exists() and (tmp_path / "b" / "category_auc.png").is_file()
    assert f"--roc-label {labels[0]!r}: no ROC curve (no positive test lesion)" in caplog.text
    assert "no label has both classes on the test split: roc.png is not drawn" in caplog.text
    cli_result = CliRunner().invoke(main, ["--checkpoint", str(run_dir), "--data", str(none), "--out",
                                           str(tmp_path / "c"), "--device", "cpu", "--batch-size", "0"])  # fmt: skip
    assert cli_result.exit_code == 1
    assert cli_result.stderr == "lesion-eval: error: --batch-size: expected an integer ≥ 1, found 0\n"
