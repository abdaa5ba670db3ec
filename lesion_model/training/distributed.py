"""Data-parallel training helpers (torch.distributed): the process group from torchrun's
environment, synchronized batch norm, DDP wrapping, per-rank seeds.

``torchrun --nproc_per_node=N -m lesion_model.cli.lesion_train ...`` sets ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`process_group` reads them and
starts NCCL on CUDA (one GPU per process: ``cuda:LOCAL_RANK``) or gloo on CPU. Every rank
holds the whole training set and draws the same permutation each epoch; each global batch
is split into ``world_size`` contiguous shards, one per rank (see
:func:`lesion_model.training.engine.train_one_epoch`), so the batch size of the configuration is the
global batch (per-rank batch × world size).

Batch norm is synchronized (:class:`SyncBatchNorm2d`: statistics over the global batch, as one
process would compute them), on CUDA and on CPU. Needs only torch.
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

from ..errors import TrainingError

__all__ = [
    "DistributedContext",
    "SyncBatchNorm2d",
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


class _SyncBatchNormCuda(torch.autograd.Function):
    """Batch norm over the ranks' batches with torch's fused CUDA kernels: the per-rank mean and
    inverse std are all-gathered and combined (Chan's formula, with the running statistics) in
    the forward, the sums of the gradient all-reduced in the backward. torch's SyncBatchNorm does
    the same but also filters out empty ranks, which synchronizes host and GPU at every layer
    (benchmarks/README.md, bench_ddp.py); here no rank is empty."""

    @staticmethod
    def forward(
        ctx: Any,
        input: Tensor,
        weight: Tensor,
        bias: Tensor,
        running_mean: Tensor | None,
        running_var: Tensor | None,
        eps: float,
        momentum: float,
    ) -> Tensor:
        input = input.contiguous(
            memory_format=torch.channels_last if _channels_last(input) else torch.contiguous_format
        )
        mean, invstd = torch.batch_norm_stats(input, eps)
        count = mean.new_full((1,), input.numel() // input.size(1))
        local = torch.cat([mean, invstd, count])
        gathered = local.new_empty(dist.get_world_size() * local.numel())
        dist.all_gather_into_tensor(gathered, local)
        channels = mean.numel()
        mean_all, invstd_all, count_all = gathered.view(dist.get_world_size(), -1).split(channels, dim=1)
        counts = count_all.reshape(-1)
        if running_mean is not None:
            counts = counts.to(running_mean.dtype)
        mean, invstd = torch.batch_norm_gather_stats_with_counts(
            input, mean_all, invstd_all, running_mean, running_var, momentum, eps, counts
        )
        ctx.save_for_backward(input, weight, mean, invstd, count_all.to(torch.int32))
        return torch.batch_norm_elemt(input, weight, bias, mean, invstd, eps)

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[Tensor | None, ...]:
        input, weight, mean, invstd, count_all = ctx.saved_tensors
        grad_output = grad_output.contiguous(
            memory_format=torch.channels_last if _channels_last(input) else torch.contiguous_format
        )
        need_input, need_weight, need_bias = ctx.needs_input_grad[:3]
        sum_dy, sum_dy_xmu, grad_weight, grad_bias = torch.batch_norm_backward_reduce(
            grad_output, input, mean, invstd, weight, need_input, need_weight, need_bias
        )
        grad_input = None
        if need_input:
            sums = torch.cat([sum_dy, sum_dy_xmu])
            dist.all_reduce(sums)
            sum_dy, sum_dy_xmu = sums.split(sum_dy.numel())
            grad_input = torch.batch_norm_backward_elemt(
                grad_output, input, mean, invstd, weight, sum_dy, sum_dy_xmu, count_all
            )
        return (
            grad_input,
            grad_weight if need_weight else None,
            grad_bias if need_bias else None,
            None,
            None,
            None,
            None,
        )


def _channels_last(tensor: Tensor) -> bool:
    return tensor.is_contiguous(memory_format=torch.channels_last) and not tensor.is_contiguous()


class SyncBatchNorm2d(nn.BatchNorm2d):
    """Batch norm with the statistics of the global batch: those of all ranks' inputs together,
    as one process would compute them over the global batch, when training in an initialized
    process group; a plain :class:`~torch.nn.BatchNorm2d` otherwise (so the state dict is one).

    On CUDA it uses torch's fused kernels and NCCL collectives without synchronizing host and GPU
    (:class:`torch.nn.SyncBatchNorm` synchronizes at every layer); on CPU (gloo, where torch's
    module does not run) it sums the per-channel sum, sum of squares and count over the ranks
    in float64, differentiably. Running statistics get the global mean and unbiased variance.
    """

    def forward(self, input: Tensor) -> Tensor:
        """input: Tensor[B, C, H, W] → the same shape."""
        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(input)
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
        momentum = 0.1 if self.momentum is None else self.momentum
        if input.is_cuda:
            return _SyncBatchNormCuda.apply(
                input, self.weight, self.bias, self.running_mean, self.running_var, self.eps, momentum
            )
        return self._forward_gloo(input, momentum)

    def _forward_gloo(self, input: Tensor, momentum: float) -> Tensor:
        channels = input.shape[1]
        dims = [0, 2, 3]
        wide = input.double()
        count = wide.new_full((1,), input.numel() // channels)
        stats = _AllReduceSum.apply(torch.cat([wide.sum(dims), (wide * wide).sum(dims), count]))
        total = stats[-1]
        mean = stats[:channels] / total
        var = (stats[channels : 2 * channels] / total - mean * mean).clamp(min=0.0)
        if self.running_mean is not None and self.running_var is not None:
            with torch.no_grad():
                unbiased = var * total / (total - 1).clamp(min=1)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), momentum)
        shape = (1, channels, 1, 1)
        out = ((wide - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)).to(input.dtype)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out


def sync_batchnorm(model: nn.Module) -> None:
    """Make the BatchNorm2d layers of ``model`` :class:`SyncBatchNorm2d`, in place: parameters,
    buffers and state dict keys stay the same, so an optimizer made before still applies and
    checkpoints load into the plain model."""
    for module in model.modules():
        if type(module) is nn.BatchNorm2d:
            module.__class__ = SyncBatchNorm2d  # same state, synchronized forward


def wrap(model: nn.Module, device: torch.device) -> nn.parallel.DistributedDataParallel:
    """``model`` (on ``device``) in DistributedDataParallel: gradients averaged over the ranks."""
    device_ids = [device] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def global_batch_loss(loss: Tensor, mask: Tensor) -> Tensor:
    """This rank's share of the loss of the global batch, for a loss that is a mean over the
    entries of ``mask`` (as :mod:`lesion_model.models.losses`' are): rescaled from this rank's count of
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
