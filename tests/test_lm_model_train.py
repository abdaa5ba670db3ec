"""Training: resume equals an uninterrupted run, checkpoints, NaN stop, CLI, config."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402
from lm_helpers import make_store  # noqa: E402

from lesion_model.cli import train as main  # noqa: E402
from lesion_model.data.store import PatchStore  # noqa: E402
from lesion_model.errors import TrainingError  # noqa: E402
from lesion_model.models import ModelConfig, build_model  # noqa: E402
from lesion_model.training import (  # noqa: E402
    InputTransform,
    TrainConfig,
    epoch_generator,
    load_checkpoint,
    load_split,
    train,
    train_one_epoch,
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("lm_train") / "store", n=24, seed=3)


def _config(store: Path, out: Path, **changes) -> TrainConfig:
    base = TrainConfig(
        data=str(store), out=str(out), width=0.125, hidden=8, epochs=2, batch_size=4, lr=0.01, lr_step_epoch=1
    )
    return replace(base, **changes)


def test_resume_continues_to_the_same_weights(store: Path, tmp_path: Path) -> None:
    straight = _config(store, tmp_path / "straight")
    train(straight)
    split = _config(store, tmp_path / "split", epochs=1)
    train(split)
    train(replace(split, epochs=2), resume=True)
    a = load_checkpoint(tmp_path / "straight").checkpoint
    b = load_checkpoint(tmp_path / "split" / "checkpoint.pt").checkpoint
    assert a["epoch"] == b["epoch"] == 2
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"] == 2
    # the lr step at epoch 1 was applied once, by the resumed run
    assert [r["lr"] for r in b["history"]] == [0.01, pytest.approx(0.001)]


def test_run_directory_contents(store: Path, tmp_path: Path) -> None:
    config = _config(store, tmp_path / "run", head="gap", loss="weighted", epochs=1)
    record = train(config)
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == ["checkpoint.pt", "config.json", "history.json"]
    saved = json.loads((run / "config.json").read_text())
    assert TrainConfig.from_dict(saved) == config
    assert record["epoch"] == 1 and record["val_mean_auc"] is not None
    loaded = load_checkpoint(run)  # weights_only=True inside
    opened = PatchStore.open(store)
    assert loaded.labels == opened.labels and loaded.categories == opened.categories
    assert loaded.window == (-1024.0, 3071.0)
    assert loaded.model.config.head == "gap"


def test_resume_refuses_another_configuration(store: Path, tmp_path: Path) -> None:
    config = _config(store, tmp_path / "run", epochs=1)
    train(config)
    with pytest.raises(TrainingError, match="head"):
        train(replace(config, head="gap", epochs=2), resume=True)
    with pytest.raises(TrainingError, match="checkpoint not found"):
        train(_config(store, tmp_path / "empty"), resume=True)


def test_nan_loss_stops_with_a_clear_error(store: Path) -> None:
    opened = PatchStore.open(store)
    data = load_split(opened, "train")
    model = build_model(ModelConfig(num_labels=len(opened.labels), width=0.125, hidden=8))

    def criterion(logits, target, mask):
        return logits.sum() * float("nan")

    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(TrainingError, match="nan by step 1"):
        train_one_epoch(
            model,
            criterion,
            optimizer,
            data,
            transform=InputTransform((-1024.0, 3071.0)),
            batch_size=4,
            device=torch.device("cpu"),
            generator=epoch_generator(0, 0),
            check_every=1,
        )


def test_epoch_generator_is_a_function_of_seed_and_epoch() -> None:
    a = torch.randperm(10, generator=epoch_generator(1, 2))
    assert torch.equal(a, torch.randperm(10, generator=epoch_generator(1, 2)))
    assert not torch.equal(a, torch.randperm(10, generator=epoch_generator(1, 3)))


def test_cli_trains_and_reports_errors(store: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    args = [
        "--data",
        str(store),
        "--out",
        str(out),
        "--width",
        "0.125",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--head",
        "gap",
        "--loss",
        "bce",
    ]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["epoch"] == 1
    bad = runner.invoke(main, ["--data", str(tmp_path / "missing"), "--out", str(tmp_path / "other")])
    assert bad.exit_code == 1
    assert "lesion-train: error:" in bad.stderr and "missing" in bad.stderr


def test_input_transform_window_and_downsample() -> None:
    patches = torch.tensor([-2000, -1024, 1023, 5000], dtype=torch.int16).reshape(1, 1, 2, 2).repeat(1, 3, 2, 2)
    boxes = torch.tensor([[0.0, 0.0, 4.0, 2.0]])
    x, same = InputTransform((-1024.0, 3071.0))(patches, boxes)
    assert x[0, 0, 0].tolist() == pytest.approx([0.0, 0.0, 0.0, 0.0]) and x[0, 0, 1, 1] == 1.0
    assert x[0, 0, 1, 0] == pytest.approx(2047 / 4095) and torch.equal(same, boxes)
    small, b2 = InputTransform((-1024.0, 3071.0), downsample=2)(patches, boxes)
    assert small.shape == (1, 3, 2, 2) and b2.tolist() == [[0.0, 0.0, 2.0, 1.0]]
    raw, _ = InputTransform(None)(torch.full((1, 3, 2, 2), 255, dtype=torch.uint8), boxes)
    assert torch.all(raw == 1.0)


def test_lesions_without_labels_are_left_out(store: Path, tmp_path: Path) -> None:
    from lesion_model.data.store import StoreLabels, write_store

    opened = PatchStore.open(store)
    index = opened.index.copy()
    index["has_labels"] = 1
    train_rows = opened.split_indices("train")
    index.loc[train_rows[:2], "has_labels"] = 0
    labels = StoreLabels("x", opened.labels, opened.categories, "test", opened.positive, opened.uncertain,
                         opened.negated)  # fmt: skip
    copy = write_store(tmp_path / "s", patch_chunks=[np.asarray(opened.patches)], index=index, labels=labels)
    data = load_split(PatchStore.open(copy), "train")
    assert data.rows.tolist() == train_rows[2:].tolist()
