"""``lesion-prepare SOURCE -o STORE``: CT lesions → a patch store (:mod:`lesion_model.data.prepare`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import click

from ..data.prepare import PrepareOptions
from ..errors import BadRowsError, DataError
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

__all__ = ["prepare"]


@click.command(
    "lesion-prepare",
    context_settings=CONTEXT,
    epilog=epilog(
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
    default=default(PrepareOptions, "on_error"),
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
    default=default(PrepareOptions, "dtype"),
    show_default=True,
    help="int16 HU, or uint8 windowed by --window.",
)
@click.option(
    "--window",
    nargs=2,
    type=float,
    default=default(PrepareOptions, "window"),
    show_default=True,
    help="HU window for uint8.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing store.")
@progress_option
@exit_cleanly("lesion-prepare")
def prepare(
    source: Path,
    out: Path,
    labels_path: Path | None,
    bookmarks: Path | None,
    label_set: str,
    split_file: Path | None,
    jobs: int,
    on_error: Literal["raise", "skip"],
    min_labelled: float,
    replicate_key_only: bool,
    dtype: Literal["int16", "uint8"],
    window: tuple[float, float],
    overwrite: bool,
    progress: bool | None,
) -> None:
    """Cut 3-slice 120 mm patches of the lesions of SOURCE (DL_info.csv or a manifest) into a store."""
    require_model_extra("pandas", "SimpleITK")
    from ..data.prepare import prepare_store, read_label_source

    setup_logging("lesion-prepare")
    options = PrepareOptions(dtype, (window[0], window[1]), replicate_key_only, on_error)
    table = read_label_source(labels_path, bookmarks)
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
