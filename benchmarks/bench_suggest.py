"""Whole-process throughput of ``radminer suggest``.

    python benchmarks/bench_suggest.py [--reports CSV] [--min-reports 30000] [--repeat 5] [--json OUT.json]

The Open-i reports (findings + impression) are repeated until there are at least
--min-reports, written to a temporary CSV as for bench_extract.py, and ``radminer suggest CSV
-o OUT.csv --text-column findings --text-column impression --id-column uid --no-progress`` is
timed as a subprocess (wall time; each round's figure and the median). "startup" is the same
command on a one-report file (interpreter, imports, ontology, matcher, proposer); reports/s is
given for the whole process and for the part after the startup. Target: >= 5,000 reports/s.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_extract import CLI, DEFAULT_REPORTS, read_corpus, write_corpus


def timed(csv_path: Path, out: Path) -> float:
    """Wall seconds of one ``radminer suggest`` run on ``csv_path``."""
    command = [*CLI, "suggest", str(csv_path), "-o", str(out), "--text-column", "findings"]
    command += ["--text-column", "impression", "--id-column", "uid", "--no-progress"]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    parser.add_argument("--min-reports", type=int, default=30_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = read_corpus(args.reports)
    n = max(args.min_reports, len(rows))
    with tempfile.TemporaryDirectory() as tmp:
        corpus, one = Path(tmp) / "reports.csv", Path(tmp) / "one.csv"
        write_corpus(rows, corpus, n=n)
        write_corpus(rows, one, n=1)
        startup = statistics.median(timed(one, Path(tmp) / "one.out.csv") for _ in range(args.repeat))
        rounds = [timed(corpus, Path(tmp) / "out.csv") for _ in range(args.repeat)]
    wall = statistics.median(rounds)
    result = {
        "reports": n,
        "rounds_s": [round(r, 3) for r in rounds],
        "median_s": round(wall, 3),
        "startup_s": round(startup, 3),
        "reports_per_s": round(n / wall),
        "reports_per_s_after_startup": round(n / (wall - startup)),
        "rounds_reports_per_s": [round(n / r) for r in rounds],
    }
    json.dump(result, sys.stdout, indent=2)
    print()
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
