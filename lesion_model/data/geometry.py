"""Plausible CT geometry: the ranges that readers check before any patch is cut.

Each check returns ``None`` when the values are fine, else what was expected (a phrase that
callers put after "expected", next to the file, line and column at fault).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "BOX_MARGIN_PX",
    "IMAGE_SIZE_PX",
    "SLICE_INTERVAL_MM",
    "SPACING_MM",
    "box_problem",
    "image_size_problem",
    "interval_problem",
    "spacing_problem",
]

#: In-plane pixel spacing, mm per pixel (clinical CT: about 0.2 to 1.0).
SPACING_MM = (0.1, 5.0)
#: Distance between neighbouring slices, mm (clinical CT: about 0.5 to 10).
SLICE_INTERVAL_MM = (0.1, 20.0)
#: Width and height of a slice, pixels.
IMAGE_SIZE_PX = (16, 4096)
#: How far a box may reach past the image's edge pixels (DeepLesion pads its RECIST boxes by 5 pixels).
BOX_MARGIN_PX = 5.0


def _in(value: float, bounds: tuple[float, float]) -> bool:
    return math.isfinite(value) and bounds[0] <= value <= bounds[1]


def spacing_problem(spacing_xy: Sequence[float]) -> str | None:
    """In-plane spacing ``(x, y)`` in mm per pixel."""
    lo, hi = SPACING_MM
    if len(spacing_xy) == 2 and all(_in(float(v), SPACING_MM) for v in spacing_xy):
        return None
    return f"an in-plane spacing x, y of {lo:g} to {hi:g} mm per pixel"


def interval_problem(interval: float) -> str | None:
    """The slice interval in mm."""
    lo, hi = SLICE_INTERVAL_MM
    return None if _in(float(interval), SLICE_INTERVAL_MM) else f"a slice interval of {lo:g} to {hi:g} mm"


def image_size_problem(size: Sequence[float]) -> str | None:
    """A slice size ``(width, height)`` in pixels."""
    lo, hi = IMAGE_SIZE_PX
    if len(size) == 2 and all(_in(float(v), IMAGE_SIZE_PX) and float(v).is_integer() for v in size):
        return None
    return f"a slice size width, height of {lo} to {hi} pixels (integers)"


def box_problem(box: Sequence[float], size: Sequence[int] | None = None) -> str | None:
    """A box ``(x1, y1, x2, y2)`` in pixels (pixel centres at integers) on a slice of ``size``
    ``(width, height)``: finite, ``x1 < x2``, ``y1 < y2``, and, with ``size``, inside the image
    (up to :data:`BOX_MARGIN_PX` past its edge pixels)."""
    values = [float(v) for v in box]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        return "a box x1, y1, x2, y2 of 4 finite numbers"
    x1, y1, x2, y2 = values
    if not (x2 > x1 and y2 > y1):
        return "a box x1, y1, x2, y2 with x2 > x1 and y2 > y1"
    if size is None:
        return None
    width, height = size
    m = BOX_MARGIN_PX
    if x1 >= -m and y1 >= -m and x2 <= width - 1 + m and y2 <= height - 1 + m:
        return None
    return (
        f"a box inside the {width} × {height} image ({-m:g} ≤ x1 < x2 ≤ {width - 1 + m:g}, "
        f"{-m:g} ≤ y1 < y2 ≤ {height - 1 + m:g})"
    )
