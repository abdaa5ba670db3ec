"""lesion-audit on a synthetic DeepLesion with known label corruptions (benchmarks/README.md, "lesion-audit").

    PYTHONPATH=. python benchmarks/bench_audit.py --out bench_audit.json            # the README's figures
    PYTHONPATH=. python benchmarks/bench_audit.py --patients 24 --epochs 2 --folds 2  # a quick check

Steps: lesion-synth twice with one seed, clean and with ``--corrupt SHARE`` (corruptions.csv
records what was corrupted) → radminer extract on both → lesion-prepare of the corrupted labels →
``write_fold_stores`` (K folds by patient) → K models, each trained on K − 1 folds → lesion-audit
with the K checkpoints (every lesion scored by the one model that never saw it).

Measured:

- precision@k, k = the number of corruptions: the share of the top-k suspects that find a distinct
  corruption (same lesion, a label equal to the corrupted one or related to it as ancestor or
  descendant); and, since the phraser already omits attributes (natural noise), the share of the
  top-k that are real label errors against the synthetic truth (a missing suspect whose label is
  true, a wrong suspect whose label is not);
- the AUC gain of fixing: the store's labels with the top-k suspects fixed (missing → positive,
  wrong → absent, the folded ancestors too), one model trained on the original train split with
  the corrupted and one with the fixed labels, the same settings; test mean AUC of each against
  the synthetic truth (labels expanded to their ancestors; labels with both classes on the test
  split).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from lesion_model.data.labels import read_bookmark_map, read_radminer_jsonl
from lesion_model.data.prepare import prepare_store, truth_labels
from lesion_model.data.store import PatchStore, StoreLabels, write_store
from lesion_model.evaluation.audit import audit, write_fold_stores
from lesion_model.metrics import label_metrics, mean_auc
from lesion_model.synth import SynthConfig, generate
from lesion_model.training import (
    InputTransform,
    TrainConfig,
    load_checkpoint,
    load_split,
    predict,
    resolve_device,
    store_window,
    train,
)


def extract(reports: Path, out: Path) -> Path:
    from radminer.cli import main

    main.main(["extract", str(reports), "-o", str(out)], standalone_mode=False)
    return out


def effective(clean: Path, corrupted: Path, bookmarks: Path) -> set[str]:
    """Lesion ids whose mined labels (any status) the corruption changed."""
    marks = read_bookmark_map(bookmarks)
    a, b = (read_radminer_jsonl(p, marks).by_lesion for p in (clean, corrupted))
    return {k for k in a if a[k] != b.get(k)}


def related(graph: Any, x: str, y: str) -> bool:
    return x == y or (x in graph and y in graph and (x in graph.ancestors(y) or y in graph.ancestors(x)))


def fixed_store(store: PatchStore, suspects: Any, out: Path) -> Path:
    """The store with the labels of ``suspects`` fixed (missing → positive, wrong → absent)."""
    mats = {name: m.copy() for name, m in (("p", store.positive), ("u", store.uncertain), ("n", store.negated))}
    row_of = {lesion: i for i, lesion in enumerate(store.index["lesion_id"])}
    for s in suspects.itertuples(index=False):
        for label in [s.label, *filter(None, str(s.also or "").split(";"))]:
            r, c = row_of[s.lesion_id], store.labels.index(label)
            mats["p"][r, c], mats["u"][r, c], mats["n"][r, c] = int(s.kind == "missing"), 0, 0
    labels = StoreLabels("fixed", store.labels, store.categories, "audit-fixed", mats["p"], mats["u"], mats["n"])
    return write_store(out, patch_chunks=[np.asarray(store.patches)], index=store.index, labels=labels)


def truth_auc(run: Path, store_path: Path, truth: dict[str, frozenset[str]], device: str) -> float:
    """Test mean AUC of a run against the synthetic truth."""
    dev = resolve_device(device)
    loaded = load_checkpoint(run, device=dev)
    store = PatchStore.open(store_path)
    data = load_split(store, "test")
    transform = InputTransform(store_window(store, loaded.window), loaded.config.downsample)
    scores = predict(loaded.model, data, transform=transform, batch_size=64, device=dev)
    ids = store.index["lesion_id"].to_numpy()[data.rows]
    target = np.asarray([[label in truth[i] for label in store.labels] for i in ids])
    return float(mean_auc(label_metrics(target, scores, np.ones_like(target)).auc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--corrupt", type=float, default=0.1)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--downsample", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="Keep the data and runs here (default: a temporary folder).")
    parser.add_argument("--out", type=Path, help="Write the JSON summary here.")
    args = parser.parse_args()
    from radminer.ontology import load_ontology

    graph = load_ontology()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        config = SynthConfig(patients=args.patients, image_size=args.image_size)
        clean = generate(work / "clean", config, seed=args.seed)
        synth = generate(work / "synth", config, seed=args.seed, corrupt=args.corrupt, corrupt_seed=args.seed)
        labels = extract(synth / "reports.csv", work / "labels.jsonl")
        changed = effective(extract(clean / "reports.csv", work / "clean.jsonl"), labels, synth / "bookmarks.csv")
        table = read_radminer_jsonl(labels, read_bookmark_map(synth / "bookmarks.csv"))
        store = prepare_store(synth / "DL_info.csv", work / "store", labels=table, label_set="observed")

        def fit(data: Path, out: Path) -> Path:
            train(TrainConfig(
                data=str(data), out=str(out), width=args.width, hidden=64, epochs=args.epochs, batch_size=32,
                lr=0.02, lr_step_epoch=max(1, args.epochs - 2), downsample=args.downsample, seed=args.seed,
                device=args.device,
            ), overwrite=True)  # fmt: skip
            return out

        t0 = time.perf_counter()
        folds = write_fold_stores(store, work / "folds", args.folds, seed=args.seed)
        runs = [fit(f, work / "runs" / f.name) for f in folds]
        suspects = audit(runs, store, work / "audit", labels=labels, bookmarks=synth / "bookmarks.csv",
                         device=args.device)  # fmt: skip
        audit_seconds = time.perf_counter() - t0
        with (synth / "corruptions.csv").open(newline="") as handle:
            corruptions = list(csv.DictReader(handle))
        k = len(corruptions)
        truth = {key: s.positive for key, s in truth_labels(synth / "truth.csv").by_lesion.items()}
        top = suspects.head(k)
        found: set[int] = set()
        real = 0
        for s in top.itertuples(index=False):
            for i, c in enumerate(corruptions):
                if i not in found and c["lesion_id"] == s.lesion_id and related(graph, c["label"], s.label):
                    found.add(i)
                    break
            real += (s.label in truth[s.lesion_id]) == (s.kind == "missing")
        by_kind: dict[str, list[int]] = {}
        for i, c in enumerate(corruptions):
            by_kind.setdefault(c["kind"], []).append(int(i in found))

        fixed = fixed_store(PatchStore.open(store), top, work / "store_fixed")
        auc_noisy = truth_auc(fit(store, work / "runs" / "noisy"), store, truth, args.device)
        auc_fixed = truth_auc(fit(fixed, work / "runs" / "fixed"), fixed, truth, args.device)
        opened = PatchStore.open(store)
        result = {
            "machine": f"{platform.machine()} CPU, {platform.python_version()}"
            if args.device == "cpu"
            else args.device,
            "settings": {k2: str(v) if isinstance(v, Path) else v for k2, v in vars(args).items()},
            "lesions": len(opened),
            "labels": len(opened.labels),
            "corruptions": k,
            "corruptions_changing_mined_labels": len(changed & {c["lesion_id"] for c in corruptions}),
            "suspects": len(suspects),
            "precision_at_k_corruptions": len(found) / k if k else None,
            "precision_at_k_real_errors": real / k if k else None,
            "recall_by_kind": {kind: round(sum(v) / len(v), 3) for kind, v in by_kind.items()},
            "test_mean_auc_vs_truth": {
                "corrupted_labels": auc_noisy,
                "top_k_fixed": auc_fixed,
                "gain": auc_fixed - auc_noisy,
            },
            "seconds": {
                "folds_train_and_audit": round(audit_seconds, 1),
                "total": round(time.perf_counter() - started, 1),
            },
        }
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
