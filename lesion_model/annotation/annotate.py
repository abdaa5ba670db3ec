"""What ``lesion-annotate`` does: the top-k labels of one lesion and a Fig. 3-style figure.

Inputs (read with :mod:`lesion_model.data`, preprocessed exactly as the patch store is):

* a DeepLesion 16-bit PNG slice ``Images_png/<series>/<slice>.png`` with its ``DL_info.csv``
  (``--dl-info``: spacing, slice interval and range; the box too when ``--bbox`` is left out);
  ``--replicate-key-only`` uses the key slice for all 3 channels when the neighbours are absent;
* a NIfTI file, a DICOM file or a folder holding one DICOM series, with ``--slice`` (0-based z)
  and ``--bbox`` in pixels of that slice.

Output: ``label  score  category`` lines (top-k, best first) or JSON with ``--json``; ``--out``
writes the figure (the patch, the box, the top-k labels with scores; with ``--truth``, true
positives green, false positives red and missed true labels blue). ``--truth`` labels are
expanded to their ancestors in the shipped ontology, as training labels are. A box must lie
inside the image, and the image must be grey CT in HU (a colour or 8-bit picture is refused).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data.geometry import box_problem
from ..data.preprocess import extract_patch, window_hu
from ..data.records import find_dl_info_rows, read_dl_info
from ..data.volumes import ArrayVolume, PngSeries, Volume, read_volume
from ..errors import ConfigError, DataError
from ..evaluation.figures import figure_format, pyplot, save_figure
from ..training import InputTransform, LoadedModel, load_checkpoint, resolve_device

__all__ = ["DISPLAY_WINDOW", "Lesion", "Prediction", "annotate", "annotate_image", "plot_annotation", "read_lesion"]

logger = logging.getLogger(__name__)

#: Display window of the figure (DeepLesion's usual soft-tissue window, HU).
DISPLAY_WINDOW: tuple[float, float] = (-175.0, 275.0)
_COLOURS = {"TP": "#1a9641", "FP": "#d7191c", "FN": "#2b83ba", None: "black"}


@dataclass(frozen=True)
class Lesion:
    """A lesion located in a volume: slice ``key_slice``, ``box`` (x1, y1, x2, y2) in its pixels."""

    volume: Volume
    key_slice: int
    box: tuple[float, float, float, float]
    source: str


@dataclass(frozen=True)
class Prediction:
    """One label's score; ``status`` is TP/FP/FN when truth was given, else None."""

    label: str
    score: float
    category: str
    status: str | None = None


def _parse_box(text: str) -> tuple[float, float, float, float]:
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    try:
        x1, y1, x2, y2 = (float(p) for p in parts)
    except ValueError:
        raise DataError(f"--bbox: expected x1,y1,x2,y2 (4 numbers), found {text!r}") from None
    problem = box_problem((x1, y1, x2, y2))
    if problem is not None:
        raise DataError(f"--bbox: expected {problem}, found {text!r}")
    return x1, y1, x2, y2


def _check_top(top: int) -> None:
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ConfigError(f"--top: expected an integer ≥ 1, found {top!r}")


def _check_box(box: tuple[float, float, float, float], size: tuple[int, int], image: Path) -> None:
    """``--bbox`` must lie inside the image (``size``: width, height)."""
    problem = box_problem(box, size)
    if problem is not None:
        raise DataError(f"--bbox: expected {problem} of {image}, found {', '.join(f'{v:g}' for v in box)}")


