"""``lesion-synth OUT``: a synthetic DeepLesion (:mod:`lesion_model.synth`)."""

from __future__ import annotations

from pathlib import Path

import click

from ..synth import SynthConfig
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

__all__ = ["synth"]


@click.command(
    "lesion-synth",
    context_settings=CONTEXT,
    epilog=epilog("lesion-synth synth/ --patients 30 --image-size 256 --seed 0"),
)
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--patients", type=int, default=default(SynthConfig, "patients"), show_default=True, help="Number of patients."
)
@click.option(
    "--image-size",
    type=int,
    default=default(SynthConfig, "image_size"),
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
@progress_option
@exit_cleanly("lesion-synth")
def synth(
    out: Path, patients: int, image_size: int, seed: int, corrupt: float, corrupt_seed: int, progress: bool | None
) -> None:
    """Write a synthetic DeepLesion (DL_info.csv, Images_png, reports.csv, bookmarks.csv, truth.csv) to OUT."""
    require_model_extra("SimpleITK")
    from ..synth import generate

    setup_logging("lesion-synth")
    config = SynthConfig(patients=patients, image_size=image_size)
    generate(out, config, seed=seed, progress=show_progress(progress), corrupt=corrupt, corrupt_seed=corrupt_seed)
    click.echo(f"wrote {out}", err=True)
