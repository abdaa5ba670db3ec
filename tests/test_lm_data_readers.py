"""Readers: DeepLesion's DL_info.csv and PNG slices (fixture rows, real rows, real key slices),
LesaNet's split file, the NIfTI/DICOM manifest and pydicom's real CT slice."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from lesion_model.data.preprocess import extract_patch
from lesion_model.data.records import read_dl_info, read_lesanet_split, read_manifest
from lesion_model.data.volumes import HU_OFFSET, PngSeries, read_png_hu, read_volume
from lesion_model.errors import DataError

sitk = pytest.importorskip("SimpleITK")

FIXTURE = Path(__file__).parent / "data" / "deeplesion" / "DL_info_rows.csv"
SHARED = Path(
    os.environ.get("LESION_SHARED_DATA", Path(__file__).parents[1].parent / "shared" / "data")
)
DEEPLESION = SHARED / "deeplesion"
needs_shared = pytest.mark.skipif(not DEEPLESION.is_dir(), reason="../shared/data is absent")


def test_fixture_rows_parse() -> None:
    records = read_dl_info(FIXTURE)
    first = records[0]
    assert first.lesion_id == "0" and first.patient_id == "000001" and first.study_id == "000001_01"
    assert first.image == FIXTURE.parent / "Images_png" / "000001_01_01"
    assert first.key_slice == 109 and (first.first, first.last) == (103, 115)
    assert first.box == pytest.approx((226.169, 90.0204, 241.252, 111.977))
    assert first.spacing_xy == pytest.approx((0.488281, 0.488281)) and first.slice_interval == 5
    assert first.split == "test" and first.noisy is False and first.coarse_type == 3
    picked = read_dl_info(FIXTURE, splits={1: "train", 3: "val"})
    assert [(r.lesion_id, r.split) for r in picked] == [("1", "train"), ("3", "val")]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("Spacing_mm_px_", "0.5, 0.5", "3 comma-separated numbers"),
        ("Bounding_boxes", "10, 10, 5, 20", "a box x1, y1, x2, y2 with x2 > x1"),
        ("Key_slice_index", "abc", "an integer"),
        ("Train_Val_Test", "7", "1 \\(train\\)"),
        ("Slice_range", "1, 2", "a range holding the key slice"),
    ],
)
def test_bad_cells_name_file_line_and_column(
    tmp_path: Path, column: str, value: str, expected: str
) -> None:
    import csv

    with FIXTURE.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[2][column] = value
    path = tmp_path / "DL_info.csv"
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with pytest.raises(
        DataError, match=f"DL_info.csv, line 4, column {column}: expected {expected}"
    ):
        read_dl_info(path)


def test_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "DL_info.csv"
    path.write_text("File_name,Patient_index\nx.png,1\n")
    with pytest.raises(DataError, match="missing column\\(s\\) Study_index"):
        read_dl_info(path)


def write_png(path: Path, hu: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(sitk.GetImageFromArray((hu + HU_OFFSET).astype(np.uint16)), str(path))


def test_png_series_missing_and_key_only(tmp_path: Path) -> None:
    folder = tmp_path / "000001_01_01"
    write_png(folder / "010.png", np.full((64, 64), 40.0))
    series = PngSeries(folder, (1.0, 1.0), 2.0, 5, 15, key_slice=10)
    assert series.slice(10)[0, 0] == 40.0
    with pytest.raises(
        DataError,
        match=r"009.png: slice file is missing; the series folder holds only 1 of the 11 slices",
    ):
        series.slice(9)
    replicate = PngSeries(folder, (1.0, 1.0), 2.0, 5, 15, key_slice=10, replicate_key_only=True)
    patch = extract_patch(replicate, 10, (20, 20, 40, 40))
    assert replicate.replicated and patch.replicated
    write_png(folder / "011.png", np.full((64, 64), 50.0))
    with pytest.raises(DataError, match=r"009.png: slice file is missing"):
        PngSeries(folder, (1.0, 1.0), 2.0, 5, 15, key_slice=10).slice(9)
    (folder / "012.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match=r"012.png: not a readable PNG"):
        read_png_hu(folder / "012.png")


def test_lesanet_split(tmp_path: Path) -> None:
    path = tmp_path / "split.json"
    path.write_text('{"train_lesion_idxs": [0, 2], "val_lesion_idxs": [1], "test_lesion_idxs": []}')
    assert read_lesanet_split(path) == {0: "train", 2: "train", 1: "val"}
    path.write_text('{"train_lesion_idxs": [0]}')
    with pytest.raises(DataError, match="val_lesion_idxs"):
        read_lesanet_split(path)


def test_manifest_nifti(tmp_path: Path) -> None:
    hu = np.full((5, 40, 50), -1000.0, dtype=np.float32)
    hu[:, 15:25, 20:30] = 60.0
    image = sitk.GetImageFromArray(hu)
    image.SetSpacing((0.8, 0.8, 2.0))
    sitk.WriteImage(image, str(tmp_path / "ct.nii.gz"))
    (tmp_path / "manifest.csv").write_text(
        "lesion_id,image,key_slice,x1,y1,x2,y2,split,patient_id\nL1,ct.nii.gz,2,20,15,29,24,val,P7\n"
    )
    (record,) = read_manifest(tmp_path / "manifest.csv")
    assert (record.lesion_id, record.split, record.patient_id, record.kind) == (
        "L1",
        "val",
        "P7",
        "volume",
    )
    volume = read_volume(record.image)
    assert volume.spacing_xy == pytest.approx((0.8, 0.8)) and volume.slice_interval == 2.0
    patch = extract_patch(volume, record.key_slice, record.box)
    assert patch.hu[:, 60, 60] == pytest.approx([60.0] * 3)
    assert patch.hu[1, 0, 0] == -1024.0  # padding outside the 40 × 32 mm image


def test_manifest_errors(tmp_path: Path) -> None:
    path = tmp_path / "manifest.csv"
    path.write_text("lesion_id,image,key_slice,x1,y1,x2,y2\nA,a.nii,1,0,0,x,5\n")
    with pytest.raises(DataError, match="line 2, column x2: expected a number, found 'x'"):
        read_manifest(path)
    path.write_text("lesion_id,image,key_slice,x1,y1,x2,y2\nA,a.nii,1,0,0,5,5\nA,b.nii,1,0,0,5,5\n")
    with pytest.raises(DataError, match="repeats A"):
        read_manifest(path)
    with pytest.raises(DataError, match=r"a.nii: image is missing"):
        read_volume(tmp_path / "a.nii")


def test_real_dicom_slice() -> None:
    pydicom = pytest.importorskip("pydicom")
    path = Path(pydicom.data.get_testdata_file("CT_small.dcm"))
    volume = read_volume(path)
    reference = pydicom.dcmread(path)
    expected = reference.pixel_array * float(reference.RescaleSlope) + float(
        reference.RescaleIntercept
    )
    np.testing.assert_allclose(volume.slice(0), expected)
    assert volume.spacing_xy == pytest.approx(tuple(float(x) for x in reference.PixelSpacing))
    patch = extract_patch(volume, 0, (50, 50, 70, 70))
    assert patch.hu.shape == (3, 120, 120) and patch.replicated  # one slice: ends replicated


@needs_shared
def test_real_dl_info_rows() -> None:
    records = read_dl_info(DEEPLESION / "DL_info_test_split_rows.csv")
    assert len(records) == 4927
    assert {r.split for r in records} == {"test"}
    assert all(0.1 < r.spacing_xy[0] < 1.5 and 0.2 < r.slice_interval <= 10 for r in records)
    assert all(r.first <= r.key_slice <= r.last for r in records)


@needs_shared
def test_real_key_slices() -> None:
    samples = DEEPLESION / "samples"
    records = read_dl_info(samples / "DL_info_samples.csv")
    assert len(records) >= 38
    for record in records:
        series = PngSeries(
            record.image,
            record.spacing_xy,
            record.slice_interval,
            record.first,
            record.last,
            record.key_slice,
        )
        key = series.slice(record.key_slice)
        assert key.shape == (512, 512)
        in_view = key[key > -1500]  # -2048 marks pixels outside the scanner's field of view
        assert ((in_view > -1100) & (in_view < -900)).mean() > 0.05  # air around the body
        x1, y1, x2, y2 = (int(v) for v in record.box)
        assert -100 < np.median(key[y1 : y2 + 1, x1 : x2 + 1]) < 250  # liver lesion: soft tissue
        with pytest.raises(DataError, match="slice file is missing; the series folder holds only"):
            extract_patch(series, record.key_slice, record.box)
        series.replicate_key_only = True
        patch = extract_patch(series, record.key_slice, record.box)
        assert patch.replicated and patch.hu.shape == (3, 120, 120)
        np.testing.assert_allclose(patch.hu[0], patch.hu[1], atol=1e-3)
        bx1, _, bx2, _ = patch.box
        assert abs((bx1 + bx2) / 2 - 60) < 1e-6 and 0 < bx1 < bx2 < 120
