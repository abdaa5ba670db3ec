"""The lesion classifier: a VGG-16-BN backbone with a global-pooling or a multi-scale ROI head.

The backbone declares its five stages as data (:class:`StageInfo`: channels, stride), so the
multi-scale head of the seed paper is configured from that list rather than hard-wired:

* ``gap``: global average pooling of the last stage + one FC layer (Table 1's "VGG-16" row).
* ``multiscale``: 5×5 ROI pooling of every stage's output, over the lesion box for the first
  ``box_stages`` stages (conv1–conv3) and over the whole patch for the others (conv4–conv5);
  one FC + ReLU per stage; concatenation; one FC to the K label logits.

A stage is VGG's convolution block *before* its max pooling (strides 1, 2, 4, 8, 16); VGG's fifth
max pooling is dropped, as a 120-pixel patch would leave a 3×3 map for 5×5 pooling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn
from torchvision.models.vgg import cfgs, make_layers
from torchvision.ops import roi_align, roi_pool

from ..errors import TrainingError

__all__ = [
    "GAPHead",
    "LesionClassifier",
    "ModelConfig",
    "MultiScaleHead",
    "StageInfo",
    "VGG16BNBackbone",
    "build_model",
]

HeadName = Literal["gap", "multiscale"]
PoolName = Literal["align", "max"]


@dataclass(frozen=True)
class StageInfo:
    """One backbone stage: its output channels and its stride relative to the input."""

    name: str
    channels: int
    stride: int


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model (saved in checkpoints as a plain dict).

    ``width`` multiplies every VGG channel count (1.0 is VGG-16-BN; 0.125 runs fast on a CPU).
    """

    num_labels: int
    head: HeadName = "multiscale"
    width: float = 1.0
    hidden: int = 256
    pool: PoolName = "align"
    pool_size: int = 5
    box_stages: int = 3

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _scaled_vgg16_cfg(width: float) -> list[str | int]:
    if width <= 0:
        raise ValueError(f"width must be > 0, got {width}")
    return [v if v == "M" else max(1, round(int(v) * width)) for v in cfgs["D"]]


