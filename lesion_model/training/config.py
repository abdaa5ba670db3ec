"""The configuration of a training run: :class:`TrainConfig`, checked on construction.

Its field defaults are the one set of defaults: ``lesion-train`` builds its options from them.
Needs no torch, so that the command line can read it before torch is imported.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any, Literal

from .._checks import in_range, window_ok
from ..data.preprocess import DEFAULT_WINDOW
from ..errors import ConfigError

if TYPE_CHECKING:
    from ..models import LossName, ModelConfig, UncertainPolicy

__all__ = ["TrainConfig"]

_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


@dataclass(frozen=True)
class TrainConfig:
    """A training run; saved as ``config.json`` and inside every checkpoint (as a plain dict).

    Every value is checked on construction: a :class:`~lesion_model.errors.ConfigError` names the
    option (``--batch-size``) and its valid range.
    """

    data: str
    out: str
    head: Literal["gap", "multiscale"] = "multiscale"
    loss: LossName = "weighted_bootstrap"
    beta: float = 0.9
    detach_bootstrap: bool = False
    uncertain: UncertainPolicy = "ignore"
    width: float = 1.0
    hidden: int = 256
    pool: Literal["align", "max"] = "align"
    epochs: int = 15
    batch_size: int = 128
    lr: float = 0.01
    lr_step_epoch: int = 12
    lr_gamma: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    window: tuple[float, float] = DEFAULT_WINDOW
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    downsample: int = 1
    compile: bool = False
    data_on_device: Literal["auto", "yes", "no"] = "auto"
    pretrained: str | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        """Refuse values out of range: a :class:`ConfigError` naming the option and its range."""
        for name, ok, expected in _checks(self):
            if not ok:
                raise ConfigError.out_of_range(name, expected, getattr(self, name))

    def model_config(self, num_labels: int) -> ModelConfig:
        from ..models import ModelConfig

        return ModelConfig(
            num_labels=num_labels,
            head=self.head,
            width=self.width,
            hidden=self.hidden,
            pool=self.pool,
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["window"] = list(self.window)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in known}
        if "window" in kwargs:
            kwargs["window"] = tuple(kwargs["window"])
        return cls(**kwargs)


def _checks(c: TrainConfig) -> list[tuple[str, bool, str]]:
    """(field, valid, what is expected) for every field of ``c`` that has a range."""
    return [
        ("head", c.head in ("gap", "multiscale"), "gap or multiscale"),
        ("loss", c.loss in ("bce", "weighted", "weighted_bootstrap"), "bce, weighted or weighted_bootstrap"),
        ("beta", in_range(c.beta, 0, 1), "a number from 0 to 1"),
        ("uncertain", c.uncertain in ("ignore", "positive"), "ignore or positive"),
        ("width", in_range(c.width, 0, 4) and c.width > 0, "a channel multiplier > 0 and ≤ 4 (1: VGG-16-BN)"),
        ("hidden", in_range(c.hidden, 1, 65536, integer=True), "an integer from 1 to 65536"),
        ("pool", c.pool in ("align", "max"), "align or max"),
        ("epochs", in_range(c.epochs, 1, 100_000, integer=True), "an integer from 1 to 100000"),
        ("batch_size", in_range(c.batch_size, 1, 1 << 20, integer=True), "an integer ≥ 1"),
        ("lr", in_range(c.lr, 0, 10) and c.lr > 0, "a learning rate > 0 and ≤ 10"),
        ("lr_step_epoch", in_range(c.lr_step_epoch, 1, 100_000, integer=True), "an integer ≥ 1"),
        ("lr_gamma", in_range(c.lr_gamma, 0, 1) and c.lr_gamma > 0, "a factor > 0 and ≤ 1"),
        ("momentum", in_range(c.momentum, 0, 1) and c.momentum < 1, "a number ≥ 0 and < 1"),
        ("weight_decay", in_range(c.weight_decay, 0, 1), "a number from 0 to 1"),
        ("window", window_ok(c.window), "two HU values LO < HI, each from -100000 to 100000"),
        ("seed", in_range(c.seed, 0, 2**63 - 1, integer=True), "an integer ≥ 0"),
        ("device", isinstance(c.device, str) and _DEVICE.fullmatch(c.device) is not None, "auto, cpu, cuda or cuda:N"),
        ("downsample", in_range(c.downsample, 1, 4, integer=True), "an integer from 1 to 4"),
        ("data_on_device", c.data_on_device in ("auto", "yes", "no"), "auto, yes or no"),
    ]
