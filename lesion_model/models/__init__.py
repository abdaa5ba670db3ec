"""The networks and losses of lesion_model (torch, torchvision)."""

from .losses import (
    LossName,
    UncertainPolicy,
    WeightedBCEWithLogits,
    bootstrap_bce_with_logits,
    class_weights,
    make_targets,
    weighted_bce_with_logits,
)
from .networks import GAPHead, LesionClassifier, ModelConfig, MultiScaleHead, StageInfo, VGG16BNBackbone, build_model

__all__ = [
    "GAPHead",
    "LesionClassifier",
    "LossName",
    "ModelConfig",
    "MultiScaleHead",
    "StageInfo",
    "UncertainPolicy",
    "VGG16BNBackbone",
    "WeightedBCEWithLogits",
    "bootstrap_bce_with_logits",
    "build_model",
    "class_weights",
    "make_targets",
    "weighted_bce_with_logits",
]
