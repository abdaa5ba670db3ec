"""lesion-audit on a synthetic DeepLesion with known label corruptions (benchmarks/README.md, "lesion-audit").

In stages, so that the text mining (spaCy, SimpleITK, owlready2) runs on a CPU machine and the
models on a GPU machine whose image lacks those packages (everything is kept in ``--work``)::

    PYTHONPATH=. python benchmarks/bench_audit.py data    --work W             # CPU: synth, extract, prepare
    PYTHONPATH=. python benchmarks/bench_audit.py folds   --work W --device cuda  # K fold models, held-out scores
    PYTHONPATH=. python benchmarks/bench_audit.py rank    --work W             # rankings, precision@k
    PYTHONPATH=. python benchmarks/bench_audit.py retrain --work W --device cuda  # AUC after fixing the top-k
    PYTHONPATH=. python benchmarks/bench_audit.py all     --work W             # everything, one machine

``data``: lesion-synth twice with one seed, clean and with ``--corrupt SHARE``, radminer extract on
both, lesion-prepare of the corrupted labels (the clean labels' matrices beside it), the truth
expanded to ancestors (``truth.json``) and the label errors each corruption created
(``corruptions.json``). The ``folds`` stage and later need neither spaCy nor owlready2 (pass
``RADMINER_CACHE_DIR`` with radminer's ontology cache where owlready2 is missing).

Measured (``rank``), for each ranking rule of :func:`lesion_model.evaluation.audit.find_suspects`:

- which corruptions count: one that creates at least one new label *error* among the labels the
  training uses (a positive or negative claim that contradicts the truth and differs from the clean
  mining); one that only moves a label to or from *uncertain* (masked in training: "Probable ...
  mass cyst") is left out, as is one whose change agrees with the truth;
- the claim classes of the ``claim_prior`` ranking, with their claims and estimated error rates;
- precision@k, k = the number of counted corruptions: the share of the top-k suspects that find a
  distinct corruption (same lesion, a label among the errors it created, or folded into the
  suspect); and the share of the top-k that are real label errors against the synthetic truth (a
  missing suspect whose label is true, a wrong suspect whose label is not), since the phraser
  already omits attributes (natural noise); both per corruption kind;
- ``retrain``: the AUC gain of fixing: the store's labels with the top-k suspects fixed (missing →
  positive, wrong → absent, the folded ancestors too), models trained on the original train split
  with the corrupted, the fixed and the clean (oracle) labels, the same settings and seeds; test
  mean AUC against the synthetic truth (labels with both classes on the test split).
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from lesion_model.data.store import PatchStore, StoreLabels, write_store
from lesion_model.evaluation.audit import RANKINGS, HeldOutScores, find_suspects, heldout_scores, write_fold_stores
from lesion_model.metrics import label_metrics, mean_auc

STATUS = ("positive", "uncertain", "negated")


def _claims(positive: list[str], uncertain: list[str], negated: list[str], labels: list[str]) -> dict[str, int | None]:
    """1 (positive), 0 (negated or absent) or None (uncertain: masked in training) per label."""
    return {x: 1 if x in positive else None if x in uncertain else 0 for x in labels}


def stage_data(args: argparse.Namespace) -> None:
    """CPU: synth (clean and corrupted), extract, prepare; truth, clean labels, corruption errors."""
    from lesion_model.data.labels import read_bookmark_map, read_radminer_jsonl
    from lesion_model.data.prepare import prepare_store, truth_labels
    from lesion_model.synth import SynthConfig, generate
    from radminer.cli import main as radminer_main
    from radminer.ontology import load_ontology

    work = args.work
    config = SynthConfig(patients=args.patients, image_size=args.image_size)
    clean = generate(work / "clean", config, seed=args.seed)
    synth = generate(work / "synth", config, seed=args.seed, corrupt=args.corrupt, corrupt_seed=args.seed)
    for name, root in (("labels.jsonl", synth), ("clean.jsonl", clean)):
        radminer_main.main(["extract", str(root / "reports.csv"), "-o", str(work / name)], standalone_mode=False)
    marks = read_bookmark_map(synth / "bookmarks.csv")
    table = read_radminer_jsonl(work / "labels.jsonl", marks)
    store = PatchStore.open(prepare_store(synth / "DL_info.csv", work / "store", labels=table, label_set="observed"))
    shutil.copy(synth / "bookmarks.csv", work / "bookmarks.csv")
    graph = load_ontology()
    truth = {k: sorted(s.positive) for k, s in truth_labels(synth / "truth.csv").by_lesion.items()}
    (work / "truth.json").write_text(json.dumps(truth) + "\n", encoding="utf-8")
    ancestors = {x: sorted(graph.ancestors(x)) if x in graph else [] for x in store.labels}
    (work / "ancestors.json").write_text(json.dumps(ancestors) + "\n", encoding="utf-8")
    clean_table = read_radminer_jsonl(work / "clean.jsonl", marks).by_lesion
    ids = store.index["lesion_id"].to_numpy()
    mats = {s: np.zeros((len(store), len(store.labels)), dtype=np.uint8) for s in STATUS}
    for r, lesion in enumerate(ids):
        seen = clean_table.get(lesion)
        for s in STATUS if seen is not None else ():
            for x in getattr(seen, s):
                if x in store.labels:
                    mats[s][r, store.labels.index(x)] = 1
    np.savez(work / "clean_labels.npz", **mats)  # type: ignore[arg-type]
    corrupted_table = table.by_lesion
    with (synth / "corruptions.csv").open(newline="") as handle:
        corruptions = list(csv.DictReader(handle))
    for c in corruptions:
        lesion, labels = c["lesion_id"], list(store.labels)
        before, after = clean_table[lesion], corrupted_table[lesion]
        a = _claims(sorted(before.positive), sorted(before.uncertain), sorted(before.negated), labels)
        b = _claims(sorted(after.positive), sorted(after.uncertain), sorted(after.negated), labels)
        true = set(truth[lesion])
        c["errors"] = sorted(x for x in labels if b[x] is not None and b[x] != a[x] and b[x] != (x in true))
        c["mined_changed"] = (before.positive, before.uncertain, before.negated) != (
            after.positive,
            after.uncertain,
            after.negated,
        )
        c["counted"] = bool(c["errors"])
    (work / "corruptions.json").write_text(json.dumps(corruptions, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({"lesions": len(store), "labels": len(store.labels), "corruptions": len(corruptions),
                      "counted": sum(c["counted"] for c in corruptions)}))  # fmt: skip


def _train(args: argparse.Namespace, data: Path, out: Path, seed: int) -> Path:
    from lesion_model.training import TrainConfig, train

    train(TrainConfig(
        data=str(data), out=str(out), width=args.width, hidden=args.hidden, epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, lr_step_epoch=max(1, round(args.epochs * 0.8)),
        downsample=args.downsample, seed=seed, device=args.device,
    ), overwrite=True)  # fmt: skip
    return out


def stage_folds(args: argparse.Namespace) -> None:
    """K fold models (each trained on K − 1 folds) and the held-out scores of every lesion."""
    work = args.work
    t0 = time.perf_counter()
    shutil.rmtree(work / "folds", ignore_errors=True)
    folds = write_fold_stores(work / "store", work / "folds", args.folds, seed=args.seed)
    runs = [_train(args, f, work / "runs" / f.name, args.seed) for f in folds]
    history = [json.loads((r / "history.json").read_text())[-1] for r in runs if (r / "history.json").exists()]
    scores = heldout_scores(runs, PatchStore.open(work / "store"), device=args.device)
    counts = [len(c) for c in scores.checkpoints]
    np.savez(work / "scores.npz", score=scores.score, probability=scores.probability,
             checkpoints=np.asarray([c[0] if c else -1 for c in scores.checkpoints]))  # fmt: skip
    info = {
        "machine": _machine(args.device),
        "settings": _settings(args),
        "fold_val_mean_auc": [h.get("val_mean_auc") for h in history],
        "scored_once": sum(n == 1 for n in counts),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    (work / "folds.json").write_text(json.dumps(info, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(info, indent=1))


def _machine(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        return f"{torch.cuda.get_device_name(0)}, torch {torch.__version__}"
    return f"{platform.machine()} CPU, Python {platform.python_version()}"


def _settings(args: argparse.Namespace) -> dict[str, Any]:
    keys = ("folds", "epochs", "width", "hidden", "batch_size", "lr", "downsample", "seed")
    return {k: getattr(args, k) for k in keys}


def _load_scores(work: Path) -> HeldOutScores:
    saved = np.load(work / "scores.npz")
    scored_by = [[int(c)] if c >= 0 else [] for c in saved["checkpoints"]]
    return HeldOutScores(saved["score"], saved["probability"], scored_by)


def evaluate_ranking(suspects: Any, corruptions: list[dict[str, Any]], truth: dict[str, list[str]]) -> dict[str, Any]:
    """precision@k against the counted corruptions and against all label errors, by kind."""
    counted = [c for c in corruptions if c["counted"]]
    k = len(counted)
    top = suspects.head(k)
    found: set[int] = set()
    real, real_by_kind = 0, {"missing": [0, 0], "wrong": [0, 0]}
    for s in top.itertuples(index=False):
        labels = {s.label, *filter(None, str(s.also or "").split(";"))}
        for i, c in enumerate(counted):
            if i not in found and c["lesion_id"] == s.lesion_id and labels & set(c["errors"]):
                found.add(i)
                break
        error = (s.label in truth[s.lesion_id]) == (s.kind == "missing")
        real += error
        real_by_kind[s.kind][0] += error
        real_by_kind[s.kind][1] += 1
    by_kind: dict[str, list[int]] = {}
    for i, c in enumerate(counted):
        by_kind.setdefault(c["kind"], []).append(int(i in found))
    return {
        "k": k,
        "suspects": len(suspects),
        "precision_at_k_corruptions": round(len(found) / k, 3) if k else None,
        "precision_at_k_real_errors": round(real / k, 3) if k else None,
        "corruptions_found_by_kind": {kind: f"{sum(v)}/{len(v)}" for kind, v in sorted(by_kind.items())},
        "top_k_by_suspect_kind": {kind: f"{v[0]} real errors of {v[1]}" for kind, v in real_by_kind.items()},
    }


def stage_rank(args: argparse.Namespace) -> None:
    """Every ranking rule on the saved held-out scores: suspects_<rule>.csv and precision@k."""
    from lesion_model.evaluation.audit import claim_priors, read_evidence

    work = args.work
    store = PatchStore.open(work / "store")
    scores = _load_scores(work)
    corruptions = json.loads((work / "corruptions.json").read_text())
    truth = json.loads((work / "truth.json").read_text())
    _, evidence = read_evidence(work / "labels.jsonl", work / "bookmarks.csv")
    kinds: dict[str, list[int]] = {}
    for c in corruptions:
        kinds.setdefault(c["kind"], [0, 0])
        kinds[c["kind"]][0] += c["counted"]
        kinds[c["kind"]][1] += 1
    result: dict[str, Any] = {
        "corruptions": len(corruptions),
        "counted_by_kind": {kind: f"{a} of {b}" for kind, (a, b) in sorted(kinds.items())},
        "not_counted": [
            {"lesion_id": c["lesion_id"], "kind": c["kind"], "corrupted": c["corrupted"]}
            for c in corruptions
            if not c["counted"]
        ],
        "rankings": {},
    }
    result["claim_priors"] = {
        name: {"claims": prior.claims, "error_rate": round(prior.error_rate, 5)}
        for name, prior in claim_priors(store, scores, evidence).items()
    }
    for ranking in args.rankings:
        suspects = find_suspects(store, scores, evidence, ranking=ranking)
        suspects.to_csv(work / f"suspects_{ranking}.csv", index=False)
        result["rankings"][ranking] = evaluate_ranking(suspects, corruptions, truth)
    (work / "rank.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


def _variant_store(store: PatchStore, mats: dict[str, np.ndarray], out: Path) -> Path:
    labels = StoreLabels("variant", store.labels, store.categories, "bench", mats["positive"], mats["uncertain"],
                         mats["negated"])  # fmt: skip
    shutil.rmtree(out, ignore_errors=True)
    return write_store(out, patch_chunks=[np.asarray(store.patches)], index=store.index, labels=labels,
                       dtype=store.meta["dtype"])  # fmt: skip


def fixed_labels(store: PatchStore, suspects: Any) -> dict[str, np.ndarray]:
    """The store's label matrices with ``suspects`` fixed (missing → positive, wrong → absent)."""
    mats = {"positive": store.positive.copy(), "uncertain": store.uncertain.copy(), "negated": store.negated.copy()}
    row_of = {lesion: i for i, lesion in enumerate(store.index["lesion_id"])}
    for s in suspects.itertuples(index=False):
        for label in [s.label, *filter(None, str(s.also or "").split(";"))]:
            r, c = row_of[s.lesion_id], store.labels.index(label)
            mats["positive"][r, c], mats["uncertain"][r, c], mats["negated"][r, c] = int(s.kind == "missing"), 0, 0
    return mats


