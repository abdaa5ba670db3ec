"""``lesion-eval --checkpoint RUN --data STORE``: metrics and figures (:mod:`lesion_model.evaluation`)."""

from __future__ import annotations

from typing import Any

import click

from ._common import CONTEXT, epilog, exit_cleanly, require_model_extra, setup_logging

__all__ = ["evaluate"]


@click.command(
    "lesion-eval",
    context_settings=CONTEXT,
    epilog=epilog(
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
    from ..evaluation import evaluate_checkpoint, format_table

    setup_logging("lesion-eval", verbose)
    result = evaluate_checkpoint(**options)
    click.echo(format_table([(f"{result['model']['head']} + {result['model']['loss']}", result)]))