def _deeplesion_lesion(
    png: Path,
    dl_info: Path,
    key_slice: int | None,
    box: tuple[float, float, float, float] | None,
    replicate_key_only: bool,
) -> Lesion:
    """The DL_info row of a DeepLesion PNG slice (``<series>/<slice>.png``) and its series."""
    folder = png.parent
    if key_slice is None and not png.stem.isdigit():
        raise DataError(f"{png}: expected a DeepLesion slice named <slice>.png (such as 253.png), or give --slice")
    key = int(png.stem) if key_slice is None else key_slice
    file_name = f"{folder.name}_{key:03d}.png"
    found = read_dl_info(dl_info, images=folder.parent, rows=find_dl_info_rows(dl_info, file_name))
    rows = [r for r in found if r.image.name == folder.name and r.key_slice == key]
    if not rows:
        raise DataError(f"{dl_info}: no row with File_name {file_name} (series {folder.name}, key slice {key})")
    if box is None:
        if len(rows) > 1:
            boxes = "; ".join(",".join(f"{v:g}" for v in r.box) for r in rows)
            raise DataError(f"{dl_info}: {len(rows)} lesions on {png}: pick one with --bbox ({boxes})")
        box = rows[0].box
    row = rows[0]
    assert row.spacing_xy is not None and row.slice_interval is not None
    assert row.first is not None and row.last is not None and row.image_size is not None
    _check_box(box, row.image_size, png)
    series = PngSeries(
        folder=folder,
        spacing_xy=row.spacing_xy,
        slice_interval=row.slice_interval,
        first=row.first,
        last=row.last,
        key_slice=key,
        replicate_key_only=replicate_key_only,
        size=row.image_size,
    )
    return Lesion(series, key, box, f"{png} (DL_info row {row.row})")


def read_lesion(
    image: str | Path,
    *,
    key_slice: int | None = None,
    box: tuple[float, float, float, float] | None = None,
    dl_info: str | Path | None = None,
    replicate_key_only: bool = False,
) -> Lesion:
    """Locate a lesion in a DeepLesion PNG slice (with ``dl_info``) or a NIfTI/DICOM volume."""
    path = Path(image)
    if path.suffix.lower() == ".png":
        if dl_info is None:
            raise DataError(f"{path}: a DeepLesion PNG slice needs its DL_info.csv row (--dl-info)")
        return _deeplesion_lesion(path, Path(dl_info), key_slice, box, replicate_key_only)
    if key_slice is None or box is None:
        raise DataError(f"{path}: a NIfTI/DICOM image needs --slice and --bbox")
    volume: ArrayVolume = read_volume(path)
    if not volume.first <= key_slice <= volume.last:
        raise DataError(f"{path}: --slice {key_slice} is outside 0..{volume.last} (shape {volume.hu.shape})")
    _check_box(box, (volume.hu.shape[2], volume.hu.shape[1]), path)
    return Lesion(volume, key_slice, box, str(path))


def annotate(
    loaded: LoadedModel,
    hu: np.ndarray,
    box: Sequence[float],
    *,
    top: int = 5,
    truth: Sequence[str] = (),
    device: torch.device | str = "cpu",
) -> tuple[list[Prediction], np.ndarray]:
    """Top-``top`` predictions for a patch (hu: float32[3, S, S] HU; box in patch pixels).

    Returns the predictions (best first; with ``truth``, the missed true labels follow as FN)
    and all K scores.
    """
    _check_top(top)
    unknown = sorted(set(truth) - set(loaded.labels))
    if unknown:
        raise DataError(f"--truth: {unknown} are not labels of this model")
    transform = InputTransform(loaded.window, loaded.config.downsample)
    x, boxes = transform(torch.from_numpy(np.asarray(hu, dtype=np.float32))[None], torch.tensor([list(box)]))
    loaded.model.eval()
    with torch.inference_mode():
        scores = torch.sigmoid(loaded.model(x.to(device), boxes.to(device)).float())[0].cpu().numpy()
    order = np.argsort(-scores, kind="stable")[:top]
    truth_set = set(truth)

    def prediction(i: int, status: str | None) -> Prediction:
        return Prediction(loaded.labels[i], float(scores[i]), loaded.categories[i], status)

    predictions = [prediction(i, ("TP" if loaded.labels[i] in truth_set else "FP") if truth else None) for i in order]
    shown = {loaded.labels[i] for i in order}
    missed = [i for i in np.argsort(-scores, kind="stable") if loaded.labels[i] in truth_set - shown]
    return predictions + [prediction(i, "FN") for i in missed], scores


