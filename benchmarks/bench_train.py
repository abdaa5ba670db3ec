"""GPU training throughput of the multi-scale lesion model, against a bare torchvision ceiling.

    PYTHONPATH=. python benchmarks/bench_train.py --out results.json     # H100 / H200
    PYTHONPATH=. python benchmarks/bench_train.py --quick                 # tiny sizes, CPU check

Needs only torch, torchvision and numpy (it imports lesion_model.training.engine and lesion_model.models, not the
pandas/click/SimpleITK parts). Steps, all on one device in one process:

1. A synthetic patch store of ``--lesions`` random int16 HU patches [N, 3, 120, 120] with random
   lesion boxes and sparse labels (K = 171) is written in the store layout (``patches.npy``,
   ``labels.npz``, ``meta.json``, ``index.csv``) and loaded to the device, int16, as training
   does when the set fits (the load time is reported).
2. End-to-end training images/s of ``lesion_model``'s multi-scale VGG-16-BN through
   ``engine.train_one_epoch`` (gather from device-resident int16, window on device, weighted
   bootstrap loss, SGD) at batch 128: fp32; bf16 autocast + channels_last; + torch.compile.
   One warm-up pass (compilation included) precedes one timed full epoch.
3. The full recipe: 15 epochs, lr 0.01 → 0.001 at epoch 12, fastest mode, training time only.
4. The ceiling: a bare torchvision VGG-16-BN multi-scale step (torchvision ``vgg16_bn`` features,
   roi_align 5×5 per stage, FC heads, BCEWithLogits, SGD) on random float tensors already on the
   device, bf16 + channels_last + compile, same batch.

Prints and writes a JSON summary (device, versions, images/s per mode, ratio to the ceiling,
recipe seconds, GFLOP per image per training step measured with FlopCounterMode).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torchvision
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode
from torchvision.ops import roi_align

from lesion_model.models import ModelConfig, WeightedBCEWithLogits, build_model, class_weights
from lesion_model.training.engine import InputTransform, SplitData, epoch_generator, train_one_epoch

PATCH = (3, 120, 120)
WINDOW = (-1024.0, 3071.0)


@dataclass(frozen=True)
class Mode:
    name: str
    amp: bool
    channels_last: bool
    compile: bool


MODES = (
    Mode("fp32", amp=False, channels_last=False, compile=False),
    Mode("bf16_channels_last", amp=True, channels_last=True, compile=False),
    Mode("bf16_channels_last_compile", amp=True, channels_last=True, compile=True),
)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def write_store(root: Path, n: int, k: int, seed: int) -> Path:
    """Random lesions in the patch-store layout, written with numpy and csv only."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    patches = np.lib.format.open_memmap(root / "patches.npy", mode="w+", dtype=np.int16, shape=(n, *PATCH))
    for start in range(0, n, 1024):
        stop = min(n, start + 1024)
        patches[start:stop] = rng.integers(-1024, 1500, (stop - start, *PATCH), dtype=np.int16)
    patches.flush()
    del patches
    positive = (rng.random((n, k)) < 0.03).astype(np.uint8)
    labels = [f"label{i}" for i in range(k)]
    np.savez(root / "labels.npz", labels=np.array(labels), positive=positive, uncertain=np.zeros_like(positive),
             negated=np.zeros_like(positive))  # fmt: skip
    side = rng.uniform(8, 60, n)
    x1 = 60 - side / 2
    with open(root / "index.csv", "w", encoding="utf-8") as f:
        f.write("lesion_id,patient_id,study_id,split,x1,y1,x2,y2,source,key_slice,noisy\n")
        for i in range(n):
            f.write(f"{i},{i:06d},{i:06d}_01,train,{x1[i]:.2f},{x1[i]:.2f},{x1[i] + side[i]:.2f},"
                    f"{x1[i] + side[i]:.2f},bench,0,0\n")  # fmt: skip
    meta = {"format": "lesion_model.patch_store", "version": 1, "count": n, "patch_shape": list(PATCH),
            "dtype": "int16", "units": "HU", "labels": labels, "categories": ["bodypart"] * k}  # fmt: skip
    (root / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return root


def load_store(root: Path, device: torch.device) -> SplitData:
    """The store's patches (int16), boxes and labels as device tensors."""
    patches = torch.from_numpy(np.load(root / "patches.npy"))
    if device.type == "cuda":
        patches = patches.pin_memory()
    boxes = np.loadtxt(root / "index.csv", delimiter=",", skiprows=1, usecols=(4, 5, 6, 7), dtype=np.float32, ndmin=2)
    with np.load(root / "labels.npz") as z:
        target = torch.from_numpy(z["positive"].astype(np.float32))
    return SplitData(
        patches=patches.to(device, non_blocking=True),
        boxes=torch.from_numpy(boxes).to(device),
        target=target.to(device),
        mask=torch.ones_like(target, device=device),
        rows=np.arange(len(boxes)),
    )


def _subset(data: SplitData, n: int) -> SplitData:
    return SplitData(data.patches[:n], data.boxes[:n], data.target[:n], data.mask[:n], data.rows[:n])


def _setup(mode: Mode, data: SplitData, width: float, device: torch.device, lr: float = 0.01) -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_model(ModelConfig(num_labels=data.target.shape[1], width=width)).to(device)
    if mode.channels_last:
        model = model.to(memory_format=torch.channels_last)
    w_pos, w_neg = class_weights(data.target.cpu().numpy())
    criterion = WeightedBCEWithLogits("weighted_bootstrap", torch.from_numpy(w_pos), torch.from_numpy(w_neg)).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)
    runner = torch.compile(model) if mode.compile else model
    return {"model": model, "runner": runner, "criterion": criterion, "optimizer": optimizer}


