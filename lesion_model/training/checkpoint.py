"""Checkpoints of ``lesion-train``: one ``checkpoint.pt`` per run, written atomically after every epoch.

A checkpoint is a ``torch.save`` zip archive of tensors and plain values only (a dict whose
``format`` is ``lesion_model.checkpoint``): the model, optimizer and scheduler state, the epoch,
the :class:`~lesion_model.training.config.TrainConfig` and model config as plain dicts, labels,
categories, HU window, class weights, history and the store's signature. It is loaded with
``weights_only=True``; legacy pickles and archives holding other objects are refused unread.
"""

from __future__ import annotations

import pickle
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from radminer.files import atomic_output

from ..errors import TrainingError
from ..models import LesionClassifier, ModelConfig
from .config import TrainConfig

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_NAME",
    "LoadedModel",
    "load_checkpoint",
    "read_checkpoint",
    "save_checkpoint",
]

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = "lesion_model.checkpoint"


@dataclass(frozen=True)
class LoadedModel:
    """A model restored from a checkpoint with what is needed to use it.

    ``window``: the HU window that maps CT to the model's [0, 1] input.
    """

    model: LesionClassifier
    labels: tuple[str, ...]
    categories: tuple[str, ...]
    window: tuple[float, float]
    config: TrainConfig
    checkpoint: dict[str, Any]


def _first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), or its type."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


#: What every checkpoint holds, and what resuming from one needs besides.
_CHECKPOINT_KEYS = ("epoch", "model", "model_config", "config", "labels", "categories", "window")
_RESUME_KEYS = ("optimizer", "scheduler", "history")


def read_checkpoint(path: Path, device: torch.device | str, *, resume: bool = False) -> dict[str, Any]:
    """The checkpoint's dict; a :class:`TrainingError` in one line for anything else.

    Only a ``torch.save`` zip archive of tensors and plain values is loaded
    (``weights_only=True``); legacy pickles and archives holding other objects are refused
    unread, since unpickling them could run code.
    """
    if not path.is_file():
        raise TrainingError(f"{path}: checkpoint not found")
    if not zipfile.is_zipfile(path):
        raise TrainingError(f"{path}: not a lesion-train checkpoint (not the zip archive torch.save writes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ckpt = torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError:
        raise TrainingError(
            f"{path}: not a lesion-train checkpoint (damaged, or holding objects other than tensors and plain "
            "values, which are refused: loading them could run code)"
        ) from None
    except Exception as exc:  # torch.load raises many kinds on a damaged archive
        raise TrainingError(f"{path}: not a readable checkpoint ({_first_line(exc)})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise TrainingError(f"{path}: not a lesion-train checkpoint (format {CHECKPOINT_FORMAT!r} expected)")
    missing = [k for k in (*_CHECKPOINT_KEYS, *(_RESUME_KEYS if resume else ())) if k not in ckpt]
    if missing:
        raise TrainingError(f"{path}: a lesion-train checkpoint without {', '.join(missing)}")
    return ckpt


def load_checkpoint(path: str | Path, *, device: torch.device | str = "cpu") -> LoadedModel:
    """Load a ``lesion-train`` checkpoint (``weights_only=True``) and rebuild its model."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    ckpt = read_checkpoint(path, device)
    try:
        model = LesionClassifier(ModelConfig(**ckpt["model_config"]))
        model.load_state_dict(ckpt["model"])
        window = (float(ckpt["window"][0]), float(ckpt["window"][1]))
        labels, categories = tuple(map(str, ckpt["labels"])), tuple(map(str, ckpt["categories"]))
        config = TrainConfig.from_dict(ckpt["config"])
    except (RuntimeError, TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise TrainingError(f"{path}: its weights, model config and labels do not fit ({_first_line(exc)})") from None
    if not len(labels) == len(categories) == model.config.num_labels:
        raise TrainingError(
            f"{path}: {len(labels)} labels and {len(categories)} categories for {model.config.num_labels} outputs"
        )
    return LoadedModel(
        model=model.to(device).eval(),
        labels=labels,
        categories=categories,
        window=window,
        config=config,
        checkpoint=ckpt,
    )


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` (tensors and plain values, ``format`` and the keys every checkpoint holds)
    to ``path`` atomically."""
    with atomic_output(path, binary=True) as handle:
        torch.save(state, handle)
