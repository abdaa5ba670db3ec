"""Whole-process throughput of ``radminer extract`` against a spaCy tokenizer-only pass.

    python benchmarks/bench_extract.py [--reports CSV] [--min-reports 30000] [--jobs 1 2]
                                       [--repeat 3] [--json OUT.json] [--unique]

The Open-i reports (../shared/data/reports/openi_reports.csv; findings + impression) are
repeated until there are at least --min-reports, written to a temporary CSV (ids made
unique; with --unique each report also gets an accession number of its own, so that no text
repeats), and ``radminer extract CSV -o OUT.jsonl --text-column findings --text-column
impression --id-column uid --no-progress --jobs J`` is timed as a subprocess (wall time,
median of --repeat). "startup" is the same command on a one-report file: the fixed cost
(interpreter, imports, ontology, matcher) inside each whole-process figure. The baseline
is ``spacy.blank("en").tokenizer.pipe`` over the same joined texts, in this process.
Target: >= 10,000 reports/s with one process. The build measured is this interpreter's
radminer: run it with ``.venv-native/bin/python`` (``make native``) for the compiled one.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_REPORTS = REPO.parent / "shared" / "data" / "reports" / "openi_reports.csv"
COLUMNS = ("findings", "impression")
CLI = [sys.executable, "-c", "from radminer.cli import main; main()"]


def read_corpus(source: Path) -> list[tuple[str, ...]]:
    with source.open(encoding="utf-8", newline="") as handle:
        return [(row["uid"], *(row[c] for c in COLUMNS)) for row in csv.DictReader(handle)]


def write_corpus(rows: list[tuple[str, ...]], target: Path, *, n: int, unique: bool = False) -> list[str]:
    """Write the first ``n`` rows of ``rows`` repeated (ids made unique); return their joined texts.
    ``unique``: each row's impression ends with an accession number of its own ("Accession 100007."),
    so that no text repeats and every report brings a token never seen before, as in a real archive."""
    try:
        from radminer.io.reader import join_texts
    except ImportError:  # an older, flat layout on PYTHONPATH (a baseline worktree)
        from radminer.reader import join_texts  # type: ignore[no-redef]

    texts = []
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("uid", *COLUMNS))
        for i in range(n):
            uid, *cells = rows[i % len(rows)]
            if unique:
                cells[-1] = f"{cells[-1]} Accession {100_000 + i}."
            writer.writerow((f"{uid}-{i // len(rows)}", *cells))
            texts.append(join_texts(cells))
    return texts


def _build() -> str:
    """``compiled`` when the extraction modules are mypyc extensions (``make native``), else ``pure``."""
    import importlib.util

    for name in ("radminer.text.context.scopes", "radminer.context"):  # layered, then an older flat layout
        try:
            spec = importlib.util.find_spec(name)
        except ImportError:
            continue
        if spec is not None:
            break
    return "compiled" if spec is not None and str(spec.origin).endswith((".so", ".pyd")) else "pure"


def time_extract(csv_path: Path, out: Path, *, jobs: int, repeat: int) -> float:
    """Median wall seconds of the ``radminer extract`` subprocess."""
    command = [*CLI, "extract", str(csv_path), "-o", str(out), "--no-progress", "--jobs", str(jobs)]
    command += ["--id-column", "uid", *(x for c in COLUMNS for x in ("--text-column", c))]
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, cwd=csv_path.parent)  # not the repository: its sources would shadow
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def time_tokenizer(texts: list[str], *, repeat: int) -> float:
    """Median seconds of a spaCy blank-English tokenizer pass over ``texts``."""
    import spacy

    nlp = spacy.blank("en")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _doc in nlp.tokenizer.pipe(texts, batch_size=1000):
            pass
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=Path, default=DEFAULT_REPORTS)
    parser.add_argument("--min-reports", type=int, default=30_000)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument("--unique", action="store_true", help="No text repeats: an accession number per report.")
    args = parser.parse_args()
    if not args.reports.is_file():
        sys.exit(f"bench_extract: {args.reports} not found (reference data: ../shared/data)")

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        corpus = read_corpus(args.reports)
        copies = -(-args.min_reports // len(corpus))
        texts = write_corpus(corpus, work / "reports.csv", n=copies * len(corpus), unique=args.unique)
        write_corpus(corpus, work / "one.csv", n=1)
        n = len(texts)
        startup = time_extract(work / "one.csv", work / "one.jsonl", jobs=1, repeat=args.repeat)
        runs = {
            jobs: time_extract(work / "reports.csv", work / "out.jsonl", jobs=jobs, repeat=args.repeat)
            for jobs in args.jobs
        }
        rows = sum(1 for _ in (work / "out.jsonl").open(encoding="utf-8"))
        tokenizer = time_tokenizer(texts, repeat=args.repeat)

    result = {
        "radminer": _build(),
        "unique": args.unique,
        "reports": n,
        "output_rows": rows,
        "startup_s": round(startup, 3),
        "tokenizer_only": {"seconds": round(tokenizer, 3), "reports_per_s": round(n / tokenizer)},
        "extract": {
            str(jobs): {
                "seconds": round(seconds, 3),
                "reports_per_s": round(n / seconds),
                "reports_per_s_after_startup": round(n / max(seconds - startup, 1e-9)),
                "ratio_to_tokenizer": round((n / seconds) / (n / tokenizer), 3),
            }
            for jobs, seconds in runs.items()
        },
    }
    kind = f"{result['radminer']}{', unique texts' if args.unique else ''}"
    print(f"{n} reports ({rows} output rows), radminer {kind}; startup {startup:.2f} s;", end=" ")
    print(f"median of {args.repeat}")
    print(f"{'pass':<22}{'seconds':>9}{'reports/s':>11}{'vs tokenizer':>14}")
    print(f"{'tokenizer only':<22}{tokenizer:>9.2f}{n / tokenizer:>11.0f}{1:>14.3f}")
    for jobs, seconds in runs.items():
        print(f"{f'extract --jobs {jobs}':<22}{seconds:>9.2f}{n / seconds:>11.0f}{tokenizer / seconds:>14.3f}")
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