def _epoch(parts: dict[str, Any], mode: Mode, data: SplitData, batch: int, device: torch.device, epoch: int) -> float:
    """Seconds of one train_one_epoch over ``data``."""
    _sync(device)
    started = time.perf_counter()
    train_one_epoch(
        parts["runner"], parts["criterion"], parts["optimizer"], data,
        transform=InputTransform(WINDOW, channels_last=mode.channels_last), batch_size=batch, device=device,
        generator=epoch_generator(0, epoch), amp=mode.amp,
    )  # fmt: skip
    _sync(device)
    return time.perf_counter() - started


def measure_mode(mode: Mode, data: SplitData, batch: int, width: float, warmup: int, device: torch.device) -> dict:
    parts = _setup(mode, data, width, device)
    steps = len(data) // batch
    warm_seconds = _epoch(parts, mode, _subset(data, warmup * batch), batch, device, 0)
    seconds = _epoch(parts, mode, data, batch, device, 1)
    return {"images_per_s": steps * batch / seconds, "epoch_s": seconds, "warmup_s": warm_seconds, "steps": steps}


def recipe(mode: Mode, data: SplitData, batch: int, width: float, epochs: int, device: torch.device) -> dict:
    """The paper's schedule (lr 0.01 → 0.001 at epoch 12) for ``epochs`` epochs, training time only."""
    parts = _setup(mode, data, width, device)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(parts["optimizer"], milestones=[12], gamma=0.1)
    times = []
    for epoch in range(epochs):
        times.append(_epoch(parts, mode, data, batch, device, epoch))
        scheduler.step()
    return {"epochs": epochs, "total_s": sum(times), "epoch_s": times, "mode": mode.name}


class BareMultiScale(nn.Module):
    """torchvision VGG-16-BN features + 5×5 roi_align per stage + FC heads (the ceiling)."""

    def __init__(self, num_labels: int, hidden: int = 256) -> None:
        super().__init__()
        features = torchvision.models.vgg16_bn(weights=None).features
        pools = [i for i, m in enumerate(features) if isinstance(m, nn.MaxPool2d)]
        self.stages = nn.ModuleList(nn.Sequential(*features[a:b]) for a, b in zip([0, *pools[:-1]], pools, strict=True))
        self.strides = [1, 2, 4, 8, 16]
        channels = [64, 128, 256, 512, 512]
        self.fcs = nn.ModuleList(nn.Sequential(nn.Linear(c * 25, hidden), nn.ReLU()) for c in channels)
        self.out = nn.Linear(hidden * 5, num_labels)

    def forward(self, x: Tensor, lesion: Tensor, whole: Tensor) -> Tensor:
        pooled = []
        for i, (stage, fc) in enumerate(zip(self.stages, self.fcs, strict=True)):
            x = stage(x)
            rois = lesion if i < 3 else whole
            p = roi_align(x.float(), rois, (5, 5), 1.0 / self.strides[i], sampling_ratio=2, aligned=True)
            pooled.append(fc(p.flatten(1).to(x.dtype)))
        return self.out(torch.cat(pooled, 1))


