"""Multi-label metrics in numpy: ROC AUC (tie-aware), ROC curves, F1-optimal thresholds.

Label matrices are ``[N, K]``; a ``mask`` (1 = counted) drops entries such as uncertain labels
from every metric. A label whose kept entries hold only one class has no AUC (``nan``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "LabelMetrics",
    "best_f1_threshold",
    "label_metrics",
    "mean_auc",
    "precision_recall_f1",
    "roc_auc",
    "roc_curve",
]


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann–Whitney U, ties counted half); ``nan`` for one class."""
    y = np.asarray(y_true, dtype=bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    average_rank = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based mean rank of each tie group
    rank_sum = average_rank[inverse][y].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def roc_curve(y_true: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) at every distinct threshold, from (0, 0)."""
    y = np.asarray(y_true, dtype=bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]
    tp = np.cumsum(y)[last_of_group]
    fp = np.cumsum(~y)[last_of_group]
    tpr = np.r_[0.0, tp / max(int(y.sum()), 1)]
    fpr = np.r_[0.0, fp / max(int((~y).sum()), 1)]
    return fpr, tpr


def precision_recall_f1(y_true: np.ndarray, predicted: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of binary predictions (0 where undefined)."""
    y = np.asarray(y_true, dtype=bool).ravel()
    p = np.asarray(predicted, dtype=bool).ravel()
    tp = float((y & p).sum())
    precision = tp / p.sum() if p.any() else 0.0
    recall = tp / y.sum() if y.any() else 0.0
    f1 = 2 * tp / (y.sum() + p.sum()) if (y.any() or p.any()) else 0.0
    return float(precision), float(recall), float(f1)


def best_f1_threshold(y_true: np.ndarray, scores: np.ndarray, default: float = 0.5) -> tuple[float, float]:
    """The threshold t (predict ``score >= t``) that maximises F1, and that F1.

    Candidates are the distinct scores; ``default`` is returned (with F1 0) without positives.
    """
    y = np.asarray(y_true, dtype=bool).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if not y.any():
        return default, 0.0
    order = np.argsort(-s, kind="stable")
    y, s = y[order], s[order]
    last_of_group = np.r_[np.flatnonzero(np.diff(s)), y.size - 1]
    tp = np.cumsum(y)[last_of_group]
    predicted = last_of_group + 1
    f1 = 2 * tp / (y.sum() + predicted)
    best = int(np.argmax(f1))
    return float(s[last_of_group[best]]), float(f1[best])


@dataclass(frozen=True)
class LabelMetrics:
    """Per-label results: AUC (``nan`` where undefined) and counts of kept entries."""

    auc: np.ndarray
    positives: np.ndarray
    negatives: np.ndarray


def label_metrics(target: np.ndarray, scores: np.ndarray, mask: np.ndarray | None = None) -> LabelMetrics:
    """Per-label AUC and counts for ``target``/``scores``/``mask`` of shape [N, K]."""
    target = np.asarray(target) > 0
    if scores.shape != target.shape:
        raise ValueError(f"scores {scores.shape} and target {target.shape} differ")
    keep = np.ones_like(target) if mask is None else np.asarray(mask) > 0
    k = target.shape[1]
    auc = np.array([roc_auc(target[keep[:, c], c], scores[keep[:, c], c]) for c in range(k)], dtype=np.float64)
    positives = (target & keep).sum(axis=0)
    negatives = (~target & keep).sum(axis=0)
    return LabelMetrics(auc, positives, negatives)


def mean_auc(auc: np.ndarray, selected: Sequence[bool] | np.ndarray | None = None) -> float:
    """Mean of the defined AUCs (optionally of a subset of labels); ``nan`` if none."""
    values = np.asarray(auc, dtype=np.float64)
    if selected is not None:
        values = values[np.asarray(selected, dtype=bool)]
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")
