"""Cold and warm load of a RadLex-sized OWL (41,575 classes), median of 5 fresh processes.

    python benchmarks/bench_ontology.py [--owl PATH] [--repeat 5]

Without --owl, the OWL is generated once from ../shared/data/radlex/radlex_terms_2014.csv
(see make_radlex_owl.py) into benchmarks/_work/. Cold: an empty cache directory, so
owlready2 parses the file. Warm: the cache written by a cold load is reused. Each
measurement is ``radminer.load_ontology(path)`` inside a new Python process (the import of
radminer is timed separately). Targets: cold ≤ 3 s, warm ≤ 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_radlex_owl import DEFAULT_TERMS, write_radlex_owl  # noqa: E402

PROBE = """
import json, sys, time, warnings
t0 = time.perf_counter()
import radminer
t1 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    graph = radminer.load_ontology(sys.argv[1])
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "labels": len(graph)}))
"""


def measure(owl: Path, cache: Path) -> dict[str, float]:
    env = {**os.environ, "RADMINER_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(owl)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--owl", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    owl = args.owl
    if owl is None:
        owl = HERE / "_work" / "radlex.owl"
        if not owl.is_file():
            owl.parent.mkdir(exist_ok=True)
            write_radlex_owl(DEFAULT_TERMS, owl)
    cold, warm = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            cache = Path(tmp) / f"cache{i}"
            cold.append(measure(owl, cache))
            warm.append(measure(owl, cache))
    result = {
        "owl": str(owl),
        "size_mb": round(owl.stat().st_size / 1e6, 1),
        "labels": cold[0]["labels"],
        "cold_load_s_median": round(statistics.median(r["load_s"] for r in cold), 3),
        "warm_load_s_median": round(statistics.median(r["load_s"] for r in warm), 3),
        "import_radminer_s_median": round(statistics.median(r["import_s"] for r in warm), 3),
        "cold_runs_s": [round(r["load_s"], 3) for r in cold],
        "warm_runs_s": [round(r["load_s"], 3) for r in warm],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
