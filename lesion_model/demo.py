"""End-to-end demo: ``python -m lesion_model.demo OUT`` (what ``make demo`` runs for the CNN).

lesion-synth (synthetic CT + reports) → radminer extract (labels mined from the reports) →
lesion-prepare (patch store) → lesion-train (a narrow model, a few epochs) → lesion-eval →
lesion-annotate (one test lesion), each through its own command line, in this process.
Prints a Table 1-style summary and leaves in ``OUT``: ``metrics.json``, ``roc.png``,
``category_auc.png``, ``annotation.png``, ``summary.txt``, with the data and runs in subfolders.
``--all-rows`` trains the four rows of Table 1 instead of the full method only.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from .data.store import PatchStore
from .evaluation import format_table

__all__ = ["TABLE1_ROWS", "main", "run_demo"]

logger = logging.getLogger(__name__)

#: Table 1 of the seed paper: (name, head, loss).
TABLE1_ROWS = (
    ("VGG-16 (gap, bce)", "gap", "bce"),
    ("+ loss weight", "gap", "weighted"),
    ("+ multi-scale", "multiscale", "weighted"),
    ("+ bootstrap (full method)", "multiscale", "weighted_bootstrap"),
)


def _run(step: str, command: click.Command, args: Sequence[str], timings: dict[str, float]) -> Any:
    """Run a click command in this process; a failure stops the demo naming the step."""
    started = time.perf_counter()
    prog = command.name if command.name and command.name.startswith("lesion-") else "radminer"
    click.echo(f"[demo] {step}: {prog} {' '.join(args)}", err=True)
    try:
        result = command.main(list(args), prog_name=prog, standalone_mode=False)
    except SystemExit as exc:
        if exc.code:
            raise click.ClickException(f"step {step!r} failed (exit status {exc.code})") from exc
        result = None
    timings[step] = round(time.perf_counter() - started, 1)
    return result


def _annotation_args(store_path: Path, run: Path, synth: Path, out: Path) -> list[str]:
    """lesion-annotate arguments for the first test lesion, with its true labels."""
    store = PatchStore.open(store_path)
    row = int(store.split_indices("test")[0])
    record = store.index.iloc[row]
    truth = [label for label, p in zip(store.labels, store.positive[row], strict=True) if p]
    box = ",".join(f"{v:g}" for v in _dl_info_box(synth / "DL_info.csv", int(record["row"])))
    return [
        "--checkpoint", str(run), "--image", str(record["source"]), "--dl-info", str(synth / "DL_info.csv"),
        "--bbox", box, "--truth", ",".join(truth), "--out", str(out), "--device", "cpu",
    ]  # fmt: skip


def _dl_info_box(dl_info: Path, row: int) -> tuple[float, float, float, float]:
    from .data.records import read_dl_info

    return read_dl_info(dl_info, rows=[row])[0].box


def run_demo(
    out: Path,
    *,
    patients: int = 160,
    image_size: int = 256,
    epochs: int = 12,
    width: float = 0.25,
    downsample: int = 1,
    batch_size: int = 32,
    lr: float = 0.02,
    all_rows: bool = False,
    seed: int = 0,
    echo: Callable[[str], None] = click.echo,
) -> dict[str, Any]:
    """Run the pipeline into ``out``; returns {"rows": [(name, metrics)], "timings": {...}}."""
    from radminer.cli import main as radminer_main

    from . import cli

    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    data = out / "synth"
    store = out / "store"
    labels = out / "labels.jsonl"
    synth_args = [str(data), "--patients", str(patients), "--image-size", str(image_size), "--seed", str(seed)]
    _run("synthesize", cli.synth, synth_args, timings)
    _run("extract", radminer_main, ["extract", str(data / "reports.csv"), "-o", str(labels)], timings)
    prepare_args = [str(data / "DL_info.csv"), "-o", str(store), "--labels", str(labels)]
    prepare_args += ["--bookmarks", str(data / "bookmarks.csv"), "--label-set", "observed", "--overwrite"]
    _run("prepare", cli.prepare, prepare_args, timings)

    rows = TABLE1_ROWS if all_rows else TABLE1_ROWS[-1:]
    results = []
    for name, head, loss in rows:
        run = out / "runs" / f"{head}_{loss}"
        train_args = [
            "--data", str(store), "--out", str(run), "--head", head, "--loss", loss, "--width", str(width),
            "--hidden", "64", "--downsample", str(downsample), "--epochs", str(epochs),
            "--batch-size", str(batch_size), "--lr", str(lr), "--lr-step-epoch", str(max(1, epochs - 2)),
            "--seed", str(seed), "--device", "cpu", "--overwrite",
        ]  # fmt: skip
        _run(f"train {head} {loss}", cli.train, train_args, timings)
        eval_out = out if (head, loss) == rows[-1][1:] else run / "eval_test"
        eval_args = ["--checkpoint", str(run), "--data", str(store), "--out", str(eval_out), "--device", "cpu"]
        _run(f"evaluate {head} {loss}", cli.evaluate, eval_args, timings)
        results.append((name, json.loads((eval_out / "metrics.json").read_text(encoding="utf-8"))))

    _run("annotate", cli.annotate, _annotation_args(store, run, data, out / "annotation.png"), timings)
    table = format_table(results)
    lesions = PatchStore.open(store).index["split"].value_counts().to_dict()
    summary = "\n".join(
        [
            f"synthetic lesions: {lesions}; model: VGG-16-BN ×{width}, {epochs} epochs, CPU",
            table,
            "step times (s): " + ", ".join(f"{k} {v}" for k, v in timings.items()),
        ]
    )
    (out / "summary.txt").write_text(summary + "\n", encoding="utf-8")
    echo(summary)
    return {"rows": results, "timings": timings}


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--patients", type=int, default=160, show_default=True, help="Synthetic patients.")
@click.option("--epochs", type=int, default=12, show_default=True)
@click.option("--width", type=float, default=0.25, show_default=True, help="VGG channel multiplier.")
@click.option("--downsample", type=int, default=1, show_default=True, help="Average-pool patches by this.")
@click.option("--all-rows", is_flag=True, help="Train all four rows of Table 1.")
@click.option("--min-auc", type=float, default=0.80, show_default=True, help="Fail below this test mean AUC.")
@click.option("--seed", type=int, default=0, show_default=True)
def main(
    out: Path, patients: int, epochs: int, width: float, downsample: int, all_rows: bool, min_auc: float, seed: int
) -> None:
    """Synthesize, mine labels, prepare, train, evaluate and annotate: the whole method on a CPU."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = run_demo(
        out, patients=patients, epochs=epochs, width=width, downsample=downsample, all_rows=all_rows, seed=seed
    )
    final = result["rows"][-1][1]["mean_auc"]
    if final is None or not math.isfinite(final) or final < min_auc:
        raise click.ClickException(f"test mean AUC {final} is below {min_auc}")
    click.echo(f"[demo] outputs in {out}", err=True)


if __name__ == "__main__":
    main()
