"""Errors of lesion_model, under radminer's single base class."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from radminer.errors import RadminerError

__all__ = ["BadRowsError", "ConfigError", "DataError", "LesionModelError", "SkippedRow", "TrainingError"]


class LesionModelError(RadminerError):
    """Base class of lesion_model's errors."""


class DataError(LesionModelError):
    """CT input, a manifest or a patch store is missing, corrupt or not what was expected."""


class ConfigError(LesionModelError, ValueError):
    """An option out of its valid range (the message names the option and the range)."""

    @classmethod
    def out_of_range(cls, field: str, expected: str, found: object) -> ConfigError:
        """The error of the config field ``field`` (named as its option, ``--batch-size``)."""
        return cls(f"--{field.replace('_', '-')}: expected {expected}, found {found!r}")


@dataclass(frozen=True)
class SkippedRow:
    """A lesion left out, and why (one line naming the file, line and column at fault)."""

    lesion_id: str
    reason: str


class BadRowsError(DataError):
    """Rows of ``path`` that failed validation: ``rows`` holds one :class:`SkippedRow` per bad row
    and the message one line per bad row."""

    def __init__(self, path: Path, rows: Sequence[SkippedRow]) -> None:
        self.path, self.rows = path, tuple(rows)
        super().__init__("\n".join(row.reason for row in self.rows))


class TrainingError(LesionModelError):
    """Training cannot go on (a NaN or infinite loss, a checkpoint that does not fit)."""
