"""lesion-synth → (radminer) → lesion-prepare: patches, boxes and labels against the synthetic truth;
resume, atomic writes, skipped slices, patient-level splits, LesaNet's label file."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from lm_helpers import make_store

import lesion_model.data.prepare as prepare_module
from lesion_model.cli import prepare as prepare_cli
from lesion_model.data.labels import read_bookmark_map, read_lesanet_labels, read_radminer_jsonl
from lesion_model.data.prepare import PrepareOptions, prepare_store, truth_labels
from lesion_model.data.records import DL_INFO_COLUMNS, read_dl_info
from lesion_model.data.store import PatchStore
from lesion_model.errors import DataError
from lesion_model.synth import SynthConfig, generate

pytest.importorskip("SimpleITK")
SHARED = Path(os.environ.get("LESION_SHARED_DATA", Path(__file__).parents[1].parent / "shared" / "data"))
CONFIG = SynthConfig(patients=8, image_size=160)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("synth") / "dl", CONFIG, seed=3)


@pytest.fixture(scope="module")
def store(synth: Path, tmp_path_factory: pytest.TempPathFactory) -> PatchStore:
    out = tmp_path_factory.mktemp("stores") / "truth"
    prepare_store(synth / "DL_info.csv", out, labels=truth_labels(synth / "truth.csv"), label_set="observed")
    return PatchStore.open(out)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_synth_layout_and_determinism(synth: Path, tmp_path: Path) -> None:
    with (synth / "DL_info.csv").open() as handle:
        assert tuple(next(csv.reader(handle))) == DL_INFO_COLUMNS
    records = read_dl_info(synth / "DL_info.csv")
    assert len(records) >= 16 and len({r.patient_id for r in records}) == 8
    assert {r.split for r in records} == {"train", "val", "test"}
    assert len({r.slice_interval for r in records}) > 1
    for r in records:
        assert (r.image / f"{r.key_slice:03d}.png").is_file()
        assert (r.image / f"{r.first:03d}.png").is_file() and (r.image / f"{r.last:03d}.png").is_file()
    reports = read_csv(synth / "reports.csv")
    marks = read_csv(synth / "bookmarks.csv")
    assert sum(r["text"].count("BOOKMARK") for r in reports) == len(records) == len(marks)
    again = generate(tmp_path / "again", SynthConfig(patients=2, image_size=96), seed=5)
    twice = generate(tmp_path / "twice", SynthConfig(patients=2, image_size=96), seed=5)
    for name in ("DL_info.csv", "reports.csv", "truth.csv"):
        assert (again / name).read_bytes() == (twice / name).read_bytes()
    png = next((again / "Images_png").rglob("*.png")).relative_to(again)
    assert (again / png).read_bytes() == (twice / png).read_bytes()


def test_truth_labels_are_ontology_terms(synth: Path) -> None:
    from radminer.ontology import load_ontology

    graph = load_ontology()
    for row in read_csv(synth / "truth.csv"):
        assert set(row["labels"].split(";")) <= set(graph.labels)


def test_store_matches_truth(store: PatchStore, synth: Path) -> None:
    truth = {row["lesion_id"]: row for row in read_csv(synth / "truth.csv")}
    expanded = truth_labels(synth / "truth.csv").by_lesion
    assert len(store) == len(truth) and store.meta["label_source"] == "synthetic-truth"
    for i, lesion in enumerate(store.index["lesion_id"]):
        positive = {label for label, v in zip(store.labels, store.positive[i], strict=True) if v}
        assert positive == expanded[lesion].positive
        x1, y1, x2, y2 = store.index.loc[i, ["x1", "y1", "x2", "y2"]]
        assert (x1 + x2) / 2 == pytest.approx(60) and (y1 + y2) / 2 == pytest.approx(60)
        diameter = float(truth[lesion]["diameter_mm"])
        assert x2 - x1 == pytest.approx(
            diameter + 2 * float(store.meta.get("box_margin_px", 1)) * _spacing(synth, int(lesion)), rel=0.01
        )
        if diameter >= 12 and truth[lesion]["calcified"] == "0":
            centre = np.median(store.patches[i, 1, 58:62, 58:62])
            assert centre == pytest.approx(float(truth[lesion]["hu"]), abs=30)
    assert set(store.categories) <= {"bodypart", "type", "attribute"}
    assert store.index["has_labels"].all()


def _spacing(synth: Path, row: int) -> float:
    return read_dl_info(synth / "DL_info.csv", rows=[row])[0].spacing_xy[0]


def test_radminer_jsonl_join(synth: Path, tmp_path: Path) -> None:
    marks = read_bookmark_map(synth / "bookmarks.csv")
    (report, bookmark), lesion = next(iter(marks.items()))
    jsonl = tmp_path / "labels.jsonl"
    lines = [
        {
            "id": report,
            "bookmark": bookmark,
            "labels": ["liver", "abdomen"],
            "uncertain": ["cyst"],
            "negated": ["calcified"],
        },
        {"id": "zzz", "bookmark": 0, "labels": ["lung"], "uncertain": [], "negated": []},
    ]
    jsonl.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    with pytest.raises(DataError, match="line 2: report 'zzz' bookmark 0 is not in the bookmark map"):
        read_radminer_jsonl(jsonl, marks)
    jsonl.write_text(json.dumps(lines[0]) + "\n")
    table = read_radminer_jsonl(jsonl, marks)
    assert set(table.by_lesion) == {lesion}
    out = prepare_store(synth / "DL_info.csv", tmp_path / "store", labels=table, limit=6, min_labelled=0)
    opened = PatchStore.open(out)
    assert opened.meta["label_set"] == "lesanet171" and len(opened.labels) == 171
    row = opened.index.index[opened.index["lesion_id"] == lesion]
    if len(row):
        i = int(row[0])
        assert opened.positive[i, opened.labels.index("liver")] == 1
        assert opened.uncertain[i, opened.labels.index("cyst")] == 1
        assert opened.negated[i, opened.labels.index("calcified")] == 1
    assert read_radminer_jsonl(jsonl).by_lesion.keys() == {f"{report}#{bookmark}"}


def test_end_to_end_with_radminer_extract(synth: Path, tmp_path: Path) -> None:
    import importlib.util

    if importlib.util.find_spec("radminer.text.extractor") is None:
        pytest.skip("radminer's extractor is not available yet")
    jsonl = tmp_path / "labels.jsonl"
    code = "from radminer.cli import main; main()"
    run = subprocess.run(
        [sys.executable, "-c", code, "extract", str(synth / "reports.csv"), "-o", str(jsonl)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    table = read_radminer_jsonl(jsonl, read_bookmark_map(synth / "bookmarks.csv"))
    out = prepare_store(synth / "DL_info.csv", tmp_path / "store", labels=table, label_set="lesanet171")
    store = PatchStore.open(out)
    truth = truth_labels(synth / "truth.csv").by_lesion
    organs = [o for o in ("liver", "lung", "kidney", "spleen", "bone") if o in store.labels]
    agree = [
        store.positive[i, store.labels.index(o)] == (o in truth[lesion].positive)
        for i, lesion in enumerate(store.index["lesion_id"])
        for o in organs
    ]
    assert np.mean(agree) > 0.9  # mined organ labels mostly agree with the truth (reports are noisy)


class Interrupted(Exception):
    """Stands for a crash or Ctrl-C in the middle of a run."""


def test_jobs_resume_and_atomicity(synth: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    labels = truth_labels(synth / "truth.csv")
    out = tmp_path / "store"
    real = prepare_module._work_chunk
    calls: list[int] = []
    crash = [True]

    def flaky(records, options, path):  # type: ignore[no-untyped-def]
        calls.append(len(records))
        if len(calls) == 2 and crash:
            crash.pop()
            raise Interrupted
        return real(records, options, path)

    monkeypatch.setattr(prepare_module, "_work_chunk", flaky)
    with pytest.raises(Interrupted):
        prepare_store(synth / "DL_info.csv", out, labels=labels, chunk=4)
    assert not out.exists() and len(list((tmp_path / "store.work").glob("chunk_*.npz"))) == 1
    calls.clear()
    prepare_store(synth / "DL_info.csv", out, labels=labels, chunk=4)
    total = len(read_dl_info(synth / "DL_info.csv"))
    assert sum(calls) == total - 4  # the first chunk was not redone
    assert not (tmp_path / "store.work").exists()
    monkeypatch.setattr(prepare_module, "_work_chunk", real)
    parallel = prepare_store(synth / "DL_info.csv", tmp_path / "parallel", labels=labels, chunk=4, jobs=2)
    np.testing.assert_array_equal(PatchStore.open(parallel).patches, PatchStore.open(out).patches)
    with pytest.raises(DataError, match="already exists"):
        prepare_store(synth / "DL_info.csv", out, labels=labels)


def copy_dataset(synth: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(synth, dst)
    return dst


def test_missing_slice_raises_or_is_skipped(synth: Path, tmp_path: Path) -> None:
    data = copy_dataset(synth, tmp_path / "dl")
    record = read_dl_info(data / "DL_info.csv")[1]
    (record.image / f"{record.key_slice:03d}.png").unlink()
    labels = truth_labels(data / "truth.csv")
    with pytest.raises(DataError, match=f"{record.key_slice:03d}.png: slice file is missing"):
        prepare_store(data / "DL_info.csv", tmp_path / "a", labels=labels)
    out = prepare_store(data / "DL_info.csv", tmp_path / "b", labels=labels, options=PrepareOptions(on_error="skip"))
    store = PatchStore.open(out)
    assert record.lesion_id not in set(store.index["lesion_id"]) and store.meta["skipped"] >= 1
    assert record.lesion_id in (out / "skipped.tsv").read_text()


def test_patients_shared_between_splits_are_refused(synth: Path, tmp_path: Path) -> None:
    rows = read_csv(synth / "DL_info.csv")
    rows[0]["Train_Val_Test"] = "3" if rows[0]["Train_Val_Test"] != "3" else "1"
    rows[1]["Patient_index"] = rows[0]["Patient_index"]
    rows[1]["Train_Val_Test"] = "2" if rows[0]["Train_Val_Test"] != "2" else "1"
    path = tmp_path / "DL_info.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(DataError, match=f"patient\\(s\\) are in several splits: {int(rows[0]['Patient_index']):06d}"):
        prepare_store(path, tmp_path / "x", labels=truth_labels(synth / "truth.csv"))


def test_lesanet_label_file_inline(synth: Path, tmp_path: Path) -> None:
    records = read_dl_info(synth / "DL_info.csv")
    rows = {split: [int(r.lesion_id) for r in records if r.split == split] for split in ("train", "val", "test")}
    first = rows["train"][0]
    lesanet: dict[str, object] = {"term_list": ["liver", "lung", "nodule"]}
    for split, idxs in rows.items():
        lesanet[f"{split}_lesion_idxs"] = idxs[::-1]  # any order
        lesanet[f"{split}_relevant_labels"] = [[0, 0] if i == first else [] for i in idxs[::-1]]
        lesanet[f"{split}_uncertain_labels"] = [[2, 0] if i == first else [] for i in idxs[::-1]]
    lesanet["train_irrelevant_labels"] = [[1] if i == first else [] for i in rows["train"][::-1]]
    path = tmp_path / "lesanet.json"
    path.write_text(json.dumps(lesanet))
    out = prepare_store(synth / "DL_info.csv", tmp_path / "s", labels=read_lesanet_labels(path), split_file=path)
    store = PatchStore.open(out)
    assert store.labels == ("liver", "lung", "nodule") and store.meta["label_source"] == "lesanet-json"
    i = store.index["lesion_id"].tolist().index(str(first))
    assert store.positive[i].tolist() == [1, 0, 0]
    assert store.uncertain[i].tolist() == [0, 0, 1]  # uncertain labels that are also relevant are dropped
    assert store.irrelevant is not None and store.irrelevant[i].tolist() == [0, 1, 0]
    assert not store.negated.any() and store.positive.sum() == 1


@pytest.mark.skipif(not (SHARED / "lesanet").is_dir(), reason="../shared/data is absent")
def test_lesanet_label_file_real() -> None:
    table = read_lesanet_labels(SHARED / "lesanet" / "text_mined_labels_171_and_split.json")
    assert len(table.labels) == 171 and len(table.by_lesion) == 20266 + 1976 + 1879
    assert all(not s.negated for s in table.by_lesion.values())


def test_cli_and_tiny_store(synth: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        prepare_cli,
        [
            str(synth / "DL_info.csv"),
            "-o",
            str(tmp_path / "cli"),
            "--labels",
            str(synth / "truth.csv"),
            "--label-set",
            "observed",
            "--dtype",
            "uint8",
            "--window",
            "-160",
            "240",
        ],
    )
    assert result.exit_code == 0, result.output
    store = PatchStore.open(tmp_path / "cli")
    assert store.patches.dtype == np.uint8 and store.meta["window"] == [-160.0, 240.0]
    again = CliRunner().invoke(prepare_cli, [str(synth / "DL_info.csv"), "-o", str(tmp_path / "cli")])
    assert again.exit_code != 0 and "already exists" in again.output
    tiny = PatchStore.open(make_store(tmp_path / "tiny", n=10, seed=0))
    assert len(tiny) == 10 and tiny.positive.any(axis=0).sum() >= 3


def test_options_and_synth_config_are_checked_on_construction() -> None:
    from lesion_model.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^--dtype: expected int16 or uint8, found 'float32'$"):
        PrepareOptions(dtype="float32")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^--on-error: expected raise or skip"):
        PrepareOptions(on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"^--slice-intervals-mm: expected one or more slice intervals"):
        SynthConfig(slice_intervals_mm=())
    with pytest.raises(ConfigError, match=r"^--split-fractions: expected three fractions"):
        SynthConfig(split_fractions=(0.0, 0.0, 0.0))
