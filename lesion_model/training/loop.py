"""The training loop of ``lesion-train --data STORE --out RUN`` (the seed paper's recipe by default).

Defaults: multi-scale head, weighted + bootstrap loss (β = 0.9), SGD (momentum 0.9, weight decay
1e-4), lr 0.01 → 0.001 at epoch 12, 15 epochs, batch 128. ``--head`` and ``--loss`` give the rows
of Table 1: ``gap bce``, ``gap weighted``, ``multiscale weighted``,
``multiscale weighted_bootstrap``.

``RUN`` receives ``config.json`` (the :class:`~lesion_model.training.config.TrainConfig`),
``checkpoint.pt`` (:mod:`lesion_model.training.checkpoint`; written atomically after every epoch:
model, optimizer, scheduler, epoch, config, labels, history) and ``history.json`` (per-epoch loss
and validation mean AUC). ``--resume`` continues from ``checkpoint.pt`` to exactly the result of
an uninterrupted run: the shuffling of each epoch comes from its own generator seeded by
(seed, epoch).

On CUDA the step runs under bf16 autocast with channels_last tensors (optionally
``torch.compile``d), and the patches stay int16 on the GPU when they fit, windowed there per batch.

Data-parallel: ``torchrun --nproc_per_node=N -m lesion_model.cli.lesion_train ...`` runs N ranks
(NCCL, one GPU each, or gloo on CPU; :mod:`lesion_model.training.distributed`). ``--batch-size`` is
then the global batch (per-rank batch × N), batch norm is synchronized, and the result equals one
process's with that batch (up to floating-point reduction order); rank 0 alone evaluates, logs and
writes ``RUN``; ``--resume`` works across ranks and world sizes.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .._files import write_json
from ..data.store import PatchStore
from ..errors import TrainingError
from ..metrics import label_metrics, mean_auc
from ..models import UncertainPolicy, WeightedBCEWithLogits, build_model, class_weights, make_targets
from .checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_NAME, read_checkpoint, save_checkpoint
from .config import TrainConfig
from .distributed import DistributedContext, process_group, rank_device, rank_seed, sync_batchnorm, wrap
from .engine import InputTransform, ProgressFn, SplitData, epoch_generator, predict, resolve_device, train_one_epoch

__all__ = ["hu_window", "load_split", "store_window", "train", "validate"]

logger = logging.getLogger(__name__)

# Fields that may differ between a run and its resumption (they do not change the result); the
# run folder and the store may move (the store is then checked by its content).
_RESUMABLE = {"epochs", "device", "compile", "data_on_device", "progress", "out", "data"}
#: The files of a run folder that lesion-train writes.
_RUN_FILES = (CHECKPOINT_NAME, "config.json", "history.json")


class _StepOptions(TypedDict):
    """What training steps and validation share."""

    transform: InputTransform
    batch_size: int
    device: torch.device
    amp: bool


def load_split(
    store: PatchStore,
    split: str,
    *,
    uncertain: UncertainPolicy = "ignore",
    device: torch.device | str = "cpu",
) -> SplitData:
    """The rows of ``split`` as :class:`SplitData` on ``device`` (patches keep their dtype).

    Lesions the label source had no entry for (``has_labels`` 0 in ``index.csv``) are left out:
    their empty label rows are unknowns, not negatives.
    """
    rows = store.split_indices(split)
    if "has_labels" in store.index.columns:
        labelled = store.index["has_labels"].to_numpy()[rows] != 0
        if not labelled.all():
            logger.info("%s: %d %s lesion(s) without labels left out", store.path, (~labelled).sum(), split)
        rows = rows[labelled]
    target, mask = make_targets(store.positive[rows], store.uncertain[rows], uncertain)
    boxes = store.index.loc[rows, ["x1", "y1", "x2", "y2"]].to_numpy(dtype=np.float32)
    patches = torch.from_numpy(np.ascontiguousarray(store.patches[rows]))
    if torch.device(device).type == "cuda":
        patches = patches.pin_memory()
    return SplitData(
        patches=patches.to(device),
        boxes=torch.from_numpy(boxes).to(device),
        target=torch.from_numpy(target).to(device),
        mask=torch.from_numpy(mask).to(device),
        rows=rows,
    )


def store_window(store: PatchStore, window: tuple[float, float]) -> tuple[float, float] | None:
    """The window to apply to this store's patches: ``None`` when they are uint8 (pre-windowed)."""
    return None if store.meta["dtype"] == "uint8" else (float(window[0]), float(window[1]))


