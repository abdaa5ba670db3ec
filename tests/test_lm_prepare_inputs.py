"""lesion-prepare under changed and hostile inputs: resume never reuses stale chunks, geometry is
validated on read (one line per bad row, or skipped.tsv), label joins that match too little fail."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from lesion_model import prepare as prepare_module
from lesion_model.data.labels import LabelTable, LesionLabelSets
from lesion_model.data.store import PatchStore
from lesion_model.prepare import prepare_store, truth_labels
from lesion_model.synth import SynthConfig, generate

pytest.importorskip("SimpleITK")


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "dl", SynthConfig(patients=4, image_size=128), seed=3)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_dl_info(synth: Path, folder: Path, rows: list[dict[str, str]]) -> Path:
    """``rows`` as ``folder/DL_info.csv`` beside a link to the synthetic ``Images_png``."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "Images_png").exists():
        (folder / "Images_png").symlink_to(synth / "Images_png")
    path = folder / "DL_info.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


class Interrupted(Exception):
    """Stands for a crash or Ctrl-C in the middle of a run."""


def test_resume_redoes_chunks_whose_rows_changed(
    synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = read_rows(synth / "DL_info.csv")
    source = write_dl_info(synth, tmp_path / "dl", rows)
    labels = truth_labels(synth / "truth.csv")
    out = tmp_path / "store"
    real = prepare_module._work_chunk
    calls: list[int] = []

    def crash_after_first(records, options, path):  # type: ignore[no-untyped-def]
        calls.append(len(records))
        if len(calls) == 2:
            raise Interrupted
        return real(records, options, path)

    monkeypatch.setattr(prepare_module, "_work_chunk", crash_after_first)
    with pytest.raises(Interrupted):
        prepare_store(source, out, labels=labels, chunk=4)
    assert len(list((tmp_path / "store.work").glob("chunk_*.npz"))) == 1
    monkeypatch.setattr(prepare_module, "_work_chunk", real)

    x1, y1, x2, y2 = (float(v) for v in rows[0]["Bounding_boxes"].split(","))
    rows[0]["Bounding_boxes"] = f"{x1 + 4}, {y1}, {x2 + 4}, {y2}"  # the first chunk's first lesion moves
    write_dl_info(synth, tmp_path / "dl", rows)
    relabelled = LabelTable(labels.source, {**labels.by_lesion, "0": LesionLabelSets(frozenset({"liver"}))})
    resumed = PatchStore.open(prepare_store(source, out, labels=relabelled, chunk=4, label_set="observed"))
    fresh = PatchStore.open(prepare_store(source, tmp_path / "fresh", labels=relabelled, label_set="observed"))
    np.testing.assert_array_equal(resumed.patches, fresh.patches)
    assert resumed.index[["x1", "y1", "x2", "y2"]].equals(fresh.index[["x1", "y1", "x2", "y2"]])
    np.testing.assert_array_equal(resumed.positive, fresh.positive)  # labels are joined afresh
    assert [label for label, v in zip(resumed.labels, resumed.positive[0], strict=True) if v] == ["liver"]
    assert json.loads((out / "meta.json").read_text())["skipped"] == 0
