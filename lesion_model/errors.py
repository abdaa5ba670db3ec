"""Errors of lesion_model, under radminer's single base class."""

from __future__ import annotations

from radminer.errors import RadminerError

__all__ = ["DataError", "LesionModelError", "TrainingError"]


class LesionModelError(RadminerError):
    """Base class of lesion_model's errors."""


class DataError(LesionModelError):
    """CT input, a manifest or a patch store is missing, corrupt or not what was expected."""


class TrainingError(LesionModelError):
    """Training cannot go on (a NaN or infinite loss, a checkpoint that does not fit)."""
