"""The command lines of lesion_model: lesion-synth, lesion-prepare, lesion-train, lesion-eval, lesion-annotate.

They follow radminer's conventions: exit status 0 success, 1 error (one line on stderr, never a
traceback), 2 usage error, 130 interrupted; ``-h``/``--help`` with an example; progress bars on
stderr only when it is a terminal (``--progress``/``--no-progress`` decide, and ``TQDM_DISABLE``
turns them off by default). This module imports only click and radminer's light modules: torch,
pandas, SimpleITK and matplotlib (the ``model`` extra) are imported inside the commands, so that
``--help`` answers at once and a missing extra is one line naming ``pip install 'radminer[model]'``.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from radminer.cliutil import exit_cleanly

from .errors import DataError, LesionModelError

__all__ = ["annotate", "evaluate", "prepare", "require_model_extra", "show_progress", "synth", "train"]

F = TypeVar("F", bound=Callable[..., Any])

_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
#: LesaNet's HU window (lesion_model.data.preprocess.DEFAULT_WINDOW, without importing numpy here).
_DEFAULT_WINDOW = (-1024.0, 3071.0)
_FALSE = {"", "0", "false", "no", "off"}


def show_progress(flag: bool | None) -> bool:
    """Whether to draw progress bars: as asked, else when stderr is a terminal and ``TQDM_DISABLE``
    is unset (or false)."""
    if flag is not None:
        return flag
    if os.environ.get("TQDM_DISABLE", "").strip().lower() not in _FALSE:
        return False
    return sys.stderr.isatty()


def require_model_extra(*modules: str) -> None:
    """Import ``modules`` (packages of the ``model`` extra); one clear error when one is missing."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            raise LesionModelError(
                f"{name} is not installed; the lesion-* commands need the model extra: pip install 'radminer[model]'"
            ) from None


def setup_logging(prog: str, verbose: bool | None = None) -> None:
    """Log to stderr: warnings as ``PROG: message`` (``verbose`` None), else INFO (DEBUG when
    ``verbose``) records with their time and logger."""
    if verbose is None:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format=f"{prog}: %(message)s")
    else:
        level = logging.DEBUG if verbose else logging.INFO
        logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _progress_option(func: F) -> F:
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Progress bars on stderr (default: when stderr is a terminal and TQDM_DISABLE is unset).",
    )(func)


def _epilog(*examples: str) -> str:
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in examples)


@click.command(
    "lesion-synth",
    context_settings=_CONTEXT,
    epilog=_epilog("lesion-synth synth/ --patients 30 --image-size 256 --seed 0"),
)
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--patients", type=click.IntRange(1, 100_000), default=30, show_default=True, help="Number of patients.")
@click.option(
    "--image-size",
    type=click.IntRange(96, 2048),
    default=256,
    show_default=True,
    help="Slice size in pixels (DeepLesion: 512; 96 and more keep the spacing under 5 mm per pixel).",
)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Same seed, same dataset.")
@click.option(
    "--corrupt",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of the lesions whose report sentence gets one wrong label (listed in OUT/corruptions.csv).",
)
@click.option("--corrupt-seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of --corrupt.")
@_progress_option
@exit_cleanly("lesion-synth")
def synth(
    out: Path, patients: int, image_size: int, seed: int, corrupt: float, corrupt_seed: int, progress: bool | None
) -> None:
    """Write a synthetic DeepLesion (DL_info.csv, Images_png, reports.csv, bookmarks.csv, truth.csv) to OUT."""
    require_model_extra("SimpleITK")
    from .synth import SynthConfig, generate

    setup_logging("lesion-synth")
    config = SynthConfig(patients=patients, image_size=image_size)
    generate(out, config, seed=seed, progress=show_progress(progress), corrupt=corrupt, corrupt_seed=corrupt_seed)
    click.echo(f"wrote {out}", err=True)