def _init_weights(module: nn.Module) -> None:
    """torchvision's VGG initialisation (the paper trains from random weights)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.01)
            nn.init.zeros_(m.bias)


class VGG16BNBackbone(nn.Module):
    """torchvision's VGG-16-BN ``features`` without the last max pooling, exposing 5 stages.

    ``self.features`` keeps torchvision's module indices, so the ``features.*`` entries of a
    torchvision ImageNet state dict load unchanged (see :meth:`load_torchvision_weights`).
    """

    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        self.width = width
        cfg = _scaled_vgg16_cfg(width)
        layers = list(make_layers(cfg, batch_norm=True))
        self.features = nn.Sequential(*layers[:-1])
        # Each int of the cfg adds conv, bn, relu; each "M" adds a pooling module, ending a stage.
        ends: list[int] = []
        channels: list[int] = []
        index, last = 0, 0
        for v in cfg:
            if v == "M":
                ends.append(index - 1)
                channels.append(last)
                index += 1
            else:
                last = int(v)
                index += 3
        self._stage_ends = tuple(ends)
        self.feature_info: tuple[StageInfo, ...] = tuple(
            StageInfo(f"conv{i + 1}", c, 2**i) for i, c in enumerate(channels)
        )
        _init_weights(self)

    def forward(self, x: Tensor) -> list[Tensor]:
        """x: Tensor[B, 3, H, W] → one Tensor[B, C_i, H / s_i, W / s_i] per stage."""
        outputs: list[Tensor] = []
        ends = self._stage_ends
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in ends:
                outputs.append(x)
        return outputs

    def load_torchvision_weights(self, path: str | Path) -> None:
        """Load the ``features.*`` tensors of a local torchvision VGG-16-BN state dict file."""
        if self.width != 1.0:
            raise TrainingError(f"ImageNet weights need width 1.0, the model has width {self.width}")
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
        if "state_dict" in state:
            state = state["state_dict"]
        own = self.state_dict()
        wanted = {k: v for k, v in state.items() if k in own}
        missing = sorted(set(own) - set(wanted))
        if missing:
            raise TrainingError(
                f"{path} is not a torchvision VGG-16-BN state dict: it lacks {len(missing)} "
                f"backbone tensors, e.g. {missing[:3]}"
            )
        for key, value in wanted.items():
            if value.shape != own[key].shape:
                raise TrainingError(
                    f"{path}: {key} has shape {tuple(value.shape)}, the backbone expects {tuple(own[key].shape)}"
                )
        self.load_state_dict(wanted)


class GAPHead(nn.Module):
    """Global average pooling of the last stage, then FC: features → Tensor[B, K] logits."""

    def __init__(self, feature_info: Sequence[StageInfo], num_labels: int) -> None:
        super().__init__()
        self.fc = nn.Linear(feature_info[-1].channels, num_labels)
        _init_weights(self)

    def forward(self, features: list[Tensor], boxes: Tensor, image_size: tuple[int, int]) -> Tensor:
        """features: per-stage maps → Tensor[B, K]; boxes and image_size are unused."""
        return self.fc(features[-1].mean(dim=(2, 3)))


class MultiScaleHead(nn.Module):
    """The seed paper's multi-scale ROI head.

    For stage i: ROI-pool its map to ``pool_size``², over the lesion box when
    i < ``box_stages`` and over the whole patch otherwise; flatten; FC to ``hidden`` + ReLU.
    The per-stage vectors are concatenated (Tensor[B, hidden · 5]) and mapped by FC to K logits.
    """

    def __init__(
        self,
        feature_info: Sequence[StageInfo],
        num_labels: int,
        *,
        hidden: int = 256,
        pool_size: int = 5,
        pool: PoolName = "align",
        box_stages: int = 3,
    ) -> None:
        super().__init__()
        if pool not in ("align", "max"):
            raise ValueError(f"pool must be 'align' or 'max', got {pool!r}")
        if not 0 <= box_stages <= len(feature_info):
            raise ValueError(f"box_stages must be in 0..{len(feature_info)}, got {box_stages}")
        self.strides = tuple(s.stride for s in feature_info)
        self.pool_size = pool_size
        self.pool = pool
        self.box_stages = box_stages
        self.stage_fc = nn.ModuleList(
            nn.Sequential(nn.Linear(s.channels * pool_size**2, hidden), nn.ReLU(inplace=True)) for s in feature_info
        )
        self.fc = nn.Linear(hidden * len(feature_info), num_labels)
        _init_weights(self)

    def rois(self, boxes: Tensor, image_size: tuple[int, int]) -> tuple[Tensor, Tensor]:
        """boxes: Tensor[B, 4] (x1, y1, x2, y2, input pixels) → (lesion, whole) Tensor[B, 5] ROIs.

        Column 0 is the batch index, as torchvision.ops expects.
        """
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise ValueError(f"boxes must be Tensor[B, 4], got shape {tuple(boxes.shape)}")
        boxes = boxes.float()
        index = torch.arange(boxes.shape[0], device=boxes.device, dtype=boxes.dtype)[:, None]
        height, width = image_size
        whole = boxes.new_tensor([0.0, 0.0, float(width), float(height)]).expand_as(boxes)
        return torch.cat([index, boxes], dim=1), torch.cat([index, whole], dim=1)

    def forward(self, features: list[Tensor], boxes: Tensor, image_size: tuple[int, int]) -> Tensor:
        """features: one Tensor[B, C_i, h_i, w_i] per stage; boxes: Tensor[B, 4] → Tensor[B, K]."""
        if len(features) != len(self.stage_fc):
            raise ValueError(f"expected {len(self.stage_fc)} stage maps, got {len(features)}")
        lesion, whole = self.rois(boxes, image_size)
        size = (self.pool_size, self.pool_size)
        pooled = []
        for i, (fmap, fc) in enumerate(zip(features, self.stage_fc, strict=True)):
            rois = lesion if i < self.box_stages else whole
            scale = 1.0 / self.strides[i]
            fmap32 = fmap.float()
            if self.pool == "align":
                p = roi_align(fmap32, rois, size, scale, sampling_ratio=2, aligned=True)
            else:
                p = roi_pool(fmap32, rois, size, scale)
            pooled.append(fc(p.flatten(1).to(fmap.dtype)))
        return self.fc(torch.cat(pooled, dim=1))


class LesionClassifier(nn.Module):
    """Backbone + head: ``forward(x: Tensor[B, 3, H, W], boxes: Tensor[B, 4]) → Tensor[B, K]``.

    ``x`` is the windowed patch (float, typically in [0, 1]); ``boxes`` are lesion boxes in the
    patch's pixel coordinates; the output holds one logit per label.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = VGG16BNBackbone(config.width)
        self.feature_info = self.backbone.feature_info
        if config.head == "gap":
            self.head: nn.Module = GAPHead(self.feature_info, config.num_labels)
        elif config.head == "multiscale":
            self.head = MultiScaleHead(
                self.feature_info,
                config.num_labels,
                hidden=config.hidden,
                pool_size=config.pool_size,
                pool=config.pool,
                box_stages=config.box_stages,
            )
        else:
            raise ValueError(f"head must be 'gap' or 'multiscale', got {config.head!r}")

    def forward_features(self, x: Tensor) -> list[Tensor]:
        """x: Tensor[B, 3, H, W] → list of 5 Tensor[B, C_i, H / s_i, W / s_i]."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"x must be Tensor[B, 3, H, W], got shape {tuple(x.shape)}")
        return self.backbone(x)

    def forward_head(self, features: list[Tensor], boxes: Tensor, image_size: tuple[int, int]) -> Tensor:
        """Per-stage maps + Tensor[B, 4] boxes + input (H, W) → Tensor[B, K] logits."""
        return self.head(features, boxes, image_size)

    def forward(self, x: Tensor, boxes: Tensor) -> Tensor:
        image_size = (int(x.shape[-2]), int(x.shape[-1]))
        return self.forward_head(self.forward_features(x), boxes, image_size)


def build_model(config: ModelConfig, *, weights: str | Path | None = None) -> LesionClassifier:
    """Build a randomly initialised model; ``weights`` is a local torchvision VGG-16-BN file."""
    model = LesionClassifier(config)
    if weights is not None:
        model.backbone.load_torchvision_weights(weights)
    return model
