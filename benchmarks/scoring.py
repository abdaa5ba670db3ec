"""What the evaluation scripts share: precision / recall / F1 counts and errors grouped by cause."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

E = TypeVar("E")


@dataclass
class Counts:
    """True / false positives and false negatives, with micro precision, recall and F1."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def group_by_cause(errors: Iterable[E], cause: Callable[[E], str]) -> dict[str, list[E]]:
    """``errors`` grouped by ``cause``, the largest group first (ties by name)."""
    groups: dict[str, list[E]] = {}
    for error in errors:
        groups.setdefault(cause(error), []).append(error)
    return dict(sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])))


def print_causes(groups: dict[str, list[E]], *, verbose: bool, line: Callable[[E], str]) -> None:
    """The count of each cause; with ``verbose``, then each group with one ``line`` per error."""
    print("errors by cause:")
    for cause, errors in groups.items():
        print(f"  {len(errors):4d}  {cause}")
    if verbose:
        for cause, errors in groups.items():
            print(f"\n## {cause} ({len(errors)})")
            for error in errors:
                print(line(error))
