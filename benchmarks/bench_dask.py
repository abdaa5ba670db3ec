"""Scaling of ``radminer extract --engine dask`` from 1 to N local worker processes.

    python benchmarks/bench_dask.py [--reports CSV] [--min-reports 30000] [--workers 1 2]
                                    [--partitions 16] [--repeat 3] [--json OUT.json]

The corpus is bench_extract.py's (Open-i findings + impression, repeated to at least
--min-reports, ids made unique), stored as a Parquet folder of --partitions files (the
layout docs/scaling.md recommends for a cluster). For each worker count, the CLI's local
cluster of that many processes (``radminer.engines.dask.connect``: one thread each, no dashboard,
no worker profiler) is started and warmed up (one untimed "first pass": imports, extractor
built on each worker); then the CLI's path, ``read_reports`` →
``encode`` (JSONL) → a JSONL file written by the client, is timed (median of --repeat),
the worker counts in turn within each round, so that they see about the same load.

Reported per worker count: reports/s, speed-up over the first count, wall efficiency
(speed-up / workers), CPU seconds of the workers and of the client process (which also
runs the scheduler), CPU efficiency (CPU seconds of the first count / CPU seconds of
this one: 1.0 means parallelism costs no extra CPU) and worker utilisation (worker CPU
seconds / (wall seconds x workers)), with the 1-minute load average before each run:
the machine is shared. "no-Dask ceiling" is the speed-up that as many independent processes
of the local engine, each mining its share, reach in the same round (no Dask, no
communication): what the shared machine allows, the bound for any engine. The local engine
in this process (``--jobs 1`` without startup) is the reference. Target: 2 workers >= 1.7x
one worker.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench_extract import COLUMNS, DEFAULT_REPORTS, read_corpus, write_corpus

ID = "uid"


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (run on each worker with ``client.run``)."""
    times = os.times()
    return times.user + times.system


def make_parquet(csv_path: Path, folder: Path, *, partitions: int) -> None:
    import dask.dataframe as dd

    dd.read_csv(csv_path, blocksize=None, dtype=str, keep_default_na=False).repartition(
        npartitions=partitions
    ).to_parquet(folder, write_index=False)


def mine(client: Any, source: Path, out: Path) -> int:
    """The CLI's dask path, without startup: reports mined."""
    from radminer.engines.dask import encode, read_reports
    from radminer.io.writers import make_writer

    ddf = read_reports(source, text_columns=COLUMNS, id_column=ID)
    reports = 0
    with out.open("w", encoding="utf-8") as handle:
        writer = make_writer("jsonl", handle)
        for encoded in encode(ddf, writer.encoder, client=client, text_columns=COLUMNS, id_column=ID):
            writer.write_encoded(encoded)
            reports += 1
        writer.close()
    return reports


def time_pass(client: Any, source: Path, out: Path) -> dict[str, float]:
    """One timed pass of :func:`mine`: wall and CPU seconds, and the load average before it."""
    load = os.getloadavg()[0]
    worker_cpu = sum(client.run(cpu_seconds).values())
    client_cpu = cpu_seconds()
    begin = time.perf_counter()
    reports = mine(client, source, out)
    return {
        "seconds": time.perf_counter() - begin,
        "worker_cpu_s": sum(client.run(cpu_seconds).values()) - worker_cpu,
        "client_cpu_s": cpu_seconds() - client_cpu,
        "load1": load,
        "reports": reports,
    }


def _mine_texts(texts: list[str], extractor: Any) -> float:
    """Seconds of the local engine over ``texts``, JSONL-encoded."""
    from radminer.engines.local import extract_texts
    from radminer.io.writers import JsonlEncoder

    begin = time.perf_counter()
    for _pair in extract_texts(enumerate(texts), extractor=extractor, encode=JsonlEncoder()):
        pass
    return time.perf_counter() - begin


def build_extractor() -> Any:
    """An Extractor built as ``radminer extract`` builds it: GC off during the build, then
    :func:`gc.freeze` (the dask workers do the same, in ``radminer.engines.dask``)."""
    from radminer.text.extractor import Extractor

    gc.disable()
    try:
        extractor = Extractor()
    finally:
        gc.enable()
    gc.freeze()
    return extractor


def time_local(texts: list[str], *, repeat: int) -> float:
    """Median seconds of the local engine in this process (extractor built and warm)."""
    extractor = build_extractor()
    _mine_texts(texts[:500], extractor)
    return statistics.median(_mine_texts(texts, extractor) for _ in range(repeat))


def _independent(share: list[str], start: Any, results: Any) -> None:
    """One independent process: build and warm an extractor, wait for the others, mine ``share``."""
    extractor = build_extractor()
    _mine_texts(share[:500], extractor)
    start.wait()
    results.put(_mine_texts(share, extractor))