def truth_auc(run: Path, store: PatchStore, truth: dict[str, list[str]], device: str) -> float:
    """Test mean AUC of a run against the synthetic truth."""
    from lesion_model.training import InputTransform, load_checkpoint, load_split, predict, resolve_device, store_window

    dev = resolve_device(device)
    loaded = load_checkpoint(run, device=dev)
    data = load_split(store, "test")
    transform = InputTransform(store_window(store, loaded.window), loaded.config.downsample)
    scores = predict(loaded.model, data, transform=transform, batch_size=64, device=dev)
    ids = store.index["lesion_id"].to_numpy()[data.rows]
    target = np.asarray([[label in truth[i] for label in store.labels] for i in ids])
    return float(mean_auc(label_metrics(target, scores, np.ones_like(target)).auc))


def stage_retrain(args: argparse.Namespace) -> None:
    """Models on the corrupted, the clean and each ranking's top-k-fixed labels; test AUC vs truth."""
    import pandas as pd

    work = args.work
    store = PatchStore.open(work / "store")
    truth = json.loads((work / "truth.json").read_text())
    k = sum(c["counted"] for c in json.loads((work / "corruptions.json").read_text()))
    variants: dict[str, dict[str, np.ndarray]] = {}
    for name in args.variants:
        if name == "corrupted":
            variants[name] = {"positive": store.positive, "uncertain": store.uncertain, "negated": store.negated}
        elif name == "clean":
            variants[name] = dict(np.load(work / "clean_labels.npz"))
        else:
            ranked = pd.read_csv(work / f"suspects_{name}.csv", keep_default_na=False, dtype={"lesion_id": str})
            variants[name] = fixed_labels(store, ranked.head(k))
    t0 = time.perf_counter()
    aucs: dict[str, list[float]] = {}
    for name, mats in variants.items():
        path = _variant_store(store, mats, work / "variants" / name)
        opened = PatchStore.open(path)
        for seed in range(args.seeds):
            run = _train(args, path, work / "runs" / f"{name}_{seed}", seed)
            aucs.setdefault(name, []).append(round(truth_auc(run, opened, truth, args.device), 4))
        _write_retrain(args, work, k, aucs, time.perf_counter() - t0)


