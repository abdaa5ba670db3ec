"""Throughput of lesion-prepare (lesions/s) on a synthetic DeepLesion with 512 × 512 slices.

    .venv/bin/python benchmarks/bench_prepare.py [--patients 60] [--repeats 3] [--jobs 1 2]

Generates the dataset once (in --data, default a temporary folder; not timed), then times
``prepare_store`` end to end (reading PNGs, resampling, writing the store) for each --jobs value
and prints the median lesions/s (wall clock) over --repeats runs, lesions/s per process, and
lesions per CPU-second (robust to other load on the machine).
"""

from __future__ import annotations

import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

import click

from lesion_model.data.prepare import prepare_store, truth_labels
from lesion_model.data.records import read_dl_info
from lesion_model.synth import SynthConfig, generate


@click.command()
@click.option("--patients", default=60, show_default=True)
@click.option("--image-size", default=512, show_default=True)
@click.option("--repeats", default=3, show_default=True)
@click.option("--jobs", "jobs_list", multiple=True, type=int, default=(1, 2), show_default=True)
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), help="Reuse/keep the synthetic data here.")
def main(patients: int, image_size: int, repeats: int, jobs_list: tuple[int, ...], data: Path | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = data or Path(tmp) / "synth"
        if not (root / "DL_info.csv").is_file():
            generate(root, SynthConfig(patients=patients, image_size=image_size), seed=0)
        n = len(read_dl_info(root / "DL_info.csv"))
        labels = truth_labels(root / "truth.csv")
        click.echo(f"{n} lesions, {image_size}x{image_size} slices; {platform.processor() or platform.machine()}")
        for jobs in jobs_list:
            rates, cpu_rates = [], []
            for r in range(repeats):
                start, cpu = time.perf_counter(), _cpu_seconds()
                prepare_store(root / "DL_info.csv", Path(tmp) / f"store_{jobs}_{r}", labels=labels, jobs=jobs, chunk=32)
                rates.append(n / (time.perf_counter() - start))
                cpu_rates.append(n / (_cpu_seconds() - cpu))
            median = statistics.median(rates)
            click.echo(
                f"jobs={jobs}: median {median:.0f} lesions/s wall ({median / jobs:.0f} per process), "
                f"{statistics.median(cpu_rates):.0f} lesions per CPU-second; runs: "
                + ", ".join(f"{x:.0f}" for x in rates)
            )


def _cpu_seconds() -> float:
    """CPU time of this process and its finished worker processes."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    main()
