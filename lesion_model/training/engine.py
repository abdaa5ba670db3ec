"""The device-side training engine: input transform, one epoch of SGD, prediction.

Needs only torch and numpy (no pandas, click or tqdm), so that benchmarks run it on a bare GPU
machine. :mod:`lesion_model.training.loop` builds data, checkpoints and the run on top.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data.preprocess import window_hu
from ..errors import TrainingError
from .distributed import all_mean, global_batch_loss

__all__ = [
    "InputTransform",
    "ProgressFn",
    "SplitData",
    "epoch_generator",
    "predict",
    "resolve_device",
    "train_one_epoch",
]

ProgressFn = Callable[[int, float], None]


@dataclass(frozen=True)
class SplitData:
    """One split as tensors on one device.

    ``patches``: Tensor[N, 3, H, W] int16 HU (or uint8 already windowed); ``boxes``: Tensor[N, 4]
    float (x1, y1, x2, y2 in patch pixels); ``target``/``mask``: Tensor[N, K] float;
    ``rows``: the store rows, int64[N].
    """

    patches: Tensor
    boxes: Tensor
    target: Tensor
    mask: Tensor
    rows: np.ndarray

    def __len__(self) -> int:
        return int(self.patches.shape[0])


@dataclass(frozen=True)
class InputTransform:
    """Store patches → model input, on whatever device the patches are.

    ``window`` maps HU linearly to [0, 1] (clamped); ``None`` means uint8 patches already
    windowed (÷ 255). ``downsample`` average-pools by that factor (a fast-CPU option; the boxes
    shrink alike). ``channels_last`` sets the memory format for CUDA.
    """

    window: tuple[float, float] | None
    downsample: int = 1
    channels_last: bool = False

    def __call__(self, patches: Tensor, boxes: Tensor) -> tuple[Tensor, Tensor]:
        """patches: Tensor[B, 3, H, W] int16/uint8/float; boxes: Tensor[B, 4] → the same, float."""
        x = patches.float() / 255.0 if self.window is None else window_hu(patches, self.window)
        boxes = boxes.float()
        if self.downsample > 1:
            x = F.avg_pool2d(x, self.downsample)
            boxes = boxes / self.downsample
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, boxes


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TrainingError(f"--device: expected auto, cpu, cuda or cuda:N, found {name!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError(f"device {name!r} was asked for, but CUDA is not available")
    return device


def _autocast(device: torch.device, enabled: bool) -> AbstractContextManager[Any]:
    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return nullcontext()


def _batches(n: int, batch_size: int, order: Tensor, *, drop_last: bool) -> Iterator[Tensor]:
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """The shuffling generator of one epoch (a function of seed and epoch only)."""
    state = int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
    return torch.Generator().manual_seed(state)


def train_one_epoch(
    model: nn.Module,
    criterion: nn.Module,
    optimizer: torch.optim.Optimizer,
    data: SplitData,
    *,
    transform: InputTransform,
    batch_size: int,
    device: torch.device,
    generator: torch.Generator,
    amp: bool = True,
    check_every: int = 20,
    progress: ProgressFn | None = None,
    shard: tuple[int, int] = (0, 1),
) -> float:
    """One pass over ``data`` in the order drawn from ``generator``; returns the mean loss.

    Full batches only, unless the split is smaller than one batch (a batch-size-1 remainder
    would break batch norm and recompile a compiled model). The running loss is checked every
    ``check_every`` steps (checking every step would stall a GPU): a NaN or infinite value
    raises :class:`TrainingError`. ``progress(steps, mean loss)`` is called at each check.

    ``shard = (rank, world_size)`` under DDP (:mod:`lesion_model.training.distributed`): every rank
    draws the same order, ``batch_size`` is the global batch, and this rank trains on part
    ``rank`` of its ``world_size`` contiguous parts; the loss is that of the global batch
    (:func:`~lesion_model.training.distributed.global_batch_loss`), and so is the mean returned.
    """
    rank, world = shard
    model.train()
    order = torch.randperm(len(data), generator=generator).to(data.patches.device)
    total = torch.zeros((), device=device)
    steps = 0
    for steps, batch in enumerate(_batches(len(data), batch_size, order, drop_last=True), 1):
        idx = batch.tensor_split(world)[rank] if world > 1 else batch
        x, boxes = transform(
            data.patches[idx].to(device, non_blocking=True), data.boxes[idx].to(device, non_blocking=True)
        )
        target = data.target[idx].to(device, non_blocking=True)
        mask = data.mask[idx].to(device, non_blocking=True)
        with _autocast(device, amp):
            logits = model(x, boxes)
        loss = criterion(logits.float(), target, mask)
        if world > 1:
            loss = global_batch_loss(loss, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += loss.detach()
        if steps % check_every == 0:
            _check_finite(total, steps)
            if progress is not None:
                progress(steps, float(total) / steps)
    if steps == 0:
        raise TrainingError("the training split is empty: nothing to train on")
    _check_finite(total, steps)
    if world > 1:
        total = all_mean(total)
    return float(total) / steps


def _check_finite(total: Tensor, steps: int) -> None:
    value = float(total)
    if not math.isfinite(value):
        raise TrainingError(
            f"the loss became {value} by step {steps} of the epoch: lower the learning rate, "
            "check the patches for NaN/inf and the labels for all-empty columns"
        )


@torch.inference_mode()
def predict(
    model: nn.Module,
    data: SplitData,
    *,
    transform: InputTransform,
    batch_size: int,
    device: torch.device,
    amp: bool = True,
) -> np.ndarray:
    """Sigmoid scores of every row of ``data``: float32 [N, K], in row order."""
    model.eval()
    order = torch.arange(len(data), device=data.patches.device)
    out = []
    for idx in _batches(len(data), batch_size, order, drop_last=False):
        x, boxes = transform(data.patches[idx].to(device), data.boxes[idx].to(device))
        with _autocast(device, amp):
            logits = model(x, boxes)
        out.append(torch.sigmoid(logits.float()).cpu())
    k = int(data.target.shape[1])
    return torch.cat(out).numpy() if out else np.zeros((0, k), dtype=np.float32)
