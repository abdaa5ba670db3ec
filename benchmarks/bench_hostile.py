"""Time and peak memory of one hostile row: many bookmarks in one sentence, one term repeated,
one long line without punctuation.

    python benchmarks/bench_hostile.py [--cases NAME ...] [--timeout 120] [--memory-gb 4]
                                       [--json OUT.json]

Each case runs in a fresh process (limited to --timeout seconds and --memory-gb of address
space, so that a quadratic run is stopped rather than swapping): it builds the default
Extractor (torch hidden from spaCy, as ``radminer extract`` does), mines one warm-up text,
then times ``extractor(text)`` plus the JSONL encoding of its rows (``JsonlEncoder``, the
CLI's bytes). Reported: seconds (extraction + encoding, start-up excluded; wall time, and the
process's CPU time, which other load on the machine sways less), peak RSS of the
process (start-up included: about 110 MB), output bytes, rows, mentions, and the warnings
the row raised. Target (issue 12): a 1 MB row of any shape in <= 5 s and <= 1 GB, output
linear in the input. Figures and the before / after table: benchmarks/README.md, "Hostile rows".
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MB = 1 << 20
#: Words of the line without punctuation: labels, composition parts, context triggers, clause words.
LINE_WORDS = (
    "liver", "mass", "nodule", "left", "right", "renal", "adrenal", "lung", "lymph", "node", "no", "possible",
    "likely", "hilar", "mediastinal", "and", "or", "with", "the", "of", "in", "upper", "lobe", "cyst",
    "lesion", "enlarged", "not", "seen", "2", "cm", "a", "hepatic", "steatosis", "adenopathy", "kidney",
    "spleen", "normal", "unremarkable", "versus", "effusion", "pleural", "other", "than",
)  # fmt: skip


def bookmarks(n: int) -> str:
    """``n`` bookmarks in one sentence."""
    return "nodule BOOKMARK, " * n


def repeated(size: int, unit: str = "liver mass ") -> str:
    return unit * (size // len(unit))


def line(size: int) -> str:
    """Random words of :data:`LINE_WORDS` (seeded), ``size`` characters, no punctuation."""
    rnd = random.Random(12)
    out: list[str] = []
    n = 0
    while n < size:
        word = rnd.choice(LINE_WORDS)
        out.append(word)
        n += len(word) + 1
    return " ".join(out)[:size]


CASES = {
    "bookmarks-100": lambda: bookmarks(100),
    "bookmarks-1000": lambda: bookmarks(1000),
    "bookmarks-10000": lambda: bookmarks(10000),
    "bookmarks-1MB": lambda: bookmarks(MB // len("nodule BOOKMARK, ")),
    "term-100KB": lambda: repeated(100_000),
    "term-1MB": lambda: repeated(MB),
    "line-100KB": lambda: line(100_000),
    "line-1MB": lambda: line(MB),
    "sentences-1MB": lambda: repeated(MB, "No liver mass. Left adrenal nodule BOOKMARK, likely adenoma. "),
    "glued-1MB": lambda: repeated(MB, "BOOKMARK"),  # one token holding 131,072 bookmarks
}
DEFAULT_CASES = ("bookmarks-100", "bookmarks-1000", "bookmarks-10000", "term-1MB", "line-1MB", "sentences-1MB")

_CHILD = r"""
import json, resource, sys, time, warnings
sys.modules["torch"] = None  # as radminer extract does: thinc would import torch
import spacy
del sys.modules["torch"]
sys.path.insert(0, sys.argv[2])
from bench_hostile import CASES
from radminer import Extractor
from radminer.io.writers import JsonlEncoder

extractor = Extractor(cache_size=0)
encode = JsonlEncoder()
encode("warm-up", extractor("Low density left adrenal nodule BOOKMARK, likely adenoma."))
text = CASES[sys.argv[1]]()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    start, cpu = time.perf_counter(), time.process_time()
    rows = extractor(text)
    count, out = encode("hostile", rows)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({
    "chars": len(text), "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    "output_mb": round((len(out) if out.isascii() else len(out.encode())) / 2**20, 2), "rows": count,
    "mentions": sum(len(r.mentions) for r in rows), "warnings": [str(w.message) for w in caught],
}))
"""


def run(case: str, *, timeout: float, memory_gb: float) -> dict[str, object]:
    """Mine case ``case`` in a fresh process; its figures, or why it was stopped."""
    limit = int(memory_gb * (1 << 30))

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    command = [sys.executable, "-c", _CHILD, case, str(Path(__file__).resolve().parent)]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, preexec_fn=limit_memory, check=False
        )
    except subprocess.TimeoutExpired:
        return {"case": case, "stopped": f"> {timeout:g} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        reason = f"> {memory_gb:g} GB" if "MemoryError" in done.stderr else last
        return {"case": case, "stopped": reason}
    return {"case": case, **json.loads(done.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", choices=sorted(CASES), default=list(DEFAULT_CASES))
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per case (default 120)")
    parser.add_argument("--memory-gb", type=float, default=4.0, help="address space per case (default 4)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    results = []
    head = ("case", "chars", "seconds", "CPU", "peak RSS", "output", "rows", "mentions")
    print("{:16} {:>9} {:>8} {:>7} {:>9} {:>10} {:>7} {:>9}  warnings".format(*head))
    for case in args.cases:
        result = run(case, timeout=args.timeout, memory_gb=args.memory_gb)
        results.append(result)
        if "stopped" in result:
            print(f"{case:16} stopped: {result['stopped']}", flush=True)
            continue
        warned = len(result["warnings"])  # type: ignore[arg-type]
        print(
            f"{case:16} {result['chars']:>9,} {result['seconds']:>7}s {result['cpu_seconds']:>6}s "
            f"{result['peak_rss_mb']:>6} MB "
            f"{result['output_mb']:>7} MB {result['rows']:>7,} {result['mentions']:>9,}  {warned}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
