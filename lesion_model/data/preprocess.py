"""The seed paper's preprocessing: 1 mm/pixel, 3 slices 2 mm apart, a 120 mm patch, HU windows.

Geometry: pixel ``i`` of a slice has its centre at coordinate ``i``; a box ``x1..x2`` is in
those coordinates. Patch pixel ``j`` (1 mm wide) samples the slice at
``cx + (j + 0.5 − size/2) · 1 mm / spacing`` where ``cx`` is the box centre, so the box centre
lies exactly at the patch centre. In-plane sampling is bilinear and only over the crop region;
samples outside the image read air (``PAD_HU`` = −1024). Along z, the channel at offset ``d`` mm
reads position ``key + d / interval`` (in slices), linearly interpolated between the two
nearest slices; positions past the first or last slice of the volume are clamped to it
(the end slice is replicated), and the patch is flagged ``replicated``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast, overload

import numpy as np
import numpy.typing as npt

from ..errors import DataError
from .geometry import box_problem
from .volumes import Volume

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "DEFAULT_WINDOW",
    "PAD_HU",
    "Patch",
    "extract_patch",
    "to_uint8",
    "window_hu",
]

_T = TypeVar("_T", "np.ndarray", "Tensor")

PAD_HU = -1024.0
#: LesaNet's window: the full 12-bit CT range.
DEFAULT_WINDOW: tuple[float, float] = (-1024.0, 3071.0)


@dataclass(frozen=True)
class Patch:
    """``hu``: ``float32[C, S, S]`` (C = len(offsets)); ``box``: the lesion box in patch mm."""

    hu: np.ndarray
    box: tuple[float, float, float, float]
    replicated: bool


def _axis(center: float, size: int, step: float) -> np.ndarray:
    """Source coordinates of ``size`` output pixels, ``step`` source pixels apart, centred."""
    return center + (np.arange(size, dtype=np.float64) + 0.5 - size / 2) * step


def _resample(plane: np.ndarray, xs: np.ndarray, ys: np.ndarray, pad: float) -> np.ndarray:
    """Bilinear samples of ``plane`` at the grid ``ys × xs``; outside reads ``pad``."""
    h, w = plane.shape
    x0, y0 = math.floor(xs[0]), math.floor(ys[0])
    x1, y1 = math.floor(xs[-1]) + 2, math.floor(ys[-1]) + 2
    window = np.full((y1 - y0, x1 - x0), pad, dtype=np.float32)
    sy0, sy1, sx0, sx1 = max(y0, 0), min(y1, h), max(x0, 0), min(x1, w)
    if sy1 > sy0 and sx1 > sx0:
        window[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = plane[sy0:sy1, sx0:sx1]
    fx, fy = xs - x0, ys - y0
    ix, iy = np.floor(fx).astype(np.intp), np.floor(fy).astype(np.intp)
    wx, wy = (fx - ix).astype(np.float32), (fy - iy).astype(np.float32)
    rows = window[iy] * (1 - wy)[:, None] + window[iy + 1] * wy[:, None]
    return rows[:, ix] * (1 - wx) + rows[:, ix + 1] * wx


def _z_weights(volume: Volume, key: int, offset_mm: float) -> tuple[list[tuple[int, float]], bool]:
    """Slices and weights for the channel ``offset_mm`` from ``key``; clamped flag."""
    z = key + offset_mm / volume.slice_interval
    clamped = not volume.first <= z <= volume.last
    z = min(max(z, volume.first), volume.last)
    lo = math.floor(z + 1e-9)
    frac = z - lo
    if frac < 1e-6:
        return [(lo, 1.0)], clamped
    return [(lo, 1.0 - frac), (lo + 1, frac)], clamped


def extract_patch(
    volume: Volume,
    key_slice: int,
    box: Sequence[float],
    *,
    offsets_mm: Sequence[float] = (-2.0, 0.0, 2.0),
    size: int = 120,
    spacing_mm: float = 1.0,
    pad_hu: float = PAD_HU,
) -> Patch:
    """A ``size × size`` patch at ``spacing_mm``/pixel centred on ``box``, one channel per offset.

    Reads only the slices the offsets need and resamples only the crop region. A key slice
    outside the volume or a box outside the key slice is a :class:`DataError`.
    """
    if not volume.first <= key_slice <= volume.last:
        raise DataError(f"expected a key slice in {volume.first}..{volume.last}, found {key_slice}")
    plane = volume.slice(key_slice)
    problem = box_problem(box, (plane.shape[1], plane.shape[0]))
    if problem is not None:
        raise DataError(f"expected {problem}, found box {', '.join(f'{float(v):g}' for v in box)}")
    x1, y1, x2, y2 = (float(v) for v in box)
    sx, sy = volume.spacing_xy
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    xs = _axis(cx, size, spacing_mm / sx)
    ys = _axis(cy, size, spacing_mm / sy)
    channels, replicated = [], False
    for offset in offsets_mm:
        weights, clamped = _z_weights(volume, key_slice, offset)
        replicated |= clamped
        # resampling is linear: crop and resample each slice, then blend the small results
        channels.append(sum(w * _resample(volume.slice(k), xs, ys, pad_hu) for k, w in weights))
    half = size * spacing_mm / 2
    patch_box = (
        (x1 - cx) * sx / spacing_mm + half / spacing_mm,
        (y1 - cy) * sy / spacing_mm + half / spacing_mm,
        (x2 - cx) * sx / spacing_mm + half / spacing_mm,
        (y2 - cy) * sy / spacing_mm + half / spacing_mm,
    )
    replicated |= bool(getattr(volume, "replicated", False))
    return Patch(np.stack(channels).astype(np.float32), patch_box, replicated)


@overload
def window_hu(hu: Tensor, window: Sequence[float] = ..., *, scale: float = ...) -> Tensor: ...
@overload
def window_hu(hu: npt.ArrayLike, window: Sequence[float] = ..., *, scale: float = ...) -> np.ndarray: ...
def window_hu(
    hu: Tensor | npt.ArrayLike, window: Sequence[float] = DEFAULT_WINDOW, *, scale: float = 1.0
) -> Tensor | np.ndarray:
    """The HU window: ``window[0]`` → 0 and ``window[1]`` → ``scale`` (1: the model's input), linearly,
    clipped to ``[0, scale]``.

    ``hu`` is a numpy array (or anything numpy reads) of any shape, or a torch tensor (on any
    device, any dtype); the result is float32 of the same kind and shape. torch is not imported
    here: a tensor is recognised by its methods.
    """
    lo, hi = float(window[0]), float(window[1])
    if not hi > lo:
        raise ValueError(f"expected a window LO < HI, found {lo:g}, {hi:g}")
    if isinstance(hu, np.ndarray) or not hasattr(hu, "clamp_"):
        x = np.asarray(hu, dtype=np.float32)
        return np.clip(_linear(x, lo, hi, scale), 0.0, scale)
    return _linear(cast("Tensor", hu).float(), lo, hi, scale).clamp_(0.0, scale)


def _linear(x: _T, lo: float, hi: float, scale: float) -> _T:
    # scale 1 divides by the width; another scale multiplies by one factor (how quantized stores are made)
    if scale == 1.0:
        return (x - lo) / (hi - lo)
    return (x - lo) * (scale / (hi - lo))


def to_uint8(hu: npt.ArrayLike, window: Sequence[float] = DEFAULT_WINDOW) -> np.ndarray:
    """HU → ``uint8`` (0 at ``window[0]``, 255 at ``window[1]``; :func:`window_hu`), for windowed stores."""
    return np.rint(window_hu(hu, window, scale=255.0)).astype(np.uint8)
