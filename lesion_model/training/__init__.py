"""Training: the configuration, the loop, checkpoints and data-parallel helpers.

:class:`TrainConfig` needs no torch and is imported at once (the command line reads its
defaults); the other names import torch, on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .config import TrainConfig

if TYPE_CHECKING:
    from .checkpoint import CHECKPOINT_NAME, LoadedModel, load_checkpoint, save_checkpoint
    from .distributed import DistributedContext
    from .engine import InputTransform, SplitData, epoch_generator, predict, resolve_device, train_one_epoch
    from .loop import hu_window, load_split, store_window, train, validate

__all__ = [
    "CHECKPOINT_NAME",
    "DistributedContext",
    "InputTransform",
    "LoadedModel",
    "SplitData",
    "TrainConfig",
    "epoch_generator",
    "hu_window",
    "load_checkpoint",
    "load_split",
    "predict",
    "resolve_device",
    "save_checkpoint",
    "store_window",
    "train",
    "train_one_epoch",
    "validate",
]

#: Where each torch-bound name lives.
_LAZY = {
    "CHECKPOINT_NAME": "checkpoint",
    "LoadedModel": "checkpoint",
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "DistributedContext": "distributed",
    "InputTransform": "engine",
    "SplitData": "engine",
    "epoch_generator": "engine",
    "predict": "engine",
    "resolve_device": "engine",
    "train_one_epoch": "engine",
    "hu_window": "loop",
    "load_split": "loop",
    "store_window": "loop",
    "train": "loop",
    "validate": "loop",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
