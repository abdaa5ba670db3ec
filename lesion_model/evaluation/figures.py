"""Figures of lesion_model (matplotlib, imported on first use): written atomically, format by suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radminer.files import atomic_output

from ..errors import DataError

__all__ = ["FIGURE_FORMATS", "figure_format", "pyplot", "save_figure"]


def pyplot() -> Any:
    """matplotlib.pyplot with the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


#: Figure formats by file suffix.
FIGURE_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".pdf": "pdf", ".svg": "svg"}


def figure_format(path: str | Path) -> str:
    """The format of a figure file by its suffix; a :class:`DataError` for an unknown suffix or a
    folder that does not exist."""
    path = Path(path)
    fmt = FIGURE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DataError(f"{path}: expected a figure file ending in {', '.join(FIGURE_FORMATS)}")
    if not path.parent.is_dir():
        raise DataError(f"{path}: the folder {path.parent} does not exist")
    return fmt


def save_figure(fig: Any, path: str | Path) -> None:
    """Save a matplotlib figure atomically (format from the suffix) and close it."""
    fmt = figure_format(path)
    try:
        with atomic_output(Path(path), binary=True) as handle:
            fig.savefig(handle, format=fmt)
    finally:
        pyplot().close(fig)