def time_independent(texts: list[str], processes: int) -> float:
    """Wall seconds of ``processes`` independent processes, each mining its share of ``texts``
    with the local engine (no Dask, no communication): what the shared machine allows now."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(processes + 1), context.Queue()
    shares = [texts[i::processes] for i in range(processes)]
    workers = [context.Process(target=_independent, args=(share, start, results)) for share in shares]
    for worker in workers:
        worker.start()
    start.wait()
    begin = time.perf_counter()
    for _ in workers:
        results.get()
    seconds = time.perf_counter() - begin
    for worker in workers:
        worker.join()
    return seconds


def run_interleaved(counts: list[int], source: Path, out: Path, texts: list[str], *, repeat: int) -> dict[int, Any]:
    """A warm local cluster per worker count (the CLI's, :func:`radminer.engines.dask.connect`), all
    started first; then, ``repeat`` times and in turn, a timed pass on each and the independent
    processes of each count, so that the figures of a round see about the same load. Medians
    per count."""
    from radminer.engines.dask import connect

    runs: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    first_pass = {}
    with ExitStack() as stack:
        clients = {}
        for n in counts:
            clients[n] = stack.enter_context(connect(workers=n))
            begin = time.perf_counter()
            mine(clients[n], source, out)
            first_pass[n] = time.perf_counter() - begin
        for _ in range(repeat):
            for n in counts:
                runs[n].append({**time_pass(clients[n], source, out), "independent_s": time_independent(texts, n)})
    return {
        n: {
            **{key: statistics.median(run[key] for run in runs[n]) for key in runs[n][0]},
            "first_pass_s": first_pass[n],
            "runs": runs[n],
        }
        for n in counts
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    parser.add_argument("--min-reports", type=int, default=30_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--partitions", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    if not args.reports.is_file():
        sys.exit(f"bench_dask: {args.reports} not found (reference data: ../shared/data)")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = read_corpus(args.reports)
        copies = -(-args.min_reports // len(corpus))
        texts = write_corpus(corpus, work / "reports.csv", n=copies * len(corpus))
        make_parquet(work / "reports.csv", work / "reports.parquet", partitions=args.partitions)
        local = time_local(texts, repeat=args.repeat)
        source, out = work / "reports.parquet", work / "out.jsonl"
        results = run_interleaved(args.workers, source, out, texts, repeat=args.repeat)

    n = len(texts)
    base_workers, base = args.workers[0], results[args.workers[0]]
    base_cpu = base["worker_cpu_s"] + base["client_cpu_s"]
    summary: dict[str, Any] = {
        "reports": n,
        "partitions": args.partitions,
        "cpus": os.cpu_count(),
        "local_engine": {"seconds": round(local, 3), "reports_per_s": round(n / local)},
        "dask": {},
    }
    print(f"{n} reports, {args.partitions} Parquet partitions, {os.cpu_count()} CPUs; median of {args.repeat}")
    print(f"local engine, 1 process (no startup): {n / local:,.0f} reports/s")
    print(
        f"{'workers':>7}{'reports/s':>11}{'speed-up':>10}{'wall eff.':>10}{'worker CPU s':>14}"
        f"{'client CPU s':>14}{'CPU eff.':>10}{'worker util.':>14}{'load1':>7}{'first pass s':>14}"
        f"{'no-Dask ceiling':>17}"
    )
    for workers, r in results.items():
        assert r["reports"] == n, (r["reports"], n)
        speedup = base["seconds"] / r["seconds"]
        cpu = r["worker_cpu_s"] + r["client_cpu_s"]
        row = {
            "seconds": round(r["seconds"], 3),
            "reports_per_s": round(n / r["seconds"]),
            "speedup": round(speedup, 3),
            "wall_efficiency": round(speedup * base_workers / workers, 3),
            "worker_cpu_s": round(r["worker_cpu_s"], 2),
            "client_cpu_s": round(r["client_cpu_s"], 2),
            "cpu_efficiency": round(base_cpu / cpu, 3),
            "worker_utilisation": round(r["worker_cpu_s"] / (r["seconds"] * workers), 3),
            "load1": round(r["load1"], 2),
            "seconds_per_run": [round(x["seconds"], 3) for x in r["runs"]],
            "speedup_per_round": [
                round(b["seconds"] / x["seconds"], 3) for b, x in zip(base["runs"], r["runs"], strict=True)
            ],
            "load1_per_run": [round(x["load1"], 2) for x in r["runs"]],
            "first_pass_s": round(r["first_pass_s"], 2),
            "independent_processes_s": round(r["independent_s"], 3),
            "ceiling_speedup": round(base["independent_s"] / r["independent_s"], 3),
            "ceiling_speedup_per_round": [
                round(b["independent_s"] / x["independent_s"], 3) for b, x in zip(base["runs"], r["runs"], strict=True)
            ],
        }
        summary["dask"][str(workers)] = row
        print(
            f"{workers:>7}{row['reports_per_s']:>11,}{speedup:>10.2f}{row['wall_efficiency']:>10.2f}"
            f"{row['worker_cpu_s']:>14.2f}{row['client_cpu_s']:>14.2f}{row['cpu_efficiency']:>10.2f}"
            f"{row['worker_utilisation']:>14.2f}{row['load1']:>7.2f}{row['first_pass_s']:>14.2f}"
            f"{row['ceiling_speedup']:>17.2f}"
        )
    if len(results) > 1:
        print("per round (paired: the counts of a round ran back to back), speed-up over the first count:")
        for workers, row in list(summary["dask"].items())[1:]:
            print(
                f"{workers:>7} workers: dask {' '.join(f'{x:.2f}' for x in row['speedup_per_round'])}"
                f" (median {statistics.median(row['speedup_per_round']):.2f}); no Dask "
                f"{' '.join(f'{x:.2f}' for x in row['ceiling_speedup_per_round'])}"
                f" (median {statistics.median(row['ceiling_speedup_per_round']):.2f})"
            )
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
