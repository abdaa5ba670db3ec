"""Data-parallel training throughput of the multi-scale lesion model: 1 GPU against N GPUs (DDP).

    PYTHONPATH=. python benchmarks/bench_ddp.py --out ddp.json          # a 2-GPU H100 / H200 machine
    PYTHONPATH=. python benchmarks/bench_ddp.py --quick --device cpu    # tiny sizes, gloo on CPU
    PYTHONPATH=. python benchmarks/bench_ddp.py --verify 5              # first: N GPUs = 1 GPU's weights?

Needs only torch, torchvision and numpy (it imports lesion_model.training and lesion_model.models).
For each world size of --world (default 1 2) the benchmark starts that many processes
(torch.multiprocessing, the environment torchrun would set; NCCL on CUDA, gloo on CPU), each on
its own GPU, as ``torchrun --nproc_per_node=N -m lesion_model.cli.lesion_train`` runs them. Each rank holds
the same synthetic in-memory training set on its device (random int16 HU patches [3, 120, 120],
random boxes, sparse labels over K = 171) and trains lesion_model's multi-scale VGG-16-BN through
``engine.train_one_epoch`` with its shard of every global batch: weak scaling, --per-rank-batch
images per GPU per step (global batch = per-rank batch × world size), bf16 autocast +
channels_last on CUDA (optionally torch.compile). One warm-up epoch of --warmup-steps steps
precedes one timed epoch of --steps steps (synchronized and barriered before and after).

Batch norm: ``sync`` (SyncBatchNorm, what lesion-train uses under DDP: statistics of the global
batch) and ``local`` (per-rank statistics, for the cost of synchronizing). Prints and writes
images/s per configuration and the scaling efficiency images/s(N) / (N × images/s(1)).
Target: 2 GPUs >= 1.8x one GPU. ``--verify STEPS`` first trains STEPS global batches of the
same lesions in fp32 with one process and with N, and prints the largest weight difference:
rounding with synchronized batch norm, far more with per-rank statistics.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lesion_model.models import ModelConfig, WeightedBCEWithLogits, build_model, class_weights
from lesion_model.training.distributed import DistributedContext, process_group, rank_device, sync_batchnorm, wrap
from lesion_model.training.engine import InputTransform, SplitData, epoch_generator, train_one_epoch

PATCH = (3, 120, 120)
WINDOW = (-1024.0, 3071.0)
LABELS = 171


def synthetic_split(n: int, device: torch.device, seed: int, *, on_cpu: bool = False) -> SplitData:
    """``n`` random lesions on ``device``: int16 HU patches, boxes, sparse targets, full masks;
    made there, or on the CPU (``on_cpu``: the same lesions on every device) and moved."""
    made = torch.device("cpu") if on_cpu else device
    gen = torch.Generator(device=made).manual_seed(seed)
    patches = torch.randint(-1024, 1500, (n, *PATCH), generator=gen, dtype=torch.int16, device=made)
    corner = torch.randint(10, 60, (n, 2), generator=gen, device=made).float()
    size = torch.randint(8, 50, (n, 2), generator=gen, device=made).float()
    target = (torch.rand(n, LABELS, generator=gen, device=made) < 0.05).float()
    boxes = torch.cat([corner, corner + size], dim=1)
    return SplitData(
        patches.to(device), boxes.to(device), target.to(device), torch.ones_like(target).to(device), np.arange(n)
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    if dist.is_initialized():
        dist.barrier()


def _rank_main(rank: int, world: int, port: int, options: dict[str, Any], results: Any) -> None:
    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    if options["device"] == "cpu":
        torch.set_num_threads(1)  # one core per process (more threads thrash on a shared machine)
    device = rank_device(torch.device(options["device"]), DistributedContext.from_env())
    with process_group(device) as context:
        cuda = device.type == "cuda"
        torch.manual_seed(0)
        model = build_model(ModelConfig(num_labels=LABELS, head="multiscale", width=options["width"])).to(device)
        if cuda:
            model.to(memory_format=torch.channels_last)
        if context.enabled and options["bn"] == "sync":
            sync_batchnorm(model)
        runner: torch.nn.Module = wrap(model, device) if context.enabled else model
        if options["compile"]:
            runner = torch.compile(runner)  # type: ignore[assignment]
        verify = options["verify"]
        global_batch = options["per_rank_batch"] * (max(options["world"]) if verify else world)
        warmup = synthetic_split(options["warmup_steps"] * global_batch, device, seed=1, on_cpu=verify)
        data = synthetic_split(options["steps"] * global_batch, device, seed=2, on_cpu=verify)
        w_pos, w_neg = class_weights(data.target.cpu().numpy(), data.mask.cpu().numpy())
        criterion = WeightedBCEWithLogits("weighted_bootstrap", torch.from_numpy(w_pos), torch.from_numpy(w_neg))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
        step = {
            "transform": InputTransform(WINDOW, 1, cuda),
            "batch_size": global_batch,
            "device": device,
            "amp": cuda and not verify,
            "shard": (context.rank, context.world_size),
        }
        train_one_epoch(runner, criterion.to(device), optimizer, warmup, generator=epoch_generator(0, 0), **step)
        _sync(device)
        start = time.perf_counter()
        train_one_epoch(runner, criterion, optimizer, data, generator=epoch_generator(0, 1), **step)
        _sync(device)
        seconds = time.perf_counter() - start
        if context.is_main:
            state = {k: v.float().cpu().numpy() for k, v in model.state_dict().items()} if verify else None
            results.put({"seconds": seconds, "images": len(data), "global_batch": global_batch, "state": state})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(world: int, options: dict[str, Any]) -> dict[str, Any]:
    """Start ``world`` processes with ``options``; rank 0's timing."""
    results = mp.get_context("spawn").SimpleQueue()
    args = (world, _free_port(), options, results)
    processes = mp.start_processes(_rank_main, args=args, nprocs=world, join=False, start_method="spawn")
    result = results.get()  # before joining: a large result fills the pipe until it is read
    processes.join()
    return result