def bare_ceiling(batch: int, k: int, steps: int, warmup: int, device: torch.device, compile_: bool) -> dict:
    torch.manual_seed(0)
    model = BareMultiScale(k).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    loss_fn = nn.BCEWithLogitsLoss()
    runner = torch.compile(model) if compile_ else model
    x = torch.rand(batch, *PATCH, device=device).contiguous(memory_format=torch.channels_last)
    idx = torch.arange(batch, device=device, dtype=torch.float32)[:, None]
    lesion = torch.cat([idx, torch.tensor([[40.0, 40.0, 80.0, 80.0]], device=device).expand(batch, 4)], 1)
    whole = torch.cat([idx, torch.tensor([[0.0, 0.0, 120.0, 120.0]], device=device).expand(batch, 4)], 1)
    target = (torch.rand(batch, k, device=device) < 0.03).float()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    def step() -> None:
        with autocast:
            logits = runner(x, lesion, whole)
        loss = loss_fn(logits.float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    _sync(device)
    started = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    seconds = time.perf_counter() - started
    return {"images_per_s": steps * batch / seconds, "steps": steps, "compile": compile_}


def gflop_per_image(width: float, k: int, batch: int, device: torch.device) -> float:
    """Forward + backward FLOPs of lesion_model's multi-scale model per image (FlopCounterMode)."""
    model = build_model(ModelConfig(num_labels=k, width=width)).to(device)
    x = torch.rand(batch, *PATCH, device=device)
    boxes = torch.tensor([[40.0, 40.0, 80.0, 80.0]], device=device).expand(batch, 4)
    counter = FlopCounterMode(display=False)
    with counter:
        model(x, boxes).sum().backward()
    return counter.get_total_flops() / batch / 1e9


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, help="Write the JSON summary here.")
    parser.add_argument("--lesions", type=int, default=20_000)
    parser.add_argument("--labels", type=int, default=171)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=15, help="Epochs of the full recipe (0: skip it).")
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--warmup", type=int, default=20, help="Warm-up steps (compilation included).")
    parser.add_argument("--bare-steps", type=int, default=100)
    parser.add_argument("--modes", nargs="+", default=[m.name for m in MODES], choices=[m.name for m in MODES])
    parser.add_argument("--store", type=Path, help="Store folder (default: a temporary one).")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="Tiny sizes for a CPU check (no compile).")
    args = parser.parse_args(argv)
    if args.quick:
        args.lesions, args.batch_size, args.width, args.warmup, args.bare_steps = 64, 16, 0.125, 1, 2
        args.epochs = min(args.epochs, 2)
        args.modes = [m for m in args.modes if "compile" not in m]
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    modes = [m for m in MODES if m.name in args.modes]

    with tempfile.TemporaryDirectory(prefix="bench_train_") as tmp:
        root = args.store or Path(tmp) / "store"
        started = time.perf_counter()
        if not (root / "patches.npy").is_file():
            write_store(root, args.lesions, args.labels, seed=0)
        written = time.perf_counter() - started
        started = time.perf_counter()
        data = load_store(root, device)
        _sync(device)
        loaded = time.perf_counter() - started

    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "lesions": len(data),
        "batch_size": args.batch_size,
        "width": args.width,
        "store_write_s": round(written, 2),
        "store_to_device_s": round(loaded, 2),
        "gflop_per_image_train_step": round(gflop_per_image(args.width, args.labels, 2, device), 2),
        "modes": {},
    }
    for mode in modes:
        log(f"mode {mode.name} …")
        result["modes"][mode.name] = measure_mode(mode, data, args.batch_size, args.width, args.warmup, device)
    compile_bare = device.type == "cuda"
    log("bare torchvision ceiling …")
    result["bare_ceiling"] = bare_ceiling(
        args.batch_size, args.labels, args.bare_steps, args.warmup, device, compile_bare
    )
    best = max(result["modes"], key=lambda m: result["modes"][m]["images_per_s"])
    result["best_mode"] = best
    if args.width == 1.0:  # the ceiling is the full-width model
        ratio = result["modes"][best]["images_per_s"] / result["bare_ceiling"]["images_per_s"]
        result["best_vs_ceiling"] = round(ratio, 3)
    if args.epochs:
        log(f"recipe: {args.epochs} epochs, {best} …")
        result["recipe"] = recipe(next(m for m in MODES if m.name == best), data, args.batch_size, args.width,
                                  args.epochs, device)  # fmt: skip
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
