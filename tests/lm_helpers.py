"""Test helpers for lesion_model: a tiny patch store made from a tiny synthetic DeepLesion."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from lesion_model.data.prepare import prepare_store, truth_labels
from lesion_model.synth import SynthConfig, generate


def make_store(path: str | os.PathLike[str], *, n: int = 24, seed: int = 0, image_size: int = 128) -> Path:
    """A tiny patch store (~1 s): labels are the synthetic truth, expanded with the shipped
    ontology's ancestors, over the labels that occur. ``n`` is approximate: whole studies are
    generated until there are ≥ ``n`` lesions, then the store keeps the first ``n``."""
    with tempfile.TemporaryDirectory() as tmp:
        config = SynthConfig(
            patients=max(3, math.ceil(n / 2.5)),
            studies_per_patient=(1, 1),
            image_size=image_size,
            slice_intervals_mm=(1.0, 2.0, 5.0),
        )
        root = generate(Path(tmp) / "synth", config, seed=seed)
        return prepare_store(
            root / "DL_info.csv",
            Path(path),
            labels=truth_labels(root / "truth.csv"),
            label_set="observed",
            limit=n,
            overwrite=True,
        )
