"""DDP training on CPU (gloo, 2 processes) equals one process with the same global batch."""

from __future__ import annotations

import socket
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torch.distributed")

from lm_helpers import make_store  # noqa: E402

from lesion_model.training import TrainConfig, load_checkpoint, train  # noqa: E402
from lesion_model.training.distributed import DistributedContext, SyncBatchNorm2d, rank_seed  # noqa: E402

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not built")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rank(rank: int, world: int, port: int, config: dict[str, Any], resume: bool) -> None:
    """One torchrun-like process: the environment torchrun sets, then ``train``."""
    import os

    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    torch.set_num_threads(1)
    train(TrainConfig.from_dict(config), resume=resume)


def _spawn(config: TrainConfig, *, world: int = 2, resume: bool = False) -> None:
    args = (world, _free_port(), config.to_dict(), resume)
    torch.multiprocessing.spawn(_rank, args=args, nprocs=world, join=True)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("lm_ddp") / "store", n=24, seed=0, image_size=128)


def _config(store: Path, out: Path, **changes: Any) -> TrainConfig:
    base = TrainConfig(
        data=str(store), out=str(out), width=0.125, hidden=8, epochs=2, batch_size=8,
        lr=0.01, lr_step_epoch=1, device="cpu",
    )  # fmt: skip
    return replace(base, **changes)


def test_two_ranks_equal_one_process_and_resume_across_ranks(store: Path, tmp_path: Path) -> None:
    single = _config(store, tmp_path / "single")
    train(single)
    # 2 ranks × 4 = the global batch of 8; one epoch, then resumed by 2 ranks to the second.
    ddp = _config(store, tmp_path / "ddp", epochs=1)
    _spawn(ddp)
    assert sorted(p.name for p in (tmp_path / "ddp").iterdir()) == ["checkpoint.pt", "config.json", "history.json"]
    _spawn(replace(ddp, epochs=2), resume=True)

    # Per-rank batch norm (statistics over 4 lesions, not 8) would fail every check below: weights
    # 0.1 apart, losses 1e-4 apart, momentum 55 % apart. Synchronized, only rounding differs.
    a = load_checkpoint(tmp_path / "single").checkpoint
    b = load_checkpoint(tmp_path / "ddp").checkpoint
    assert a["epoch"] == b["epoch"] == 2
    assert a["model"].keys() == b["model"].keys()  # synchronized batch norm keeps the plain model's keys
    for key, value in a["model"].items():
        torch.testing.assert_close(b["model"][key], value, rtol=1e-4, atol=5e-5, msg=key)
    for x, y in zip(a["history"], b["history"], strict=True):
        assert y["loss"] == pytest.approx(x["loss"], rel=1e-5)
        assert y["val_mean_auc"] == pytest.approx(x["val_mean_auc"], abs=0.02)
    # Momentum buffers (the gradients): as a whole; the first convolution's gradient, a sum of
    # large terms that cancel ahead of batch norm, amplifies rounding (~1e-2 of its small norm).
    momentum = [
        (v["momentum_buffer"], b["optimizer"]["state"][k]["momentum_buffer"])
        for k, v in a["optimizer"]["state"].items()
    ]
    one, two = (torch.cat([pair[i].flatten() for pair in momentum]) for i in (0, 1))
    assert float((one - two).norm() / one.norm()) < 0.05


def test_plain_batch_norm_would_differ() -> None:
    """Why batch norm is synchronized: per-rank statistics over half batches differ from the global ones."""
    x = torch.randn(8, 3, 5, 5) + torch.arange(8.0).view(8, 1, 1, 1)
    bn = torch.nn.BatchNorm2d(3)
    halves = torch.cat([bn(x[:4]), bn(x[4:])])
    assert not torch.allclose(halves, bn(x), atol=1e-3)


def test_sync_batch_norm_is_batch_norm_outside_a_process_group() -> None:
    torch.manual_seed(0)
    plain = torch.nn.BatchNorm2d(4)
    synced = SyncBatchNorm2d(4)
    x = torch.randn(6, 4, 3, 3)
    torch.testing.assert_close(synced(x), plain(x))
    torch.testing.assert_close(synced.running_var, plain.running_var)


def test_context_from_torchrun_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert DistributedContext.from_env() == DistributedContext()
    assert not DistributedContext.from_env().enabled
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    context = DistributedContext.from_env()
    assert asdict(context) == {"rank": 3, "world_size": 4, "local_rank": 1}
    assert context.enabled and not context.is_main
    assert len({rank_seed(0, r) for r in range(4)}) == 4