def verify(options: dict[str, Any]) -> dict[str, float]:
    """Train the same global batches in fp32 with 1 process and with N (synchronized and
    per-rank batch norm); the largest difference of a weight from the one-process weights."""
    worlds = [w for w in options["world"] if w > 1]
    single = run(1, {**options, "bn": "sync"})["state"]
    out = {}
    for world in worlds:
        for bn in options["bns"]:
            state = run(world, {**options, "bn": bn})["state"]
            out[f"{bn}_{world}"] = max(float(np.abs(state[k] - v).max()) for k, v in single.items())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", type=int, nargs="+", default=[1, 2], help="Numbers of processes (GPUs).")
    parser.add_argument("--bn", nargs="+", choices=["sync", "local"], default=["sync", "local"])
    parser.add_argument("--device", default="cuda", help="cuda (one GPU per process) or cpu (gloo).")
    parser.add_argument("--per-rank-batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=100, help="Timed steps.")
    parser.add_argument("--warmup-steps", type=int, default=20)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--compile", action="store_true", help="torch.compile the (DDP) model.")
    parser.add_argument("--quick", action="store_true", help="Tiny sizes: a check that it runs.")
    parser.add_argument(
        "--verify",
        type=int,
        metavar="STEPS",
        default=0,
        help="First train STEPS global batches in fp32 with 1 and N processes and compare the weights.",
    )
    parser.add_argument("--out", type=Path, help="Also write the results here as JSON.")
    args = parser.parse_args()
    if args.quick:
        args.per_rank_batch, args.steps, args.warmup_steps, args.width = 4, 4, 2, 0.125
    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("bench_ddp: CUDA is not available (use --device cpu for a CPU check)")
        if max(args.world) > torch.cuda.device_count():
            sys.exit(f"bench_ddp: --world {max(args.world)} needs as many GPUs; {torch.cuda.device_count()} visible")

    options = {
        "device": args.device,
        "per_rank_batch": args.per_rank_batch,
        "steps": args.steps,
        "warmup_steps": args.warmup_steps,
        "width": args.width,
        "compile": args.compile,
        "world": args.world,
        "bns": args.bn,
        "verify": False,
    }
    card = torch.cuda.get_device_name(0) if args.device == "cuda" else f"CPU ({os.cpu_count()} cores)"
    summary: dict[str, Any] = {
        "device": card,
        "torch": torch.__version__,
        "mode": ("bf16 + channels_last" if args.device == "cuda" else "fp32") + (" + compile" if args.compile else ""),
        **{k: v for k, v in options.items() if k != "device"},
        "runs": [],
    }
    print(f"{card}, torch {torch.__version__}, {summary['mode']}, {args.per_rank_batch} images per rank per step")
    if args.verify:
        checks = verify({**options, "verify": True, "steps": args.verify, "warmup_steps": 1, "compile": False})
        summary["verify_max_abs_weight_difference"] = checks
        print(f"verify, {args.verify} fp32 steps, largest |weight difference| from one process: {checks}")
    print(f"{'bn':<6}{'world':>6}{'global batch':>14}{'images/s':>11}{'speed-up':>10}{'efficiency':>12}")
    # One process has no batch norm to synchronize: measured once, the base of every speed-up.
    configs = [(1, "-")] if 1 in args.world else []
    configs += [(world, bn) for bn in args.bn for world in args.world if world > 1]
    base_ips = None
    for world, bn in configs:
        result = run(world, {**options, "bn": bn})
        ips = result["images"] / result["seconds"]
        base_ips = base_ips or (ips if world == 1 else None)
        row = {
            "bn": bn,
            "world": world,
            "global_batch": result["global_batch"],
            "images_per_s": round(ips, 1),
            "speedup": round(ips / base_ips, 3) if base_ips else None,
            "efficiency": round(ips / (world * base_ips), 3) if base_ips else None,
        }
        summary["runs"].append(row)
        scaling = f"{row['speedup']:>10.2f}{row['efficiency']:>12.2f}" if base_ips else ""
        print(f"{bn:<6}{world:>6}{row['global_batch']:>14}{ips:>11.1f}{scaling}")
    print(json.dumps(summary))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
