"""Instructions per report of ``Extractor.pipe``, counted with callgrind (noise-free, whatever the load).

    python benchmarks/count_extract.py [--n 3851] [--passes 1] [--tree DIR] [--python PY]

Runs ``valgrind --tool=callgrind`` twice on this script's ``--run`` mode: once extracting the first
N Open-i reports (findings + impression joined as the command does) and once extracting none;
both set up the same way (imports, ontology, matcher) and first extract the last 500 reports, so
that what is built on first use is not counted, with PYTHONHASHSEED=0 (hash seeds move the
counts by about 2 %); prints (I_N - I_0) / N. ``--passes K`` counts the K-th pass over the same N
reports instead (the run extracting none makes K-1 passes): with K = 2, the steady state of a run
whose texts repeat, as ``bench_extract.py``'s corpus does (every token known, the text cache
hitting the repeated templated reports); the first pass also pays for learning new tokens.
``--tree`` puts another checkout first on PYTHONPATH (a baseline worktree, flat or layered
layout); ``--python`` picks the interpreter
(``.venv-native/bin/python`` for the compiled build).
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Reports extracted before counting, in both runs: the last ones of the file (the first N are counted).
WARM = 500
DEFAULT_REPORTS = REPO.parent / "shared" / "data" / "reports" / "openi_reports.csv"


def _run(reports: Path, n: int, passes: int, counted: bool) -> None:
    from radminer import Extractor

    try:
        from radminer.io.reader import join_texts
    except ImportError:  # an older, flat layout
        from radminer.reader import join_texts  # type: ignore[no-redef]

    with reports.open(encoding="utf-8", newline="") as handle:
        rows = [(row["findings"], row["impression"]) for row in csv.DictReader(handle)]
    warm = [join_texts(cells) for cells in rows[-WARM:]]
    texts = [join_texts(cells) for cells in rows[:n]]
    extractor = Extractor()
    list(extractor.pipe(warm))  # the lazy parts (token tables, rules built on first use) in both runs
    for _ in range(passes - 1):  # the passes before the counted one, in both runs
        for _ in extractor.pipe(texts):
            pass
    for _ in extractor.pipe(texts if counted else []):
        pass


def _count(python: str, reports: Path, n: int, passes: int, counted: bool, env: dict[str, str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            python,
            __file__,
            "--run",
            "--n",
            str(n),
            "--reports",
            str(reports),
            "--passes",
            str(passes),
            *(() if counted else ("--empty",)),
        ]
        done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True)
        match = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode or match is None:
            sys.exit(done.stderr[-3000:])
        return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    parser.add_argument("--n", type=int, default=3851)
    parser.add_argument("--passes", type=int, default=1, help="Count the last of this many passes.")
    parser.add_argument("--tree", type=Path, help="Checkout put first on PYTHONPATH.")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--empty", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        _run(args.reports, args.n, args.passes, counted=not args.empty)
        return
    env = dict(os.environ, PYTHONHASHSEED="0")
    if args.tree:
        env["PYTHONPATH"] = str(args.tree.resolve())
    # one plain run first, so that neither count holds the compiling of stale .pyc files
    subprocess.run([args.python, __file__, "--run", "--n", "1", "--reports", str(args.reports)], env=env, check=True)
    with ThreadPoolExecutor(2) as pool:  # the two counts side by side (counts do not depend on the load)
        full, empty = pool.map(
            lambda counted: _count(args.python, args.reports, args.n, args.passes, counted, env), (True, False)
        )
    print(
        f"{(full - empty) / args.n / 1e6:.4f} M instructions/report ({args.n} reports, pass {args.passes}; "
        f"I_N={full}, I_0={empty})"
    )


if __name__ == "__main__":
    main()
