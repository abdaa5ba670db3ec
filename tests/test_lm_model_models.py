"""Models: shapes, stage info, ROI boxes, forward + backward with finite gradients."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from lesion_model.errors import TrainingError  # noqa: E402
from lesion_model.models import ModelConfig, MultiScaleHead, build_model  # noqa: E402

WIDTH = 0.125


@pytest.fixture(scope="module", params=["gap", "multiscale"])
def model(request):
    torch.manual_seed(0)
    return build_model(ModelConfig(num_labels=6, head=request.param, width=WIDTH, hidden=16))


def _batch(size: int = 32) -> tuple:
    x = torch.rand(3, 3, size, size)
    boxes = torch.tensor([[4.0, 5.0, 20.0, 22.0], [0.0, 0.0, 31.0, 31.0], [10.0, 10.0, 11.0, 12.0]])
    return x, boxes


def test_feature_info_declares_five_stages(model):
    info = model.feature_info
    assert [s.stride for s in info] == [1, 2, 4, 8, 16]
    assert [s.channels for s in info] == [8, 16, 32, 64, 64]
    features = model.forward_features(torch.rand(2, 3, 32, 32))
    for stage, fmap in zip(info, features, strict=True):
        assert fmap.shape == (2, stage.channels, 32 // stage.stride, 32 // stage.stride)


def test_full_width_matches_vgg16_bn():
    info = build_model(ModelConfig(num_labels=2)).feature_info
    assert [s.channels for s in info] == [64, 128, 256, 512, 512]


def test_forward_backward_every_parameter_gets_finite_gradient(model):
    model.train()
    x, boxes = _batch()
    logits = model(x, boxes)
    assert logits.shape == (3, 6)
    logits.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    model.zero_grad()


def test_roi_boxes_lesion_and_whole_patch():
    head = MultiScaleHead(build_model(ModelConfig(num_labels=2, width=WIDTH)).feature_info, 2)
    lesion, whole = head.rois(torch.tensor([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]]), (40, 30))
    assert lesion.tolist() == [[0, 1, 2, 3, 4], [1, 5, 6, 7, 8]]
    assert whole.tolist() == [[0, 0, 0, 30, 40], [1, 0, 0, 30, 40]]
    with pytest.raises(ValueError, match=r"Tensor\[B, 4\]"):
        head.rois(torch.zeros(2, 5), (8, 8))


def test_multiscale_output_depends_on_box():
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_labels=4, width=WIDTH, hidden=8)).eval()
    x = torch.rand(1, 3, 32, 32)
    a = model(x, torch.tensor([[2.0, 2.0, 10.0, 10.0]]))
    b = model(x, torch.tensor([[18.0, 18.0, 30.0, 30.0]]))
    assert not torch.allclose(a, b)


def test_roi_pool_variant_and_bad_input():
    model = build_model(ModelConfig(num_labels=3, width=WIDTH, pool="max", hidden=8))
    assert model(*_batch()).shape == (3, 3)
    with pytest.raises(ValueError, match=r"Tensor\[B, 3, H, W\]"):
        model(torch.rand(2, 1, 32, 32), torch.zeros(2, 4))


def test_local_torchvision_weights_load(tmp_path):
    torchvision = pytest.importorskip("torchvision")
    reference = torchvision.models.vgg16_bn(weights=None)
    path = tmp_path / "vgg16_bn.pth"
    torch.save(reference.state_dict(), path)
    model = build_model(ModelConfig(num_labels=2), weights=path)
    assert torch.equal(model.backbone.features[0].weight, reference.features[0].weight)
    with pytest.raises(TrainingError, match=r"width 1\.0"):
        build_model(ModelConfig(num_labels=2, width=0.5), weights=path)
    torch.save({"features.0.weight": torch.zeros(1)}, path)
    with pytest.raises(TrainingError, match="lacks"):
        build_model(ModelConfig(num_labels=2), weights=path)
