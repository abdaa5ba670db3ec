"""``lesion-annotate --checkpoint RUN --image IMAGE``: the top-k labels of one lesion
(:mod:`lesion_model.annotation`)."""

from __future__ import annotations

import json

import click

from ._common import CONTEXT, epilog, exit_cleanly, require_model_extra, setup_logging

__all__ = ["annotate"]


@click.command(
    "lesion-annotate",
    context_settings=CONTEXT,
    epilog=epilog(
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
    from ..annotation import annotate_image

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