@click.command(
    "lesion-prepare",
    context_settings=_CONTEXT,
    epilog=_epilog(
        "lesion-prepare synth/DL_info.csv -o store/ --labels synth/labels.jsonl --bookmarks synth/bookmarks.csv",
        "lesion-prepare DL_info.csv -o store/ --labels text_mined_labels_171_and_split.json "
        "--split-file text_mined_labels_171_and_split.json --jobs 4",
        "lesion-prepare manifest.csv -o store/ --labels labels.jsonl --on-error skip",
    ),
)
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o", "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Store folder to write."
)
@click.option(
    "--labels",
    "labels_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="radminer JSONL, LesaNet's text_mined_labels JSON, or lesion-synth's truth.csv.",
)
@click.option(
    "--bookmarks",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV id,bookmark,lesion_id mapping JSONL bookmarks to lesions (lesion-synth's bookmarks.csv).",
)
@click.option(
    "--label-set",
    default="lesanet171",
    show_default=True,
    help="radminer label set (lesanet171, all, num_detected>=N, a file) or 'observed'.",
)
@click.option(
    "--split-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Take splits from LesaNet's JSON (lesion index = 0-based DL_info row) instead of Train_Val_Test.",
)
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True, help="Worker processes.")
@click.option(
    "--on-error",
    type=click.Choice(["raise", "skip"]),
    default="raise",
    show_default=True,
    help="A bad SOURCE row or a missing, corrupt or wrongly sized slice stops the run (nothing is written), "
    "or the lesion is left out and listed in OUT/skipped.tsv.",
)
@click.option(
    "--min-labelled",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Share of the lesions the labels must match (a join below it fails, showing both key formats).",
)
@click.option("--replicate-key-only", is_flag=True, help="Key-slice-only series: use the key slice for all 3 channels.")
@click.option(
    "--dtype",
    type=click.Choice(["int16", "uint8"]),
    default="int16",
    show_default=True,
    help="int16 HU, or uint8 windowed by --window.",
)
@click.option("--window", nargs=2, type=float, default=_DEFAULT_WINDOW, show_default=True, help="HU window for uint8.")
@click.option("--overwrite", is_flag=True, help="Replace an existing store.")
@_progress_option
@exit_cleanly("lesion-prepare")
def prepare(
    source: Path,
    out: Path,
    labels_path: Path | None,
    bookmarks: Path | None,
    label_set: str,
    split_file: Path | None,
    jobs: int,
    on_error: str,
    min_labelled: float,
    replicate_key_only: bool,
    dtype: str,
    window: tuple[float, float],
    overwrite: bool,
    progress: bool | None,
) -> None:
    """Cut 3-slice 120 mm patches of the lesions of SOURCE (DL_info.csv or a manifest) into a store."""
    require_model_extra("pandas", "SimpleITK")
    from .errors import BadRowsError
    from .prepare import PrepareOptions, prepare_store, read_label_source

    setup_logging("lesion-prepare")
    table = read_label_source(labels_path, bookmarks)
    options = PrepareOptions(dtype, (window[0], window[1]), replicate_key_only, on_error)
    try:
        path = prepare_store(
            source,
            out,
            labels=table,
            label_set=label_set,
            split_file=split_file,
            options=options,
            jobs=jobs,
            overwrite=overwrite,
            progress=show_progress(progress),
            min_labelled=min_labelled,
        )
    except BadRowsError as exc:
        for row in exc.rows:
            click.echo(f"lesion-prepare: error: {row.reason}", err=True)
        raise DataError(
            f"{exc.path}: {len(exc.rows)} bad row(s), nothing written; fix them, or pass --on-error skip "
            f"to leave them out (listed in {out / 'skipped.tsv'})"
        ) from None
    click.echo(f"wrote {path}", err=True)


