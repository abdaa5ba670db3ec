"""Multi-label losses on logits: class-balanced weighted BCE and soft bootstrapping.

With s = sigmoid(z), per label c (seed paper, Eq. 1–3)::

    L = −mean over (lesion, c) of  w_pos[c] · ỹ · log s + w_neg[c] · (1 − ỹ) · log(1 − s)
    w_pos[c] = (N_pos + N_neg) / (2 N_pos),   w_neg[c] = (N_pos + N_neg) / (2 N_neg)
    ỹ = y                      (weighted BCE)
    ỹ = β y + (1 − β) s        (soft bootstrapping, β = 0.9)

The mean runs over the entries the mask keeps, so unit weights and a full mask give exactly
``torch.nn.BCEWithLogitsLoss()``. log s and log(1 − s) are computed as ``logsigmoid(±z)``, in
float32, so the loss and its gradient stay finite at any logit.

Bootstrapping detach choice: by default the prediction term of ỹ is **not** detached, as in
Reed et al.'s soft bootstrapping: the gradient then includes that of (1 − β)·[s log s +
(1 − s) log(1 − s)], which rewards confident predictions and so lets a consistent prediction
outweigh a noisy label. Detaching it (``detach=True``) would make the gradient, for unit weights,
exactly β times the plain BCE gradient, i.e. no bootstrapping effect at all.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "LossName",
    "UncertainPolicy",
    "WeightedBCEWithLogits",
    "bootstrap_bce_with_logits",
    "class_weights",
    "make_targets",
    "weighted_bce_with_logits",
]

logger = logging.getLogger(__name__)

UncertainPolicy = Literal["ignore", "positive"]
LossName = Literal["bce", "weighted", "weighted_bootstrap"]


def make_targets(
    positive: np.ndarray, uncertain: np.ndarray | None, policy: UncertainPolicy = "ignore"
) -> tuple[np.ndarray, np.ndarray]:
    """Training targets and mask from label matrices (uint8 [N, K]) → (float32 [N, K]) × 2.

    Uncertain entries (not also positive) are masked out with ``"ignore"`` and count as
    positives with ``"positive"``. Everything else that is not positive is a negative.
    """
    target = (np.asarray(positive) > 0).astype(np.float32)
    mask = np.ones_like(target)
    if uncertain is not None:
        if uncertain.shape != target.shape:
            raise ValueError(f"uncertain has shape {uncertain.shape}, positive has shape {target.shape}")
        unsure = (np.asarray(uncertain) > 0) & (target == 0)
        if policy == "ignore":
            mask[unsure] = 0.0
        elif policy == "positive":
            target[unsure] = 1.0
        else:
            raise ValueError(f"uncertain policy must be 'ignore' or 'positive', got {policy!r}")
    return target, mask


def class_weights(target: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 2 weights from training targets [N, K] (entries with mask 0 are not counted).

    Returns ``(w_pos, w_neg)``, float32 [K] each. A label with no positive (or no negative)
    training entry cannot be balanced: both its weights are 1, so it gets the plain BCE, and
    a warning is logged.
    """
    target = np.asarray(target, dtype=np.float64)
    keep = np.ones_like(target) if mask is None else np.asarray(mask, dtype=np.float64)
    n_pos = (target * keep).sum(axis=0)
    n_neg = ((1.0 - target) * keep).sum(axis=0)
    total = n_pos + n_neg
    one_sided = (n_pos == 0) | (n_neg == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        w_pos = np.where(one_sided, 1.0, total / (2.0 * n_pos))
        w_neg = np.where(one_sided, 1.0, total / (2.0 * n_neg))
    if one_sided.any():
        logger.warning(
            "%d of %d labels have no positive or no negative training entry; they get unit weights (label indices %s)",
            int(one_sided.sum()),
            target.shape[1],
            np.flatnonzero(one_sided)[:10].tolist(),
        )
    return w_pos.astype(np.float32), w_neg.astype(np.float32)


def _reduce(loss: Tensor, mask: Tensor | None) -> Tensor:
    if mask is None:
        return loss.mean()
    return (loss * mask).sum() / mask.sum().clamp(min=1.0)


def weighted_bce_with_logits(
    logits: Tensor,
    target: Tensor,
    *,
    w_pos: Tensor | None = None,
    w_neg: Tensor | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Weighted BCE: logits, target, mask Tensor[B, K]; w_pos, w_neg Tensor[K] → scalar.

    ``target`` may be soft (in [0, 1]). Missing weights are 1.
    """
    if logits.shape != target.shape:
        raise ValueError(f"logits {tuple(logits.shape)} and target {tuple(target.shape)} differ")
    z = logits.float()
    target = target.float()
    pos_term = target * F.logsigmoid(z)
    neg_term = (1.0 - target) * F.logsigmoid(-z)
    if w_pos is not None:
        pos_term = pos_term * w_pos
    if w_neg is not None:
        neg_term = neg_term * w_neg
    return _reduce(-(pos_term + neg_term), None if mask is None else mask.float())


def bootstrap_bce_with_logits(
    logits: Tensor,
    target: Tensor,
    *,
    beta: float = 0.9,
    w_pos: Tensor | None = None,
    w_neg: Tensor | None = None,
    mask: Tensor | None = None,
    detach: bool = False,
) -> Tensor:
    """Soft bootstrapping (Eq. 3): the weighted BCE against ỹ = β·target + (1 − β)·sigmoid(logits).

    Shapes as :func:`weighted_bce_with_logits`; ``detach`` stops the gradient through the
    prediction term of ỹ (off by default, see the module docstring).
    """
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must be in [0, 1], got {beta}")
    prediction = torch.sigmoid(logits.float())
    if detach:
        prediction = prediction.detach()
    soft = beta * target.float() + (1.0 - beta) * prediction
    return weighted_bce_with_logits(logits, soft, w_pos=w_pos, w_neg=w_neg, mask=mask)


class WeightedBCEWithLogits(nn.Module):
    """The training loss as a module: ``bce``, ``weighted`` or ``weighted_bootstrap``.

    ``w_pos``/``w_neg`` (Tensor[K]) are buffers, so ``.to(device)`` moves them. ``forward(logits,
    target, mask=None)`` takes Tensor[B, K] each and returns a scalar.
    """

    w_pos: Tensor
    w_neg: Tensor

    def __init__(
        self,
        kind: LossName,
        w_pos: Tensor,
        w_neg: Tensor,
        *,
        beta: float = 0.9,
        detach: bool = False,
    ) -> None:
        super().__init__()
        if kind not in ("bce", "weighted", "weighted_bootstrap"):
            raise ValueError(f"loss must be bce, weighted or weighted_bootstrap, got {kind!r}")
        self.kind = kind
        self.beta = beta
        self.detach = detach
        self.register_buffer("w_pos", torch.as_tensor(w_pos, dtype=torch.float32))
        self.register_buffer("w_neg", torch.as_tensor(w_neg, dtype=torch.float32))

    def forward(self, logits: Tensor, target: Tensor, mask: Tensor | None = None) -> Tensor:
        if self.kind == "bce":
            return weighted_bce_with_logits(logits, target, mask=mask)
        if self.kind == "weighted":
            return weighted_bce_with_logits(logits, target, w_pos=self.w_pos, w_neg=self.w_neg, mask=mask)
        return bootstrap_bce_with_logits(
            logits, target, beta=self.beta, detach=self.detach, w_pos=self.w_pos, w_neg=self.w_neg, mask=mask
        )