def hu_window(store: PatchStore, window: tuple[float, float]) -> tuple[float, float]:
    """The HU window the model's inputs went through: the store's own for a uint8 store."""
    lo, hi = store.meta["window"] if store.meta["dtype"] == "uint8" else window
    return float(lo), float(hi)


def validate(
    model: nn.Module,
    data: SplitData,
    *,
    transform: InputTransform,
    batch_size: int,
    device: torch.device,
    amp: bool = True,
) -> dict[str, Any]:
    """Scores of ``data`` and their mean AUC (over labels with both classes; uncertain masked)."""
    scores = predict(model, data, transform=transform, batch_size=batch_size, device=device, amp=amp)
    metrics = label_metrics(data.target.cpu().numpy(), scores, data.mask.cpu().numpy())
    return {"scores": scores, "auc": metrics.auc, "mean_auc": mean_auc(metrics.auc)}


def _data_device(config: TrainConfig, device: torch.device, nbytes: int) -> torch.device:
    """Where the training patches live: on the GPU when asked, or (auto) when they fit."""
    if device.type != "cuda" or config.data_on_device == "no":
        return torch.device("cpu")
    if config.data_on_device == "yes":
        return device
    free, _ = torch.cuda.mem_get_info(device)
    fits = nbytes < 0.5 * free
    logger.info(
        "patches: %.2f GB, %.2f GB free on %s: %s",
        nbytes / 1e9,
        free / 1e9,
        device,
        "kept on the GPU" if fits else "kept in host memory",
    )
    return device if fits else torch.device("cpu")


def _store_signature(store: PatchStore) -> dict[str, Any]:
    """What identifies a store's content for resuming, wherever it lies: size, splits, labels."""
    return {"count": len(store), "splits": store.meta.get("splits"), "labels": list(store.labels)}


def _check_resumable(ckpt: dict[str, Any], config: TrainConfig, store: PatchStore, path: Path) -> None:
    saved, current = ckpt["config"], config.to_dict()
    differ = sorted(k for k in current if k not in _RESUMABLE and saved.get(k) != current[k])
    if differ:
        details = ", ".join(f"{k}: {saved.get(k)!r} → {current[k]!r}" for k in differ)
        raise TrainingError(f"{path} was trained with another configuration ({details})")
    signature = ckpt.get("store", {"labels": ckpt["labels"]})
    now = _store_signature(store)
    differ = [k for k in signature if signature[k] != now.get(k)]
    if differ:
        raise TrainingError(f"{path} was trained on another store than {store.path} (its {', '.join(differ)} differ)")


def _claim_run_folder(out: Path, *, resume: bool, overwrite: bool, is_main: bool) -> None:
    """Refuse to train over an earlier run unless resuming it or ``overwrite`` (then its files go)."""
    present = [name for name in _RUN_FILES if (out / name).exists()]
    if resume or not present:
        return
    if not overwrite:
        raise TrainingError(
            f"{out}: holds a run ({', '.join(present)}): pass --resume to continue it, or --overwrite to start over"
        )
    if is_main:
        for name in present:
            (out / name).unlink()


def train(config: TrainConfig, *, resume: bool = False, overwrite: bool = False) -> dict[str, Any]:
    """Run (or resume) training as configured; returns the last epoch's record of the history.

    A folder holding an earlier run is refused unless ``resume`` (continue it; the run folder
    and the store may have moved) or ``overwrite`` (its checkpoint and history are removed).

    Under torchrun (``WORLD_SIZE`` > 1) this process is one rank of a DDP run: on CUDA it uses
    ``cuda:LOCAL_RANK``; ``config.batch_size`` is the global batch and must be a multiple of the
    world size; only rank 0's record holds the validation AUC.
    """
    context = DistributedContext.from_env()
    if config.batch_size % context.world_size:
        raise TrainingError(
            f"the batch size {config.batch_size} (the global batch) is not a multiple of the "
            f"{context.world_size} processes"
        )
    device = rank_device(resolve_device(config.device), context)
    _claim_run_folder(Path(config.out), resume=resume, overwrite=overwrite, is_main=context.is_main)
    with process_group(device) as context:
        return _train(config, resume=resume, device=device, context=context)


