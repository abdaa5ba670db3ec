"""``lesion-train --data STORE --out RUN``: train the lesion classifier (:mod:`lesion_model.training`).

Its options and their defaults are those of :class:`~lesion_model.training.TrainConfig`. Under
torchrun, ``torchrun --nproc_per_node=N -m lesion_model.cli.lesion_train ...`` runs N ranks.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import click

from ..training import TrainConfig
from ._common import (
    CONTEXT,
    default,
    epilog,
    exit_cleanly,
    progress_option,
    require_model_extra,
    setup_logging,
    show_progress,
)

__all__ = ["train"]


@click.command(
    "lesion-train",
    context_settings=CONTEXT,
    epilog=epilog(
        "lesion-train --data store/ --out run/                      # the paper's recipe",
        "lesion-train --data store/ --out run/ --head gap --loss bce  # Table 1's first row",
        "lesion-train --data store/ --out run/ --epochs 20 --resume   # continue an interrupted run",
        "lesion-train --data store/ --out run/ --width 0.125 --downsample 2 --epochs 3 --device cpu",
    ),
)
@click.option("--data", required=True, type=click.Path(file_okay=False), help="Patch store.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run directory.")
@click.option(
    "--head", type=click.Choice(["gap", "multiscale"]), default=default(TrainConfig, "head"), show_default=True
)
@click.option(
    "--loss",
    type=click.Choice(["bce", "weighted", "weighted_bootstrap"]),
    default=default(TrainConfig, "loss"),
    show_default=True,
)
@click.option(
    "--beta", type=float, default=default(TrainConfig, "beta"), show_default=True, help="Bootstrapping β (0 to 1)."
)
@click.option("--detach-bootstrap", is_flag=True, help="Detach the prediction term of ỹ.")
@click.option(
    "--uncertain",
    type=click.Choice(["ignore", "positive"]),
    default=default(TrainConfig, "uncertain"),
    show_default=True,
    help="Uncertain labels: masked out or positive.",
)
@click.option(
    "--width",
    type=float,
    default=default(TrainConfig, "width"),
    show_default=True,
    help="Channel multiplier of VGG-16-BN, > 0 and ≤ 4 (e.g. 0.125 for a fast CPU run).",
)
@click.option(
    "--hidden", type=int, default=default(TrainConfig, "hidden"), show_default=True, help="FC size per stage."
)
@click.option(
    "--pool",
    type=click.Choice(["align", "max"]),
    default=default(TrainConfig, "pool"),
    show_default=True,
    help="roi_align or roi_pool.",
)
@click.option("--epochs", type=int, default=default(TrainConfig, "epochs"), show_default=True, help="≥ 1.")
@click.option(
    "--batch-size",
    type=int,
    default=default(TrainConfig, "batch_size"),
    show_default=True,
    help="≥ 1 (the global batch under torchrun).",
)
@click.option("--lr", type=float, default=default(TrainConfig, "lr"), show_default=True, help="> 0 and ≤ 10.")
@click.option(
    "--lr-step-epoch",
    type=int,
    default=default(TrainConfig, "lr_step_epoch"),
    show_default=True,
    help="Epoch of the 10× lr drop.",
)
@click.option("--weight-decay", type=float, default=default(TrainConfig, "weight_decay"), show_default=True)
@click.option(
    "--window",
    nargs=2,
    type=float,
    default=default(TrainConfig, "window"),
    show_default=True,
    help="HU window mapped to [0, 1].",
)
@click.option("--seed", type=int, default=default(TrainConfig, "seed"), show_default=True)
@click.option("--device", default=default(TrainConfig, "device"), show_default=True, help="auto, cpu, cuda, cuda:1 …")
@click.option("--no-amp", is_flag=True, help="No bf16 autocast on CUDA.")
@click.option("--no-channels-last", is_flag=True, help="No channels_last on CUDA.")
@click.option(
    "--downsample",
    type=int,
    default=default(TrainConfig, "downsample"),
    show_default=True,
    help="Average-pool patches by this factor, 1 to 4.",
)
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the model.")
@click.option(
    "--data-on-device",
    type=click.Choice(["auto", "yes", "no"]),
    default=default(TrainConfig, "data_on_device"),
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
@progress_option
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
    from ..training import DistributedContext
    from ..training import train as run_training

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


if __name__ == "__main__":
    train()
