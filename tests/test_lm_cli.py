"""The lesion-* command lines: one line and exit 1 on bad input (never a traceback), fast --help
with examples, progress bars only on a terminal, one line when the model extra is missing."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sitk = pytest.importorskip("SimpleITK")

from click.testing import CliRunner, Result  # noqa: E402
from lm_helpers import make_store  # noqa: E402

from lesion_model import cli  # noqa: E402
from lesion_model.synth import SynthConfig, generate  # noqa: E402
from lesion_model.training import TrainConfig, train  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
COMMANDS = {
    "lesion-synth": cli.synth,
    "lesion-prepare": cli.prepare,
    "lesion-train": cli.train,
    "lesion-eval": cli.evaluate,
    "lesion-annotate": cli.annotate,
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lm_cli")
    store = make_store(root / "store", n=16, seed=7)
    train(TrainConfig(data=str(store), out=str(root / "run"), width=0.125, hidden=8, epochs=1, batch_size=4))
    return root / "run"


@pytest.fixture(scope="module")
def nifti(tmp_path_factory: pytest.TempPathFactory) -> Path:
    volume = np.full((5, 96, 96), -1000, dtype=np.int16)
    volume[:, 20:80, 20:80] = 50
    image = sitk.GetImageFromArray(volume)
    image.SetSpacing((0.8, 0.8, 2.0))
    path = tmp_path_factory.mktemp("nifti") / "ct.nii.gz"
    sitk.WriteImage(image, str(path))
    return path


def one_error_line(result: Result, prog: str) -> str:
    """The only stderr line of a failed command, which must be ``PROG: error: ...`` and exit 1."""
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), result.stderr
    return lines[0]


def annotate_args(run_dir: Path, image: Path, *extra: str) -> list[str]:
    return ["--checkpoint", str(run_dir), "--image", str(image), "--device", "cpu", *extra]


# --- checkpoints -------------------------------------------------------------------------------


class _Payload:
    """Unpickling this runs code: it would create the file it names."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.marker,))


def _bad_checkpoints(folder: Path, run_dir: Path) -> dict[str, tuple[Path, str]]:
    """name → (checkpoint file, expected part of the error line)."""
    folder.mkdir()
    marker = folder / "payload-ran"
    garbage = folder / "garbage.pt"
    garbage.write_bytes(os.urandom(512))
    legacy = folder / "legacy.pt"
    legacy.write_bytes(pickle.dumps({"format": _Payload(marker)}))
    zipped = folder / "zipped.pt"
    torch.save({"format": "lesion_model.checkpoint", "model": _Payload(marker)}, zipped)
    no_model = folder / "no_model.pt"
    ckpt = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    torch.save({k: v for k, v in ckpt.items() if k != "model"}, no_model)
    damaged, data = folder / "damaged.pt", bytearray((run_dir / "checkpoint.pt").read_bytes())
    data[300:364] = bytes(64)  # inside the pickled dict
    damaged.write_bytes(bytes(data))
    truncated = folder / "truncated.pt"
    truncated.write_bytes(data[:4000])
    foreign = folder / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    return {
        "garbage": (garbage, "not the zip archive torch.save writes"),
        "legacy pickle": (legacy, "not the zip archive torch.save writes"),
        "zipped pickle": (zipped, "damaged, or holding objects other than tensors and plain values, which are"),
        "no model": (no_model, "a lesion-train checkpoint without model"),
        "damaged": (damaged, "damaged, or holding objects"),
        "truncated": (truncated, "not the zip archive torch.save writes"),
        "foreign": (foreign, "not a lesion-train checkpoint (format"),
    }


def test_bad_checkpoints_give_one_line(run_dir: Path, nifti: Path, tmp_path: Path) -> None:
    store = run_dir.parent / "store"
    for name, (path, expected) in _bad_checkpoints(tmp_path / "ckpts", run_dir).items():
        for prog, args in (
            ("lesion-eval", ["--checkpoint", str(path), "--data", str(store), "--out", str(tmp_path / "e")]),
            ("lesion-annotate", annotate_args(path, nifti, "--slice", "2", "--bbox", "1,1,9,9")),
        ):
            line = one_error_line(CliRunner().invoke(COMMANDS[prog], [*args, "--device", "cpu"]), prog)
            assert expected in line, (name, line)
            assert "weights_only" not in line, (name, line)
    assert not (tmp_path / "ckpts" / "payload-ran").exists()
    assert zipfile.is_zipfile(tmp_path / "ckpts" / "zipped.pt")