def _write_retrain(args: argparse.Namespace, work: Path, k: int, aucs: dict[str, list[float]], seconds: float) -> None:
    base = aucs.get("corrupted")
    result = {
        "machine": _machine(args.device),
        "settings": {**_settings(args), "seeds": args.seeds, "k": k},
        "test_mean_auc_vs_truth": {
            name: {
                "per_seed": v,
                "mean": round(float(np.mean(v)), 4),
                **({"gain": round(float(np.mean(np.subtract(v, base))), 4)} if base and name != "corrupted" else {}),
            }
            for name, v in aucs.items()
        },
        "seconds": round(seconds, 1),
    }
    (work / "retrain.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("data", "folds", "rank", "retrain", "all"))
    parser.add_argument("--work", type=Path, required=True, help="Folder of the data, runs and results.")
    parser.add_argument("--patients", type=int, default=160)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--corrupt", type=float, default=0.1)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.02)
    parser.add_argument("--downsample", type=int, default=1)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=3, help="retrain: models per label variant.")
    parser.add_argument("--rankings", nargs="+", default=list(RANKINGS))
    parser.add_argument("--variants", nargs="+", default=["corrupted", "clean", *RANKINGS])
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    stages = ("data", "folds", "rank", "retrain") if args.stage == "all" else (args.stage,)
    for stage in stages:
        {"data": stage_data, "folds": stage_folds, "rank": stage_rank, "retrain": stage_retrain}[stage](args)


if __name__ == "__main__":
    sys.exit(main())
