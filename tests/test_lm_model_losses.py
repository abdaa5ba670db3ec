"""Losses: weights of Eq. 2, weighted BCE, soft bootstrapping, masking, extreme logits."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lesion_model.models import (  # noqa: E402
    WeightedBCEWithLogits,
    bootstrap_bce_with_logits,
    class_weights,
    make_targets,
    weighted_bce_with_logits,
)


def _data(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(8, 4, generator=g) * 3
    target = (torch.rand(8, 4, generator=g) > 0.6).float()
    w_pos = torch.tensor([2.0, 0.7, 1.5, 3.0])
    w_neg = torch.tensor([0.6, 1.8, 0.9, 0.55])
    return logits, target, w_pos, w_neg


def test_class_weights_eq2_and_label_without_positives():
    target = np.array([[1, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1]], dtype=np.float32)
    w_pos, w_neg = class_weights(target)
    # label 0: 1 positive, 3 negatives of 4 → 4/2, 4/6
    assert w_pos[0] == pytest.approx(2.0) and w_neg[0] == pytest.approx(4 / 6)
    # label 1 has no positive, label 2 no negative: unit weights, finite
    assert w_pos[1:].tolist() == [1.0, 1.0] and w_neg[1:].tolist() == [1.0, 1.0]


def test_class_weights_skip_masked_entries():
    target = np.array([[1.0], [0.0], [0.0], [0.0]])
    mask = np.array([[1.0], [1.0], [0.0], [0.0]])
    w_pos, w_neg = class_weights(target, mask)
    assert w_pos[0] == pytest.approx(1.0) and w_neg[0] == pytest.approx(1.0)


def test_unit_weights_equal_bce_with_logits():
    logits, target, _, _ = _data()
    ones = torch.ones(4)
    expected = torch.nn.BCEWithLogitsLoss()(logits, target)
    assert torch.allclose(weighted_bce_with_logits(logits, target), expected)
    unit = weighted_bce_with_logits(logits, target, w_pos=ones, w_neg=ones)
    assert torch.allclose(unit, expected)
    bce = WeightedBCEWithLogits("bce", torch.full((4,), 5.0), torch.full((4,), 5.0))
    assert torch.allclose(bce(logits, target), expected)


def test_weighted_matches_hand_formula():
    logits, target, w_pos, w_neg = _data(1)
    s = torch.sigmoid(logits)
    expected = -(w_pos * target * s.log() + w_neg * (1 - target) * (1 - s).log()).mean()
    loss = weighted_bce_with_logits(logits, target, w_pos=w_pos, w_neg=w_neg)
    assert torch.allclose(loss, expected, atol=1e-5)


def test_beta_one_equals_weighted():
    logits, target, w_pos, w_neg = _data(2)
    weighted = weighted_bce_with_logits(logits, target, w_pos=w_pos, w_neg=w_neg)
    boot = bootstrap_bce_with_logits(logits, target, beta=1.0, w_pos=w_pos, w_neg=w_neg)
    assert torch.allclose(boot, weighted)


def test_bootstrap_target_and_detach():
    logits, target, w_pos, w_neg = _data(3)
    s = torch.sigmoid(logits)
    soft = 0.9 * target + 0.1 * s
    expected = weighted_bce_with_logits(logits, soft, w_pos=w_pos, w_neg=w_neg)
    got = bootstrap_bce_with_logits(logits, target, w_pos=w_pos, w_neg=w_neg)
    assert torch.allclose(got, expected)
    # detached, unit weights: the gradient is β × the plain BCE gradient
    a = logits.clone().requires_grad_(True)
    bootstrap_bce_with_logits(a, target, beta=0.9, detach=True).backward()
    b = logits.clone().requires_grad_(True)
    torch.nn.BCEWithLogitsLoss()(b, target).backward()
    assert torch.allclose(a.grad, 0.9 * b.grad, atol=1e-7)
    # not detached (default): the gradient differs
    c = logits.clone().requires_grad_(True)
    bootstrap_bce_with_logits(c, target, beta=0.9).backward()
    assert not torch.allclose(c.grad, a.grad)


@pytest.mark.parametrize("kind", ["bce", "weighted", "weighted_bootstrap"])
def test_finite_at_extreme_logits(kind):
    logits = torch.tensor([[-1e4, 1e4, -100.0, 100.0, 0.0]], requires_grad=True)
    target = torch.tensor([[1.0, 0.0, 0.0, 1.0, 1.0]])
    loss = WeightedBCEWithLogits(kind, torch.full((5,), 10.0), torch.full((5,), 0.1))(logits.to(torch.bfloat16), target)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()


def test_mask_ignores_entries():
    logits, target, w_pos, w_neg = _data(4)
    mask = torch.ones_like(target)
    mask[:, 1] = 0
    loss = weighted_bce_with_logits(logits, target, w_pos=w_pos, w_neg=w_neg, mask=mask)
    keep = [0, 2, 3]
    expected = weighted_bce_with_logits(logits[:, keep], target[:, keep], w_pos=w_pos[keep], w_neg=w_neg[keep])
    assert torch.allclose(loss, expected)


def test_make_targets_uncertain_policies():
    positive = np.array([[1, 0, 0]], dtype=np.uint8)
    uncertain = np.array([[1, 1, 0]], dtype=np.uint8)
    target, mask = make_targets(positive, uncertain, "ignore")
    assert target.tolist() == [[1, 0, 0]] and mask.tolist() == [[1, 0, 1]]
    target, mask = make_targets(positive, uncertain, "positive")
    assert target.tolist() == [[1, 1, 0]] and mask.tolist() == [[1, 1, 1]]
    with pytest.raises(ValueError, match="ignore"):
        make_targets(positive, uncertain, "drop")  # type: ignore[arg-type]


def test_unknown_loss_kind():
    with pytest.raises(ValueError, match="weighted_bootstrap"):
        WeightedBCEWithLogits("focal", torch.ones(1), torch.ones(1))  # type: ignore[arg-type]