# --- lesion-annotate arguments and images --------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--bbox", "0,0,inf,inf"], "--bbox: expected a box x1, y1, x2, y2 of 4 finite numbers, found '0,0,inf,inf'"),
        (["--bbox", "10,10,10,20"], "--bbox: expected a box x1, y1, x2, y2 with x2 > x1"),
        (["--bbox", "0,0,900,900"], "--bbox: expected a box inside the 96 × 96 image (-5 ≤ x1 < x2 ≤ 100"),
        (["--bbox", "20,20,40,40", "--top", "-1"], "--top: expected an integer ≥ 1, found -1"),
        (["--bbox", "20,20,40,40", "--top", "0"], "--top: expected an integer ≥ 1, found 0"),
        (["--bbox", "20,20,40,40", "--out", "{tmp}/missing/fig.png"], "missing/fig.png: the folder"),
        (["--bbox", "20,20,40,40", "--out", "{tmp}/fig.xyz"], "fig.xyz: expected a figure file ending in .png"),
        (["--bbox", "20,20,40,40", "--slice", "9"], "--slice 9 is outside 0..4"),
    ],
)
def test_annotate_arguments(run_dir: Path, nifti: Path, tmp_path: Path, extra: list[str], expected: str) -> None:
    extra = [x.replace("{tmp}", str(tmp_path)) for x in extra]
    args = annotate_args(run_dir, nifti, *(["--slice", "2"] if "--slice" not in extra else []), *extra)
    assert expected in one_error_line(CliRunner().invoke(cli.annotate, args), "lesion-annotate")


def test_annotate_figure_formats_and_mode(run_dir: Path, nifti: Path, tmp_path: Path) -> None:
    for name, magic in (("fig.png", b"\x89PNG"), ("fig.pdf", b"%PDF"), ("fig.svg", b"<?xml")):
        args = annotate_args(run_dir, nifti, "--slice", "2", "--bbox", "40,40,56,56", "--out", str(tmp_path / name))
        result = CliRunner().invoke(cli.annotate, args)
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).read_bytes().startswith(magic)


def test_colour_and_8_bit_images_are_refused(run_dir: Path, tmp_path: Path) -> None:
    rgb = sitk.GetImageFromArray(np.zeros((64, 64, 3), dtype=np.uint8), isVector=True)
    sitk.WriteImage(rgb, str(tmp_path / "photo.jpg"))
    grey8 = sitk.GetImageFromArray(np.zeros((64, 64), dtype=np.uint8))
    sitk.WriteImage(grey8, str(tmp_path / "grey8.png"))
    shutil.copy(tmp_path / "grey8.png", tmp_path / "grey8.tif")
    for name, found in (("photo.jpg", "3 channel(s) of vector of 8-bit"), ("grey8.tif", "1 channel(s) of 8-bit")):
        args = annotate_args(run_dir, tmp_path / name, "--slice", "0", "--bbox", "10,10,20,20")
        line = one_error_line(CliRunner().invoke(cli.annotate, args), "lesion-annotate")
        assert f"{name}: expected a grey CT image in HU (16-bit or wider), found {found}" in line


def test_png_slice_without_a_slice_number(run_dir: Path, tmp_path: Path) -> None:
    png = tmp_path / "000001_01_01" / "key.png"
    png.parent.mkdir()
    sitk.WriteImage(sitk.GetImageFromArray(np.zeros((32, 32), dtype=np.uint16)), str(png))
    (tmp_path / "DL_info.csv").write_text("x\n")
    args = annotate_args(run_dir, png, "--dl-info", str(tmp_path / "DL_info.csv"))
    line = one_error_line(CliRunner().invoke(cli.annotate, args), "lesion-annotate")
    assert "key.png: expected a DeepLesion slice named <slice>.png (such as 253.png), or give --slice" in line


@pytest.mark.shared
def test_readme_annotate_on_real_key_slices(run_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    samples = shared_data / "deeplesion" / "samples"
    png = samples / "Images_png" / "000016_02_01" / "253.png"
    info = samples / "DL_info_samples.csv"
    args = annotate_args(run_dir, png, "--dl-info", str(info), "--out", str(tmp_path / "f.png"))
    line = one_error_line(CliRunner().invoke(cli.annotate, args), "lesion-annotate")
    assert "pass --replicate-key-only" in line and "lesion-prepare" not in line
    result = CliRunner().invoke(cli.annotate, [*args, "--replicate-key-only"])
    assert result.exit_code == 0, result.output
    jpeg = next((samples / "jpeg_key_slices_8bit").rglob("*.jpg"))
    jpeg_args = annotate_args(run_dir, jpeg, "--slice", "0", "--bbox", "200,200,240,240")
    line = one_error_line(CliRunner().invoke(cli.annotate, jpeg_args), "lesion-annotate")
    assert "expected a grey CT image in HU" in line


# --- lesion-train ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--width", "0", "--width: expected a channel multiplier > 0 and ≤ 4 (1: VGG-16-BN), found 0.0"),
        ("--batch-size", "0", "--batch-size: expected an integer ≥ 1, found 0"),
        ("--epochs", "-1", "--epochs: expected an integer from 1 to 100000, found -1"),
        ("--lr", "nan", "--lr: expected a learning rate > 0 and ≤ 10, found nan"),
        ("--beta", "2", "--beta: expected a number from 0 to 1, found 2.0"),
        ("--downsample", "0", "--downsample: expected an integer from 1 to 4, found 0"),
        ("--device", "gpu", "--device: expected auto, cpu, cuda or cuda:N, found 'gpu'"),
    ],
)
def test_train_options_out_of_range(tmp_path: Path, option: str, value: str, expected: str) -> None:
    args = ["--data", str(tmp_path / "store"), "--out", str(tmp_path / "run"), option, value]
    assert one_error_line(CliRunner().invoke(cli.train, args), "lesion-train") == f"lesion-train: error: {expected}"
    assert not (tmp_path / "run").exists()


