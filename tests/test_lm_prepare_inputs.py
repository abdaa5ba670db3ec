"""lesion-prepare under changed and hostile inputs: resume never reuses stale chunks, geometry is
validated on read (one line per bad row, or skipped.tsv), label joins that match too little fail."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import lesion_model.data.prepare as prepare_module
from lesion_model.cli import prepare as prepare_cli
from lesion_model.data.labels import LabelTable, LesionLabelSets
from lesion_model.data.prepare import prepare_store, truth_labels
from lesion_model.data.preprocess import extract_patch
from lesion_model.data.store import PatchStore
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


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("Spacing_mm_px_", "inf, inf, 1", "an in-plane spacing x, y of 0.1 to 5 mm per pixel"),
        ("Spacing_mm_px_", "1e9, 1e9, 1", "an in-plane spacing"),
        ("Spacing_mm_px_", "1e-9, 1e-9, 1", "an in-plane spacing"),
        ("Spacing_mm_px_", "0.8, 0.8, nan", "a slice interval of 0.1 to 20 mm"),
        ("Spacing_mm_px_", "0.8, 0.8, -2", "a slice interval"),
        ("Slice_range", "0, inf", "2 comma-separated integers"),
        ("Image_size", "0, 512", "a slice size width, height of 16 to 4096 pixels"),
        ("Image_size", "512", "2 comma-separated numbers"),
        ("Bounding_boxes", "10, 10, inf, 20", "a box x1, y1, x2, y2 of 4 finite numbers"),
        ("Bounding_boxes", "10, 10, 10, 20", "a box x1, y1, x2, y2 with x2 > x1 and y2 > y1"),
        ("Bounding_boxes", "600, 10, 640, 20", "a box inside the 128 × 128 image \\(-5 ≤ x1 < x2 ≤ 132"),
        ("Possibly_noisy", "inf", "0 or 1"),
    ],
)
def test_bad_geometry_names_file_line_column_and_expectation(
    synth: Path, tmp_path: Path, column: str, value: str, expected: str
) -> None:
    from lesion_model.data.records import read_dl_info
    from lesion_model.errors import BadRowsError

    rows = read_rows(synth / "DL_info.csv")
    rows[1][column] = value
    path = write_dl_info(synth, tmp_path, rows)
    with pytest.raises(BadRowsError, match=f"DL_info.csv, line 3, column {column}: expected {expected}") as info:
        read_dl_info(path)
    assert [row.lesion_id for row in info.value.rows] == ["1"]
    skipped: list = []
    assert len(read_dl_info(path, skipped=skipped)) == len(rows) - 1 and skipped == list(info.value.rows)


def test_real_box_reaching_past_the_edge_is_accepted(synth: Path, tmp_path: Path) -> None:
    from lesion_model.data.records import read_dl_info

    rows = read_rows(synth / "DL_info.csv")
    rows[0]["Image_size"] = "512, 512"
    rows[0]["Bounding_boxes"] = "489.818, 252.689, 513.681, 284.578"  # DeepLesion row 003957_03_01_586 (5 px padding)
    assert read_dl_info(write_dl_info(synth, tmp_path, rows), rows=[0])[0].box[2] == 513.681


def _bad_rows(synth: Path, folder: Path) -> tuple[Path, list[dict[str, str]]]:
    rows = read_rows(synth / "DL_info.csv")
    rows[1]["Spacing_mm_px_"] = "inf, inf, 1"
    rows[3]["Bounding_boxes"] = "0, 0, 900, 900"
    rows[4]["Image_size"] = "256, 256"  # the slices on disk are 128 × 128: found when they are read
    return write_dl_info(synth, folder, rows), rows


def test_cli_lists_every_bad_row_and_writes_nothing(synth: Path, tmp_path: Path) -> None:
    source, _ = _bad_rows(synth, tmp_path / "dl")
    out = tmp_path / "store"
    args = [str(source), "-o", str(out), "--labels", str(synth / "truth.csv"), "--label-set", "observed"]
    result = CliRunner().invoke(prepare_cli, args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(f"lesion-prepare: error: {source}, line 3, column Spacing_mm_px_: expected an in-plane")
    assert lines[1].startswith(f"lesion-prepare: error: {source}, line 5, column Bounding_boxes: expected a box inside")
    assert lines[2] == (
        f"lesion-prepare: error: {source}: 2 bad row(s), nothing written; fix them, or pass --on-error skip "
        f"to leave them out (listed in {out / 'skipped.tsv'})"
    )
    assert not out.exists() and not (tmp_path / "store.work").exists()
    fixed = read_rows(source)
    fixed[1]["Spacing_mm_px_"], fixed[3]["Bounding_boxes"] = "0.8, 0.8, 1", "10, 10, 30, 30"
    write_dl_info(synth, tmp_path / "dl", fixed)
    result = CliRunner().invoke(prepare_cli, args)  # the wrong Image_size is found in the worker
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"lesion-prepare: error: {source}, line 6: ")
    assert "png: expected a 256 × 256 slice as its Image_size states, found 128 × 128" in result.stderr
    assert not out.exists()


def test_on_error_skip_lists_bad_rows_in_skipped_tsv(synth: Path, tmp_path: Path) -> None:
    source, rows = _bad_rows(synth, tmp_path / "dl")
    out = prepare_store(
        source,
        tmp_path / "store",
        labels=truth_labels(synth / "truth.csv"),
        label_set="observed",
        options=prepare_module.PrepareOptions(on_error="skip"),
    )
    store = PatchStore.open(out)
    assert sorted(set(map(str, range(len(rows)))) - set(store.index["lesion_id"])) == ["1", "3", "4"]
    skipped = read_rows_tsv(out / "skipped.tsv")
    assert [r["lesion_id"] for r in skipped] == ["1", "3", "4"] and store.meta["skipped"] == 3
    assert skipped[0]["error"].startswith(f"{source}, line 3, column Spacing_mm_px_: expected")
    assert skipped[2]["error"].startswith(f"{source}, line 6: ") and "found 128 × 128" in skipped[2]["error"]
    assert np.isfinite(store.index[["x1", "y1", "x2", "y2"]].to_numpy()).all()


def read_rows_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_slices_of_one_lesion_must_share_a_size(tmp_path: Path) -> None:
    sitk = pytest.importorskip("SimpleITK")
    from lesion_model.data.volumes import HU_OFFSET, PngSeries
    from lesion_model.errors import DataError

    folder = tmp_path / "000001_01_01"
    folder.mkdir()
    for k, size in ((10, 64), (11, 48)):
        pixels = np.full((size, size), HU_OFFSET + 40, dtype=np.uint16)
        sitk.WriteImage(sitk.GetImageFromArray(pixels), str(folder / f"{k:03d}.png"))
    series = PngSeries(folder, (1.0, 1.0), 1.0, 10, 11, key_slice=10)
    with pytest.raises(DataError, match=r"011.png: expected a 64 × 64 slice like slice 10, found 48 × 48"):
        extract_patch(series, 10, (20, 20, 30, 30))
    stated = PngSeries(folder, (1.0, 1.0), 1.0, 10, 11, key_slice=10, size=(128, 64))
    with pytest.raises(DataError, match=r"010.png: expected a 128 × 64 slice as its Image_size states, found 64"):
        stated.slice(10)


def test_manifest_geometry_is_checked_against_the_volume(tmp_path: Path) -> None:
    sitk = pytest.importorskip("SimpleITK")
    image = sitk.GetImageFromArray(np.zeros((5, 40, 50), dtype=np.int16))
    image.SetSpacing((0.8, 0.8, 2.0))
    sitk.WriteImage(image, str(tmp_path / "ct.nii.gz"))
    tiny = sitk.GetImageFromArray(np.zeros((5, 40, 50), dtype=np.int16))
    tiny.SetSpacing((1e-9, 1e-9, 2.0))
    sitk.WriteImage(tiny, str(tmp_path / "tiny.nii.gz"))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "lesion_id,image,key_slice,x1,y1,x2,y2\n"
        "ok,ct.nii.gz,2,20,15,29,24\n"
        "outside,ct.nii.gz,2,200,15,290,24\n"
        "slice,ct.nii.gz,9,20,15,29,24\n"
        "spacing,tiny.nii.gz,2,20,15,29,24\n"
        "inf,ct.nii.gz,2,20,15,inf,24\n"
    )
    out = prepare_store(
        manifest,
        tmp_path / "store",
        labels=LabelTable("none", {}),
        options=prepare_module.PrepareOptions(on_error="skip"),
    )
    assert PatchStore.open(out).index["lesion_id"].tolist() == ["ok"]
    reasons = {r["lesion_id"]: r["error"] for r in read_rows_tsv(out / "skipped.tsv")}
    assert reasons["outside"] == (
        f"{manifest}, line 3: expected a box inside the 50 × 40 image (-5 ≤ x1 < x2 ≤ 54, -5 ≤ y1 < y2 ≤ 44), "
        "found box 200, 15, 290, 24"
    )
    assert reasons["slice"] == f"{manifest}, line 4: expected a key slice in 0..4, found 9"
    assert reasons["spacing"].startswith(f"{manifest}, line 5: {tmp_path / 'tiny.nii.gz'}: expected an in-plane")
    assert reasons["inf"].startswith(f"{manifest}, line 6, columns x1, y1, x2, y2: expected a box x1, y1, x2, y2 of 4")


def _jsonl(path: Path, *objects: object, raw: bytes = b"") -> Path:
    path.write_bytes(b"".join(json.dumps(o).encode() + b"\n" for o in objects) + raw)
    return path


@pytest.mark.parametrize(
    ("lines", "raw", "expected"),
    [
        ([{"id": "a", "labels": ["liver"]}], b'{"id": "b", "labels": ["l\xe9sion"]}\n',
         "line 2, column 26: expected UTF-8 text, found byte 0xe9"),
        ([{"id": "a"}], b"", "line 1: field 'labels' is missing (expected a list of label names)"),
        ([{"id": "a", "labels": "liver"}], b"", "field 'labels': expected a list of label names, found \"liver\""),
        ([{"id": "a", "labels": [1]}], b"", "line 1: field 'labels': expected a list of label names, found [1]"),
        ([{"id": "a", "labels": [], "negated": {"x": 1}}], b"", "line 1: field 'negated': expected a list"),
        ([{"labels": []}], b"", "line 1: field 'id': expected a report id (a string or integer), found None"),
        ([{"id": "a", "bookmark": "x", "labels": []}], b"", "line 1: field 'bookmark': expected null or an integer"),
        ([["a"]], b"", "line 1: expected a JSON object with id and labels, found list"),
        ([], b"{oops\n", "line 1: expected a JSON object"),
        ([{"id": "a", "labels": ["liver", "no such label"]}], b"",
         "line 1: unknown label(s) 'no such label': not in the ontology"),
        ([{"id": "a", "labels": ["liver"]}, {"id": "a", "labels": ["lung"]}], b"",
         "line 2: lesion 'a' already has other labels on line 1"),
        ([], b"", "no labels (the file holds no JSON lines)"),
        ([], b"\n  \n", "no labels (the file holds no JSON lines)"),
    ],
)  # fmt: skip
def test_bad_label_lines_give_one_line(
    synth: Path, tmp_path: Path, lines: list[object], raw: bytes, expected: str
) -> None:
    labels = _jsonl(tmp_path / "labels.jsonl", *lines, raw=raw)
    args = [str(synth / "DL_info.csv"), "-o", str(tmp_path / "store"), "--labels", str(labels)]
    result = CliRunner().invoke(prepare_cli, args)
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    assert result.stderr.startswith(f"lesion-prepare: error: {labels}")
    assert expected in result.stderr, result.stderr
    assert not (tmp_path / "store").exists()


def test_bookmarks_missing_from_the_map_and_identical_duplicates(synth: Path, tmp_path: Path) -> None:
    from lesion_model.data.labels import read_bookmark_map, read_radminer_jsonl

    marks = read_bookmark_map(synth / "bookmarks.csv")
    (report, bookmark), lesion = next(iter(marks.items()))
    line = {"id": report, "bookmark": bookmark, "labels": ["liver"], "uncertain": None}
    table = read_radminer_jsonl(_jsonl(tmp_path / "twice.jsonl", line, line), marks)
    assert dict(table.by_lesion) == {lesion: LesionLabelSets(frozenset({"liver"}))}
    unknown = _jsonl(tmp_path / "unknown.jsonl", line, {"id": "no-such-report", "bookmark": 0, "labels": []})
    with pytest.raises(Exception, match="line 2: report 'no-such-report' bookmark 0 is not in the bookmark map"):
        read_radminer_jsonl(unknown, marks)


def test_join_that_matches_too_few_lesions_fails_with_a_hint(
    synth: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from lesion_model.data.labels import read_bookmark_map

    marks = read_bookmark_map(synth / "bookmarks.csv")
    lines = [{"id": r, "bookmark": b, "labels": ["liver"]} for (r, b) in marks]
    labels = _jsonl(tmp_path / "labels.jsonl", *lines)
    args = [str(synth / "DL_info.csv"), "--labels", str(labels), "--label-set", "observed"]
    result = CliRunner().invoke(prepare_cli, [*args, "-o", str(tmp_path / "a")])  # --bookmarks forgotten
    assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.output
    (report, bookmark) = next(iter(marks))
    assert result.stderr.startswith(
        f"lesion-prepare: error: {labels}: its labels match 0 of the {len(marks)} lesions of "
        f"{synth / 'DL_info.csv'} (fewer than 50%): label keys look like '{report}#{bookmark}', lesion ids like '0'. "
        "radminer JSONL lines join by their id, or by id and bookmark through --bookmarks"
    )
    assert "DL_info lesion ids are 0-based data rows" in result.stderr and "--min-labelled" in result.stderr
    assert not (tmp_path / "a").exists()
    bookmarks = ["--bookmarks", str(synth / "bookmarks.csv")]
    ok = CliRunner().invoke(prepare_cli, [*args, "-o", str(tmp_path / "b"), *bookmarks])
    assert ok.exit_code == 0, ok.output
    few = _jsonl(tmp_path / "few.jsonl", *lines[:3])
    args = [str(synth / "DL_info.csv"), "--labels", str(few), *bookmarks]
    partial = CliRunner().invoke(prepare_cli, [*args, "-o", str(tmp_path / "c")])
    assert partial.exit_code == 1 and f"its labels match 3 of the {len(marks)} lesions" in partial.stderr
    accepted = CliRunner().invoke(prepare_cli, [*args, "-o", str(tmp_path / "d"), "--min-labelled", "0.2"])
    assert accepted.exit_code == 0, accepted.output
    assert PatchStore.open(tmp_path / "d").index["has_labels"].sum() == 3
    assert f"{len(marks) - 3} of {len(marks)} lesion(s) have no labels in {few}" in caplog.text


def test_fingerprint_ignores_how_the_source_path_is_spelled(synth: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lesion_model.data.records import read_dl_info

    monkeypatch.chdir(synth.parent)
    spellings = [synth / "DL_info.csv", Path(synth.name) / "." / "DL_info.csv"]
    stamps = {prepare_module._fingerprint(p, read_dl_info(p), prepare_module.PrepareOptions(), 64) for p in spellings}
    assert len(stamps) == 1