def _train(config: TrainConfig, *, resume: bool, device: torch.device, context: DistributedContext) -> dict[str, Any]:
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    checkpoint_path = out / CHECKPOINT_NAME
    store = PatchStore.open(config.data)
    window = store_window(store, config.window)
    train_rows = store.split_indices("train")
    data_device = _data_device(config, device, int(store.patches[:1].nbytes) * len(train_rows))
    train_data = load_split(store, "train", uncertain=config.uncertain, device=data_device)
    val_data = load_split(store, "val", uncertain=config.uncertain, device=data_device)
    labels = tuple(store.labels)
    w_pos, w_neg = class_weights(train_data.target.cpu().numpy(), train_data.mask.cpu().numpy())

    model_config = config.model_config(len(labels))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_model(model_config, weights=config.pretrained)
    model.to(device)
    channels_last = config.channels_last and device.type == "cuda"
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if context.enabled:
        torch.manual_seed(rank_seed(config.seed, context.rank))  # this rank's own randomness
        sync_batchnorm(model)
    criterion = WeightedBCEWithLogits(
        config.loss,
        torch.from_numpy(w_pos),
        torch.from_numpy(w_neg),
        beta=config.beta,
        detach=config.detach_bootstrap,
    ).to(device)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=[config.lr_step_epoch], gamma=config.lr_gamma
    )
    start_epoch, history = 0, []
    if resume:
        ckpt = read_checkpoint(checkpoint_path, device, resume=True)
        _check_resumable(ckpt, config, store, checkpoint_path)
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        start_epoch, history = int(ckpt["epoch"]), list(ckpt["history"])
        logger.info("resuming %s after epoch %d", checkpoint_path, start_epoch)
    if context.is_main:
        write_json(out / "config.json", config.to_dict())
    runner: nn.Module = wrap(model, device) if context.enabled else model
    if config.compile:
        runner = torch.compile(runner)  # type: ignore[assignment]  # torch types it as a callable; it is the module
    step = _StepOptions(
        transform=InputTransform(window, config.downsample, channels_last),
        batch_size=config.batch_size,
        device=device,
        amp=config.amp,
    )
    check_every = 1 if device.type == "cpu" else 20
    logger.info(
        "training %s head, %s loss, %d labels on %s: %d train / %d val lesions",
        config.head,
        config.loss,
        len(labels),
        device,
        len(train_data),
        len(val_data),
    )
    record: dict[str, Any] = history[-1] if history else {}
    for epoch in range(start_epoch, config.epochs):
        started = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        with _progress_bar(
            config.progress and context.is_main,
            len(train_data) // max(config.batch_size, 1),
            f"epoch {epoch + 1}/{config.epochs}",
        ) as bar:
            loss = train_one_epoch(
                runner,
                criterion,
                optimizer,
                train_data,
                generator=epoch_generator(config.seed, epoch),
                check_every=check_every,
                progress=bar,
                shard=(context.rank, context.world_size),
                **step,
            )
        scheduler.step()
        evaluator = model if context.enabled else runner  # the plain model: no collectives on rank 0 alone
        val_auc = validate(evaluator, val_data, **step)["mean_auc"] if len(val_data) and context.is_main else None
        record = {
            "epoch": epoch + 1,
            "loss": loss,
            "val_mean_auc": val_auc,
            "lr": lr,
            "seconds": round(time.perf_counter() - started, 3),
        }
        history.append(record)
        if not context.is_main:
            continue  # rank 0 alone logs and writes the run directory
        logger.info(
            "epoch %d/%d: loss %.4f, val mean AUC %s, lr %g (%.1f s)",
            epoch + 1,
            config.epochs,
            loss,
            "n/a" if val_auc is None else f"{val_auc:.4f}",
            lr,
            record["seconds"],
        )
        state = {
            "format": CHECKPOINT_FORMAT,
            "version": 1,
            "epoch": epoch + 1,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "config": config.to_dict(),
            "model_config": model_config.to_dict(),
            "labels": list(labels),
            "categories": list(store.categories),
            "window": list(hu_window(store, config.window)),
            "class_weights": {"positive": w_pos.tolist(), "negative": w_neg.tolist()},
            "history": history,
            "store": _store_signature(store),
        }
        save_checkpoint(checkpoint_path, state)
        write_json(out / "history.json", history)
    return record


@contextmanager
def _progress_bar(enabled: bool, total: int, desc: str) -> Iterator[ProgressFn | None]:
    """A tqdm bar on stderr, fed through ``train_one_epoch``'s progress callback."""
    if not enabled:
        yield None
        return
    bar = tqdm(total=total, desc=desc, unit="batch", file=sys.stderr, leave=False)

    def update(steps: int, loss: float) -> None:
        bar.update(steps - bar.n)
        bar.set_postfix(loss=f"{loss:.4f}")

    try:
        yield update
    finally:
        bar.close()
