"""Data-parallel training helpers (torch.distributed): the process group from torchrun's
environment, synchronized batch norm, DDP wrapping, per-rank seeds.

``torchrun --nproc_per_node=N -m lesion_model.train ...`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`process_group` reads them and
starts NCCL on CUDA (one GPU per process: ``cuda:LOCAL_RANK``) or gloo on CPU. Every rank
holds the whole training set and draws the same permutation each epoch; each global batch
is split into ``world_size`` contiguous shards, one per rank (see
:func:`lesion_model.engine.train_one_epoch`), so the batch size of the configuration is the
global batch (per-rank batch × world size).

Batch norm is synchronized (statistics over the global batch, as one process would compute
them): :class:`torch.nn.SyncBatchNorm` on CUDA, :class:`GlooSyncBatchNorm` on CPU, where
torch's module does not run. Needs only torch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn

from .errors import TrainingError

__all__ = [
    "DistributedContext",
    "GlooSyncBatchNorm",
    "all_mean",
    "global_batch_loss",
    "process_group",
    "rank_device",
    "rank_seed",
    "sync_batchnorm",
    "wrap",
]


@dataclass(frozen=True)
class DistributedContext:
    """This process's place among the training processes (``world_size`` 1: not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that logs and writes checkpoints."""
        return self.rank == 0

    @classmethod
    def from_env(cls) -> DistributedContext:
        """The context torchrun's environment variables describe (none: a single process)."""
        try:
            return cls(
                rank=int(os.environ.get("RANK", "0")),
                world_size=int(os.environ.get("WORLD_SIZE", "1")),
                local_rank=int(os.environ.get("LOCAL_RANK", "0")),
            )
        except ValueError as exc:
            raise TrainingError(f"RANK, WORLD_SIZE and LOCAL_RANK must be integers ({exc})") from exc


def rank_device(device: torch.device, context: DistributedContext) -> torch.device:
    """The device of this rank: ``cuda:LOCAL_RANK`` when ``device`` is CUDA and training is distributed."""
    if context.enabled and device.type == "cuda":
        if context.local_rank >= torch.cuda.device_count():
            raise TrainingError(
                f"LOCAL_RANK {context.local_rank} has no GPU: {torch.cuda.device_count()} visible; "
                "start at most one process per GPU"
            )
        return torch.device("cuda", context.local_rank)
    return device


@contextmanager
def process_group(device: torch.device) -> Iterator[DistributedContext]:
    """The distributed context of this process, with its process group (NCCL on CUDA, gloo on
    CPU) set up for the block when ``WORLD_SIZE`` > 1, and destroyed after it."""
    context = DistributedContext.from_env()
    if not context.enabled:
        yield context
        return
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    try:
        yield context
        dist.barrier()  # no rank leaves while another still works (rank 0 evaluates and writes last)
    finally:
        dist.destroy_process_group()


def rank_seed(seed: int, rank: int) -> int:
    """A seed for this rank's own randomness, derived from (seed, rank)."""
    return int(np.random.SeedSequence([seed, rank]).generate_state(1)[0])


class _AllReduceSum(torch.autograd.Function):
    """Sum over the ranks; the gradient of each rank's input is the sum of the ranks' output gradients."""

    @staticmethod
    def forward(ctx: Any, value: Tensor) -> Tensor:
        value = value.clone()
        dist.all_reduce(value)
        return value

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


class GlooSyncBatchNorm(nn.BatchNorm2d):
    """Batch norm with statistics over all ranks, for CPU tensors (gloo).

    torch's :class:`~torch.nn.SyncBatchNorm` runs only on GPUs. This one sums the per-channel
    sum, sum of squares and count over the ranks (in float64, differentiably, so that gradients
    flow through the global statistics as in one process) when training in an initialized
    process group, and is a plain :class:`~torch.nn.BatchNorm2d` otherwise. Running statistics
    are updated with the global mean and unbiased variance, as one process would.
    """

    def forward(self, input: Tensor) -> Tensor:
        """input: Tensor[B, C, H, W] → the same shape."""
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        channels = input.shape[1]
        dims = [0, 2, 3]
        wide = input.double()
        count = wide.new_full((1,), input.numel() // channels)
        stats = _AllReduceSum.apply(torch.cat([wide.sum(dims), (wide * wide).sum(dims), count]))
        total = stats[-1]
        mean = stats[:channels] / total
        var = (stats[channels : 2 * channels] / total - mean * mean).clamp(min=0.0)
        if self.track_running_stats and self.running_mean is not None and self.running_var is not None:
            momentum = 0.1 if self.momentum is None else self.momentum
            with torch.no_grad():
                self.num_batches_tracked.add_(1)  # type: ignore[union-attr,operator]
                unbiased = var * total / (total - 1).clamp(min=1)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        shape = (1, channels, 1, 1)
        out = ((wide - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)).to(input.dtype)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out


def sync_batchnorm(model: nn.Module, device: torch.device) -> None:
    """Synchronize the BatchNorm2d layers of ``model`` across ranks, in place:
    :class:`torch.nn.SyncBatchNorm` on CUDA, :class:`GlooSyncBatchNorm` on CPU. Parameters and
    buffers stay the same tensors and the state dict keys do not change, so an optimizer made
    before still applies and checkpoints load into the plain model."""
    if isinstance(model, nn.BatchNorm2d):
        raise TrainingError("sync_batchnorm converts the layers inside a model, not a batch norm layer itself")
    if device.type == "cuda":
        nn.SyncBatchNorm.convert_sync_batchnorm(model)  # replaces the child layers of model
        return
    for module in model.modules():
        if type(module) is nn.BatchNorm2d:
            module.__class__ = GlooSyncBatchNorm  # same state, synchronized forward


def wrap(model: nn.Module, device: torch.device) -> nn.parallel.DistributedDataParallel:
    """``model`` (on ``device``) in DistributedDataParallel: gradients averaged over the ranks."""
    device_ids = [device] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def global_batch_loss(loss: Tensor, mask: Tensor) -> Tensor:
    """This rank's share of the loss of the global batch, for a loss that is a mean over the
    entries of ``mask`` (as :mod:`lesion_model.losses`' are): rescaled from this rank's count of
    entries to the global count, so that DDP's average of the ranks' gradients is the gradient
    of the global batch's loss, and the mean of the ranks' values is its value. ``mask``:
    Tensor[b, K] of this rank's rows."""
    count = mask.sum()
    total = count.detach().clone()
    dist.all_reduce(total)
    return loss * (count.clamp(min=1.0) * dist.get_world_size() / total.clamp(min=1.0))


def all_mean(value: Tensor) -> Tensor:
    """The mean of ``value`` over the ranks (``value`` itself outside a process group)."""
    if not (dist.is_available() and dist.is_initialized()):
        return value
    value = value.clone()
    dist.all_reduce(value)
    return value / dist.get_world_size()
