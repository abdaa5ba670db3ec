"""Everything lesion_model writes (patch stores, checkpoints, run files, metrics, figures) ends with the
mode a plain ``open()``/``mkdir()`` gives under the umask, not the 0600/0700 of temporary files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sitk = pytest.importorskip("SimpleITK")

from lesion_model.annotation import annotate_image  # noqa: E402
from lesion_model.data.labels import LabelTable  # noqa: E402
from lesion_model.data.prepare import PrepareOptions, prepare_store, truth_labels  # noqa: E402
from lesion_model.evaluation import evaluate_checkpoint  # noqa: E402
from lesion_model.synth import SynthConfig, generate  # noqa: E402
from lesion_model.training import TrainConfig, train  # noqa: E402


@pytest.fixture
def umask() -> Iterator[int]:
    """Umask 027 (group may read, others nothing): neither the usual 022 nor the 0600 of a temporary file."""
    old = os.umask(0o027)
    try:
        yield 0o027
    finally:
        os.umask(old)


def modes(root: Path) -> dict[str, int]:
    """Relative path → permission bits of ``root`` and everything under it."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.stat().st_mode)
    return found


def test_outputs_get_the_umask_modes(umask: int, tmp_path: Path) -> None:
    data = generate(tmp_path / "dl", SynthConfig(patients=5, image_size=96), seed=2)
    (data / "Images_png" / "000001_01_01" / os.listdir(data / "Images_png" / "000001_01_01")[0]).unlink()
    store = prepare_store(
        data / "DL_info.csv",
        tmp_path / "store",
        labels=truth_labels(data / "truth.csv"),
        label_set="observed",
        options=PrepareOptions(on_error="skip"),
    )
    run = tmp_path / "run"
    train(TrainConfig(data=str(store), out=str(run), width=0.125, hidden=8, epochs=1, batch_size=4, device="cpu"))
    evaluate_checkpoint(run, store, out=tmp_path / "eval", split="train", device="cpu")
    volume = sitk.GetImageFromArray(np.zeros((3, 64, 64), dtype=np.int16))
    sitk.WriteImage(volume, str(tmp_path / "ct.nii.gz"))
    os.chmod(tmp_path / "ct.nii.gz", 0o666 & ~umask)
    annotate_image(run, tmp_path / "ct.nii.gz", key_slice=1, bbox="20,20,40,40", figure=tmp_path / "fig.png",
                   device="cpu")  # fmt: skip
    prepare_store(data / "DL_info.csv", tmp_path / "bare", labels=LabelTable("none", {}),
                  options=PrepareOptions(on_error="skip"))  # fmt: skip

    folder, file = 0o777 & ~umask, 0o666 & ~umask
    assert (store / "skipped.tsv").is_file()
    written = {
        **{f"store/{k}": v for k, v in modes(store).items()},
        **{f"bare/{k}": v for k, v in modes(tmp_path / "bare").items()},
        **{f"run/{k}": v for k, v in modes(run).items()},
        **{f"eval/{k}": v for k, v in modes(tmp_path / "eval").items()},
        "fig.png": stat.S_IMODE((tmp_path / "fig.png").stat().st_mode),
    }
    assert {"run/checkpoint.pt", "run/config.json", "run/history.json", "eval/metrics.json", "eval/roc.png"} <= set(
        written
    )
    expected = {name: folder if name.endswith("/.") else file for name in written}
    assert written == expected
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary leftovers
