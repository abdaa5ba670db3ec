"""Range checks shared by the configurations (TrainConfig, PrepareOptions, SynthConfig)."""

from __future__ import annotations

import math

__all__ = ["in_range", "window_ok"]


def in_range(value: object, lo: float, hi: float, *, integer: bool = False) -> bool:
    """Whether ``value`` is a finite number (an int when ``integer``; never a bool) in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
        return False
    return math.isfinite(value) and lo <= value <= hi


def window_ok(window: object) -> bool:
    """Whether ``window`` is an HU window: two numbers LO < HI, each from -100000 to 100000."""
    values = tuple(window) if isinstance(window, (tuple, list)) else ()
    return len(values) == 2 and all(in_range(v, -1e5, 1e5) for v in values) and values[0] < values[1]