def test_config_is_validated_on_construction() -> None:
    from lesion_model.errors import ConfigError

    with pytest.raises(ConfigError, match="--window: expected two HU values LO < HI"):
        TrainConfig(data="s", out="r", window=(100.0, -100.0))
    with pytest.raises(ValueError, match="--hidden"):
        TrainConfig(data="s", out="r", hidden=0)


def test_train_refuses_an_earlier_run_and_resumes_a_moved_one(run_dir: Path, tmp_path: Path) -> None:
    store = run_dir.parent / "store"
    out = tmp_path / "run"
    common = ["--width", "0.125", "--hidden", "8", "--batch-size", "4", "--device", "cpu"]
    base = [*common, "--data", str(store), "--out", str(out), "--epochs", "1"]
    assert CliRunner().invoke(cli.train, base).exit_code == 0
    first = (out / "checkpoint.pt").read_bytes()
    line = one_error_line(CliRunner().invoke(cli.train, base), "lesion-train")
    assert line.endswith("holds a run (checkpoint.pt, config.json, history.json): pass --resume to continue it, "
                         "or --overwrite to start over")  # fmt: skip
    assert (out / "checkpoint.pt").read_bytes() == first
    assert CliRunner().invoke(cli.train, [*base, "--overwrite"]).exit_code == 0

    moved_store, moved_run = tmp_path / "elsewhere" / "store", tmp_path / "elsewhere" / "run"
    moved_store.parent.mkdir()
    shutil.copytree(store, moved_store)
    out.rename(moved_run)
    args = [*common, "--out", str(moved_run), "--resume", "--data"]
    result = CliRunner().invoke(cli.train, [*args, str(moved_store), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["epoch"] == 2
    other = tmp_path / "other"
    make_store(other, n=12, seed=1)
    result = CliRunner().invoke(cli.train, [*args, str(other), "--epochs", "3"])
    line = one_error_line(result, "lesion-train")
    assert "was trained on another store than" in line


# --- help, progress, missing extra ---------------------------------------------------------------


def test_help_is_light_and_has_examples() -> None:
    code = (
        "import sys\nfrom lesion_model import cli\n"
        "for name in ('synth', 'prepare', 'train', 'evaluate', 'annotate'):\n"
        "    try:\n        getattr(cli, name).main(['-h'], prog_name=name)\n    except SystemExit:\n        pass\n"
        "print('HEAVY', sorted(m for m in ('torch', 'pandas', 'matplotlib', 'SimpleITK') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "HEAVY []"
    for prog, command in COMMANDS.items():
        result = CliRunner().invoke(command, ["-h"], prog_name=prog)
        assert result.exit_code == 0 and "Examples:" in result.output, prog
        assert result.output.split("Examples:")[1].strip().startswith(prog), prog
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    for prog, command in COMMANDS.items():  # the entry points are these light commands
        assert f'{prog} = "lesion_model.cli:{command.callback.__name__}"' in pyproject, prog


def test_progress_bars_only_when_asked_or_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert cli.show_progress(True) and not cli.show_progress(False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert cli.show_progress(None)
    for value, shown in (("1", False), ("true", False), ("0", True), ("", True)):
        monkeypatch.setenv("TQDM_DISABLE", value)
        assert cli.show_progress(None) is shown, value
    monkeypatch.delenv("TQDM_DISABLE")
    data = generate(tmp_path / "dl", SynthConfig(patients=2, image_size=96), seed=1)
    args = [str(data / "DL_info.csv"), "--labels", str(data / "truth.csv"), "--label-set", "observed"]
    quiet = CliRunner().invoke(cli.prepare, [*args, "-o", str(tmp_path / "a")])  # CliRunner's stderr: no terminal
    assert quiet.exit_code == 0 and quiet.stderr.strip() == f"wrote {tmp_path / 'a'}"
    shown = CliRunner().invoke(cli.prepare, [*args, "-o", str(tmp_path / "b"), "--progress"])
    assert shown.exit_code == 0 and "lesion-prepare: 100%" in shown.stderr
    synth = CliRunner().invoke(cli.synth, [str(tmp_path / "s"), "--patients", "1", "--image-size", "96"])
    assert synth.exit_code == 0 and synth.stderr.strip() == f"wrote {tmp_path / 's'}"


@pytest.mark.parametrize(
    ("prog", "hidden", "args"),
    [
        ("lesion-train", "torch", ["--data", "s", "--out", "r"]),
        ("lesion-eval", "torch", ["--checkpoint", ".", "--data", "s"]),
        ("lesion-annotate", "torch", ["--checkpoint", ".", "--image", "."]),
        ("lesion-prepare", "SimpleITK", ["pyproject.toml", "-o", "s"]),
        ("lesion-synth", "SimpleITK", ["s"]),
    ],
)
def test_missing_model_extra_is_one_line(prog: str, hidden: str, args: list[str], tmp_path: Path) -> None:
    name = {"lesion-eval": "evaluate"}.get(prog, prog.removeprefix("lesion-"))
    code = (
        f"import sys\nsys.modules[{hidden!r}] = None  # as if not installed\n"
        f"from lesion_model.cli import {name}\n{name}(prog_name={prog!r})"
    )
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO, check=False)
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.strip() == (
        f"{prog}: error: {hidden} is not installed; the lesion-* commands need the model extra: "
        "pip install 'radminer[model]'"
    )


def test_importing_the_commands_imports_no_torch() -> None:
    code = "import sys\nimport lesion_model.cli\nprint('torch' in sys.modules, 'pandas' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert run.stdout.split() == ["False", "False"]


#: The packages of the model extra (pyproject.toml), hidden to simulate ``pip install radminer`` without it.
MODEL_EXTRA = ("torch", "torchvision", "SimpleITK", "pydicom", "matplotlib", "pandas")


@pytest.mark.parametrize(
    ("prog", "args"),
    [
        ("lesion-synth", ["s"]),
        ("lesion-prepare", ["pyproject.toml", "-o", "s"]),
        ("lesion-train", ["--data", "s", "--out", "r"]),
        ("lesion-eval", ["--checkpoint", ".", "--data", "s"]),
        ("lesion-annotate", ["--checkpoint", ".", "--image", "."]),
    ],
)
def test_every_command_without_the_model_extra_is_one_line(prog: str, args: list[str]) -> None:
    name = {"lesion-eval": "evaluate"}.get(prog, prog.removeprefix("lesion-"))
    code = (
        f"import sys\nfor m in {MODEL_EXTRA!r}:\n    sys.modules[m] = None  # as if not installed\n"
        f"from lesion_model.cli import {name}\n{name}(prog_name={prog!r})"
    )
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO, check=False)
    assert run.returncode == 1 and run.stdout == "", run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"{prog}: error: ") and line.endswith("pip install 'radminer[model]'"), line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--patients", "0"], "--patients: expected an integer from 1 to 100000, found 0"),
        (["--image-size", "50"], "--image-size: expected an integer from 96 to 2048"),
    ],
)
def test_synth_options_out_of_range(tmp_path: Path, args: list[str], expected: str) -> None:
    line = one_error_line(CliRunner().invoke(cli.synth, [str(tmp_path / "s"), *args]), "lesion-synth")
    assert line.startswith(f"lesion-synth: error: {expected}"), line
    assert not (tmp_path / "s").exists()


def test_prepare_window_out_of_range(tmp_path: Path) -> None:
    args = ["pyproject.toml", "-o", str(tmp_path / "s"), "--dtype", "uint8", "--window", "100", "-100"]
    result = CliRunner().invoke(cli.prepare, args)
    expected = "lesion-prepare: error: --window: expected two HU values LO < HI, each from -100000 to 100000"
    assert one_error_line(result, "lesion-prepare").startswith(expected)


def test_option_defaults_are_the_configs() -> None:
    from dataclasses import MISSING, fields

    from lesion_model.data import PrepareOptions
    from lesion_model.synth import SynthConfig

    checked = 0
    for config, command in ((TrainConfig, cli.train), (PrepareOptions, cli.prepare), (SynthConfig, cli.synth)):
        options = {p.name: p for p in command.params if p.name and not getattr(p, "is_flag", False)}
        for field in fields(config):
            if field.name in options and field.default is not MISSING and field.default is not None:
                assert options[field.name].default == field.default, (command.name, field.name)
                checked += 1
    assert checked >= 20
