"""Metrics: AUC against hand-computed cases, ROC curve, F1 thresholds, masks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lesion_model.metrics import (
    best_f1_threshold,
    label_metrics,
    mean_auc,
    precision_recall_f1,
    roc_auc,
    roc_curve,
)


def test_auc_hand_computed() -> None:
    # pairs (pos, neg): (0.35 > 0.1) (0.35 < 0.4) (0.8 > 0.1) (0.8 > 0.4) → 3 of 4
    assert roc_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    # ties count half: pos 0.5 vs neg 0.5 → 0.5, pos 0.9 vs neg 0.5 → 1 ⇒ 0.75
    assert roc_auc(np.array([0, 1, 1]), np.array([0.5, 0.5, 0.9])) == 0.75
    assert roc_auc(np.array([1, 1, 0]), np.array([0.1, 0.2, 0.3])) == 0.0
    assert math.isnan(roc_auc(np.array([1, 1]), np.array([0.1, 0.2])))


def test_auc_equals_area_under_roc_curve() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.random(200) + 0.5 * y, 1)  # many ties
    fpr, tpr = roc_curve(y, s)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    area = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    assert area == pytest.approx(roc_auc(y, s))


def test_best_f1_threshold() -> None:
    y = np.array([0, 1, 1, 0, 1])
    s = np.array([0.1, 0.8, 0.6, 0.7, 0.3])
    # t = 0.6 → predicts {0.8, 0.7, 0.6}: tp 2, fp 1, fn 1 → F1 = 4/6; t = 0.3: tp 3, fp 1 → 6/7
    threshold, f1 = best_f1_threshold(y, s)
    assert threshold == 0.3 and f1 == pytest.approx(6 / 7)
    assert precision_recall_f1(y, s >= threshold) == pytest.approx((0.75, 1.0, 6 / 7))
    assert best_f1_threshold(np.zeros(3), s[:3], default=0.4) == (0.4, 0.0)
    assert precision_recall_f1(np.zeros(3), np.zeros(3)) == (0.0, 0.0, 0.0)


def test_label_metrics_mask_and_mean() -> None:
    target = np.array([[1, 0], [0, 0], [1, 1], [0, 1]])
    scores = np.array([[0.9, 0.2], [0.1, 0.3], [0.2, 0.8], [0.95, 0.1]])
    mask = np.array([[1, 1], [1, 1], [1, 1], [0, 1]])
    m = label_metrics(target, scores, mask)
    assert m.auc[0] == 1.0  # row 3 is masked out for label 0
    assert m.auc[1] == 0.5
    assert m.positives.tolist() == [2, 2] and m.negatives.tolist() == [1, 2]
    assert mean_auc(np.array([0.5, np.nan, 1.0])) == 0.75
    assert mean_auc(np.array([0.5, 0.7, 1.0]), [False, True, True]) == pytest.approx(0.85)
    assert math.isnan(mean_auc(np.array([np.nan])))