def plot_annotation(
    path: str | Path,
    hu: np.ndarray,
    box: Sequence[float],
    predictions: Sequence[Prediction],
    *,
    title: str = "",
) -> None:
    """Fig. 3-style figure (PNG, or the format of the suffix): the patch's middle slice with the
    box, and the labels with scores."""
    figure_format(path)
    plt = pyplot()
    image = window_hu(hu[len(hu) // 2], DISPLAY_WINDOW)
    fig, (ax, text) = plt.subplots(1, 2, figsize=(7, 3.6), dpi=110, gridspec_kw={"width_ratios": [1, 1]})
    ax.imshow(image, cmap="gray", vmin=0, vmax=1)
    x1, y1, x2, y2 = box
    ax.add_patch(plt.Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor="#ffcc00", linewidth=1.5))
    ax.set_axis_off()
    text.set_axis_off()
    y = 0.95
    for p in predictions:
        mark = f" [{p.status}]" if p.status else ""
        text.text(0, y, f"{p.label}: {p.score:.3f}{mark}", color=_COLOURS[p.status], fontsize=10, va="top")
        y -= 0.085
    if any(p.status for p in predictions):
        text.text(0, 0.02, "green: TP   red: FP   blue: missed (FN)", fontsize=7, color="grey")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    save_figure(fig, path)


def _truth_labels(values: Sequence[str], labels: Sequence[str]) -> list[str]:
    """``--truth`` values (comma-separated or repeated) plus their ancestors among ``labels``."""
    given = [x.strip() for v in values for x in v.split(",") if x.strip()]
    if not given:
        return []
    from radminer.ontology import load_ontology

    graph = load_ontology()
    ancestors = graph.expand([x for x in given if x in graph])
    return given + sorted(a for a in ancestors if a in labels and a not in given)


def annotate_image(
    checkpoint: str | Path,
    image: str | Path,
    *,
    key_slice: int | None = None,
    bbox: str | None = None,
    dl_info: str | Path | None = None,
    replicate_key_only: bool = False,
    top: int = 5,
    truth: Sequence[str] = (),
    figure: str | Path | None = None,
    device: str = "auto",
) -> tuple[list[Prediction], dict[str, Any]]:
    """What ``lesion-annotate`` does: the predictions for one lesion and its JSON record.

    ``bbox`` is the ``--bbox`` text; ``truth`` the ``--truth`` values; ``figure`` the path of
    the figure to draw. Arguments are checked before the model is loaded.
    """
    if figure is not None:
        figure_format(figure)
    box = None if bbox is None else _parse_box(bbox)
    _check_top(top)
    dev = resolve_device(device)
    loaded = load_checkpoint(checkpoint, device=dev)
    lesion = read_lesion(image, key_slice=key_slice, box=box, dl_info=dl_info, replicate_key_only=replicate_key_only)
    patch = extract_patch(lesion.volume, lesion.key_slice, lesion.box)
    truth_labels = _truth_labels(truth, loaded.labels)
    predictions, _ = annotate(loaded, patch.hu, patch.box, top=top, truth=truth_labels, device=dev)
    if figure is not None:
        title = f"{Path(image).parent.name}/{Path(image).name}, slice {lesion.key_slice}" + (
            " (key slice replicated)" if patch.replicated else ""
        )
        plot_annotation(figure, patch.hu, patch.box, predictions, title=title)
    record: dict[str, Any] = {
        "image": str(image),
        "source": lesion.source,
        "slice": lesion.key_slice,
        "bbox": list(lesion.box),
        "patch_box": list(patch.box),
        "replicated": patch.replicated,
        "predictions": [asdict(p) for p in predictions],
        "figure": None if figure is None else str(figure),
    }
    return predictions, record
