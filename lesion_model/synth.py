"""Synthetic data for lesion_model tests (provisional: a tiny store builder)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .data.store import PATCH_SHAPE, StoreLabels, write_store

__all__ = ["make_store"]

_TINY_LABELS = (
    ("liver", "bodypart"),
    ("lung", "bodypart"),
    ("nodule", "type"),
    ("hypoattenuation", "attribute"),
)


def make_store(path: str | os.PathLike[str], *, n: int = 24, seed: int = 0) -> Path:
    """A tiny patch store whose labels are visible in the patches (for other modules' tests)."""
    rng = np.random.default_rng(seed)
    organ = rng.integers(0, 2, n)
    hypo = rng.integers(0, 2, n)
    patches = rng.normal(0, 20, (n, *PATCH_SHAPE)).astype(np.int16)
    patches += np.where(organ == 0, 60, -850).astype(np.int16)[:, None, None, None]
    yy, xx = np.mgrid[:120, :120]
    disk = (yy - 60) ** 2 + (xx - 60) ** 2 <= 100
    for i in range(n):
        patches[i][:, disk] = -20 if hypo[i] else 150
    positive = np.stack([organ == 0, organ == 1, np.ones(n, bool), hypo == 1], axis=1).astype(
        np.uint8
    )
    split = np.array(["train", "val", "test"])[np.arange(n) * 3 // n]
    index = pd.DataFrame(
        {
            "lesion_id": [str(i) for i in range(n)],
            "patient_id": [f"{i:06d}" for i in range(n)],
            "study_id": [f"{i:06d}_01" for i in range(n)],
            "split": split,
            "x1": 50.0,
            "y1": 50.0,
            "x2": 70.0,
            "y2": 70.0,
            "source": "synthetic",
            "key_slice": 0,
            "noisy": 0,
        }
    )
    labels = StoreLabels(
        name="tiny",
        labels=tuple(x for x, _ in _TINY_LABELS),
        categories=tuple(c for _, c in _TINY_LABELS),
        source="synthetic-truth",
        positive=positive,
        uncertain=np.zeros_like(positive),
        negated=np.zeros_like(positive),
    )
    return write_store(path, patch_chunks=[patches], index=index, labels=labels, overwrite=True)