@click.command(
    "lesion-train",
    context_settings=_CONTEXT,
    epilog=_epilog(
        "lesion-train --data store/ --out run/                      # the paper's recipe",
        "lesion-train --data store/ --out run/ --head gap --loss bce  # Table 1's first row",
        "lesion-train --data store/ --out run/ --epochs 20 --resume   # continue an interrupted run",
        "lesion-train --data store/ --out run/ --width 0.125 --downsample 2 --epochs 3 --device cpu",
    ),
)
@click.option("--data", required=True, type=click.Path(file_okay=False), help="Patch store.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option("--head", type=click.Choice(["gap", "multiscale"]), default="multiscale", show_default=True)
@click.option(
    "--loss",
    type=click.Choice(["bce", "weighted", "weighted_bootstrap"]),
    default="weighted_bootstrap",
    show_default=True,
)
@click.option("--beta", type=float, default=0.9, show_default=True, help="Bootstrapping β (0 to 1).")
@click.option("--detach-bootstrap", is_flag=True, help="Detach the prediction term of ỹ.")
@click.option(
    "--uncertain",
    type=click.Choice(["ignore", "positive"]),
    default="ignore",
    show_default=True,
    help="Uncertain labels: masked out or positive.",
)
@click.option(
    "--width",
    type=float,
    default=1.0,
    show_default=True,
    help="Channel multiplier of VGG-16-BN, > 0 and ≤ 4 (e.g. 0.125 for a fast CPU run).",
)
@click.option("--hidden", type=int, default=256, show_default=True, help="FC size per stage.")
@click.option(
    "--pool",
    type=click.Choice(["align", "max"]),
    default="align",
    show_default=True,
    help="roi_align or roi_pool.",
)
@click.option("--epochs", type=int, default=15, show_default=True, help="≥ 1.")
@click.option("--batch-size", type=int, default=128, show_default=True, help="≥ 1 (the global batch under torchrun).")
@click.option("--lr", type=float, default=0.01, show_default=True, help="> 0 and ≤ 10.")
@click.option("--lr-step-epoch", type=int, default=12, show_default=True, help="Epoch of the 10× lr drop.")
@click.option("--weight-decay", type=float, default=1e-4, show_default=True)
@click.option(
    "--window",
    nargs=2,
    type=float,
    default=_DEFAULT_WINDOW,
    show_default=True,
    help="HU window mapped to [0, 1].",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:1 …")
@click.option("--no-amp", is_flag=True, help="No bf16 autocast on CUDA.")
@click.option("--no-channels-last", is_flag=True, help="No channels_last on CUDA.")
@click.option(
    "--downsample", type=int, default=1, show_default=True, help="Average-pool patches by this factor, 1 to 4."
)
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the model.")
@click.option(
    "--data-on-device",
    type=click.Choice(["auto", "yes", "no"]),
    default="auto",
    show_default=True,
    help="Keep the training patches on the GPU.",
)
@click.option(
    "--pretrained",
    type=click.Path(dir_okay=False, exists=True),
    help="Local torchvision VGG-16-BN ImageNet state dict (never downloaded).",
)
@click.option("--resume", is_flag=True, help="Continue from OUT/checkpoint.pt (OUT and the store may have moved).")
@click.option("--overwrite", is_flag=True, help="Start over in an OUT that holds a run (its files are removed).")
@_progress_option
@click.option("-v", "--verbose", is_flag=True)
@exit_cleanly("lesion-train")
def train(
    resume: bool,
    overwrite: bool,
    verbose: bool,
    compile_: bool,
    no_amp: bool,
    no_channels_last: bool,
    window: tuple[float, float],
    progress: bool | None,
    **options: Any,
) -> None:
    """Train the lesion classifier on a patch store (the seed paper's recipe by default).

    Writes OUT/config.json, OUT/checkpoint.pt (after every epoch) and OUT/history.json; prints the
    last epoch's record as JSON.
    """
    require_model_extra("torch", "torchvision", "pandas")
    from .distributed import DistributedContext
    from .train import TrainConfig
    from .train import train as run_training

    setup_logging("lesion-train", verbose)
    is_main = DistributedContext.from_env().is_main
    if not is_main:
        logging.getLogger().setLevel(logging.WARNING)  # rank 0 alone logs progress
    config = TrainConfig(
        compile=compile_,
        amp=not no_amp,
        channels_last=not no_channels_last,
        window=(window[0], window[1]),
        progress=show_progress(progress),
        **options,
    )
    record = run_training(config, resume=resume, overwrite=overwrite)
    if is_main:
        click.echo(json.dumps(record))


@click.command(
    "lesion-eval",
    context_settings=_CONTEXT,
    epilog=_epilog(
        "lesion-eval --checkpoint run/ --data store/                  # writes run/eval_test/",
        "lesion-eval --checkpoint run/checkpoint.pt --data store/ --split val --expand --out eval_val/",
    ),
)
@click.option(
    "--checkpoint",
    required=True,
    type=click.Path(exists=True),
    help="checkpoint.pt or the run directory holding it.",
)
@click.option("--data", required=True, type=click.Path(file_okay=False), help="Patch store.")
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True)
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default: RUN/eval_SPLIT).")
@click.option("--expand", is_flag=True, help="Expand predictions to ancestor labels.")
@click.option("--roc-label", "roc_labels", multiple=True, help="Label to plot a ROC curve of (repeatable).")
@click.option("--device", default="auto", show_default=True)
@click.option("--batch-size", type=int, default=128, show_default=True, help="≥ 1.")
@click.option("-v", "--verbose", is_flag=True)
@exit_cleanly("lesion-eval")
def evaluate(verbose: bool, **options: Any) -> None:
    """Evaluate a checkpoint: metrics.json (per-label AUC, F1) and ROC / category plots."""
    require_model_extra("torch", "torchvision", "pandas", "matplotlib")
    from .evaluate import evaluate_checkpoint, format_table

    setup_logging("lesion-eval", verbose)
    result = evaluate_checkpoint(**options)
    click.echo(format_table([(f"{result['model']['head']} + {result['model']['loss']}", result)]))


