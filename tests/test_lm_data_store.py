"""The patch store: writing, opening, validation errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from lm_helpers import make_store

from lesion_model.data.store import INDEX_COLUMNS, PatchStore
from lesion_model.errors import DataError


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("store") / "tiny", n=12, seed=1)


def test_open_round_trip(store_path: Path) -> None:
    store = PatchStore.open(store_path)
    assert len(store) == 12
    assert store.patches.shape == (12, 3, 120, 120) and store.patches.dtype == np.int16
    assert isinstance(store.patches, np.memmap)
    assert store.meta["format"] == "lesion_model.patch_store" and store.meta["version"] == 1
    assert store.meta["units"] == "HU" and store.meta["pad_hu"] == -1024
    assert store.meta["slice_offsets_mm"] == [-2.0, 0.0, 2.0]
    assert set(INDEX_COLUMNS) <= set(store.index.columns)
    assert store.index["lesion_id"][0] == "0" and store.index["patient_id"][0] == "000001"
    k = len(store.labels)
    for m in (store.positive, store.uncertain, store.negated):
        assert m.shape == (12, k) and m.dtype == np.uint8
    assert len(store.categories) == k and store.irrelevant is None
    parts = [store.split_indices(s) for s in ("train", "val", "test")]
    assert sorted(np.concatenate(parts).tolist()) == list(range(12))
    with pytest.raises(ValueError, match="unknown split"):
        store.split_indices("dev")


def test_refuses_to_overwrite_without_flag(store_path: Path) -> None:
    from lesion_model.data.store import write_store

    store = PatchStore.open(store_path)
    with pytest.raises(DataError, match="already exists"):
        write_store(store_path, patch_chunks=[], index=store.index, labels=None)  # type: ignore[arg-type]


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize(
    ("damage", "culprit"),
    [
        (lambda p: (p / "meta.json").unlink(), "meta.json"),
        (lambda p: (p / "meta.json").write_text("{not json"), "meta.json"),
        (lambda p: (p / "patches.npy").write_bytes(b"garbage"), "patches.npy"),
        (lambda p: np.save(p / "patches.npy", np.zeros((3, 3, 120, 120), np.int16)), "patches.npy"),
        (lambda p: (p / "index.csv").unlink(), "index.csv"),
        (lambda p: (p / "index.csv").write_text("lesion_id\n1\n"), "index.csv"),
        (lambda p: (p / "labels.npz").write_bytes(b"PK"), "labels.npz"),
        (
            lambda p: np.savez(
                p / "labels.npz",
                labels=np.array(["a"]),
                positive=np.zeros((12, 1), np.uint8),
                uncertain=np.zeros((12, 1), np.uint8),
                negated=np.zeros((12, 1), np.uint8),
            ),
            "labels.npz",
        ),
    ],
)
def test_damaged_store_names_the_file(
    store_path: Path, tmp_path: Path, damage, culprit: str
) -> None:
    broken = _copy(store_path, tmp_path / "broken")
    damage(broken)
    with pytest.raises(DataError, match=culprit):
        PatchStore.open(broken)


def test_wrong_format_and_missing_dir(store_path: Path, tmp_path: Path) -> None:
    broken = _copy(store_path, tmp_path / "broken")
    meta = json.loads((broken / "meta.json").read_text())
    meta["format"] = "other"
    (broken / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="expected format"):
        PatchStore.open(broken)
    with pytest.raises(DataError, match="not a patch store"):
        PatchStore.open(tmp_path / "nowhere")