@click.command(
    "lesion-annotate",
    context_settings=_CONTEXT,
    epilog=_epilog(
        "lesion-annotate --checkpoint run/ --image Images_png/000016_02_01/253.png --dl-info DL_info.csv --out fig.png",
        "lesion-annotate --checkpoint run/ --image samples/Images_png/000016_02_01/253.png \\",
        "    --dl-info samples/DL_info.csv --replicate-key-only --truth liver --json   # key slices only",
        "lesion-annotate --checkpoint run/ --image ct.nii.gz --slice 42 --bbox 200,180,240,215 --out fig.png",
    ),
)
@click.option("--checkpoint", required=True, type=click.Path(exists=True), help="checkpoint.pt or its run folder.")
@click.option("--image", required=True, type=click.Path(exists=True), help="DeepLesion PNG slice, NIfTI or DICOM.")
@click.option("--slice", "key_slice", type=int, help="Key slice (0-based z; PNG: default from the file name).")
@click.option("--bbox", help="x1,y1,x2,y2 in slice pixels (PNG: default from DL_info).")
@click.option("--dl-info", type=click.Path(exists=True, dir_okay=False), help="DL_info.csv for a PNG slice.")
@click.option(
    "--replicate-key-only", is_flag=True, help="Use the key slice for all 3 channels (key-slice-only packages)."
)
@click.option("--top", type=int, default=5, show_default=True, help="How many labels to show (≥ 1).")
@click.option("--truth", multiple=True, help="True labels (comma-separated or repeated).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the figure here (.png, .jpg, .pdf or .svg).")
@click.option("--device", default="auto", show_default=True)
@click.option("-v", "--verbose", is_flag=True)
@exit_cleanly("lesion-annotate")
def annotate(
    checkpoint: str,
    image: str,
    key_slice: int | None,
    bbox: str | None,
    dl_info: str | None,
    replicate_key_only: bool,
    top: int,
    truth: tuple[str, ...],
    as_json: bool,
    out: str | None,
    device: str,
    verbose: bool,
) -> None:
    """Predict the top-k labels of one lesion; optionally draw a Fig. 3-style figure."""
    require_model_extra("torch", "torchvision", "pandas", "SimpleITK", "matplotlib")
    from .annotate import annotate_image

    setup_logging("lesion-annotate", verbose)
    predictions, record = annotate_image(
        checkpoint,
        image,
        key_slice=key_slice,
        bbox=bbox,
        dl_info=dl_info,
        replicate_key_only=replicate_key_only,
        top=top,
        truth=truth,
        figure=out,
        device=device,
    )
    if as_json:
        click.echo(json.dumps(record))
    else:
        for p in predictions:
            click.echo(f"{p.label}\t{p.score:.4f}\t{p.category}" + (f"\t{p.status}" if p.status else ""))
