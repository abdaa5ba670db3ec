"""What ``lesion-eval --checkpoint C --data STORE [--split test]`` does: metrics.json and plots.

``metrics.json`` holds ``mean_auc`` (over labels with both classes in the split), the mean AUC per
category (body part, type, attribute: Table 1's columns), the Table 2 labels, per-label AUC,
counts, F1-optimal thresholds chosen on the validation split (LesaNet's way) and the precision,
recall and F1 they give on the evaluated split, plus their macro means. Uncertain labels are left
out of every metric. ``--expand`` first raises each label's score to the highest score of its
descendants in the label set (a "lung nodule" prediction implies "lung" and "nodule").

Plots (PNG): ``roc.png`` (ROC curves of chosen labels) and ``category_auc.png``. Labels without
an AUC (no positive or no negative lesion in the split) are listed with the reason in
``metrics.json`` (``labels_without_auc``) and in a warning; without any label with an AUC, no
``roc.png`` is drawn. All outputs are written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._files import write_json
from ..data.store import PatchStore
from ..errors import ConfigError, DataError
from ..metrics import (
    best_f1_threshold,
    label_metrics,
    mean_auc,
    precision_recall_f1,
    roc_auc,
    roc_curve,
)
from ..training import InputTransform, LoadedModel, load_checkpoint, load_split, predict, resolve_device, store_window
from .figures import pyplot, save_figure

__all__ = [
    "CATEGORIES",
    "TABLE2_LABELS",
    "evaluate_checkpoint",
    "expand_scores",
    "format_table",
    "plot_category_auc",
    "plot_roc",
]

logger = logging.getLogger(__name__)

CATEGORIES = ("bodypart", "type", "attribute")
#: Labels reported one by one (the role of the seed paper's Table 2): the five labels of each
#: category mined most often from DeepLesion's reports (``num_detected`` of LesaNet's ontology,
#: restricted to its 171 training labels).
TABLE2_LABELS: dict[str, tuple[str, ...]] = {
    "bodypart": ("lymph node", "lung", "liver", "mediastinum", "pleura"),
    "type": ("mass", "nodule", "lymphadenopathy", "lung nodule", "cyst"),
    "attribute": ("hypoattenuation", "enhancing", "large", "calcified", "prominent"),
}


def expand_scores(scores: np.ndarray, labels: Sequence[str], graph: Any) -> np.ndarray:
    """Scores [N, K] with each label raised to the max over its descendants among ``labels``.

    ``graph`` is a :class:`radminer.ontology.graph.LabelGraph`; labels it does not know stay unchanged.
    """
    position = {label: i for i, label in enumerate(labels)}
    out = scores.copy()
    for label, i in position.items():
        if label not in graph:
            continue
        below = [position[d] for d in graph.descendants(label) if d in position]
        if below:
            out[:, i] = np.maximum(out[:, i], scores[:, below].max(axis=1))
    return out


def _nan_to_none(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _no_auc_reason(positives: int, negatives: int, split: str) -> str:
    if positives == 0 and negatives == 0:
        return f"no {split} lesion is labelled for it (all uncertain)"
    return f"no {'positive' if positives == 0 else 'negative'} {split} lesion"


def _report_missing_auc(without: dict[str, str], total: int, split: str) -> None:
    """One warning listing, per reason, the labels that have no AUC."""
    if not without:
        return
    by_reason: dict[str, list[str]] = {}
    for label, reason in without.items():
        by_reason.setdefault(reason, []).append(label)
    parts = [
        f"{reason}: {', '.join(labels[:8])}{f' and {len(labels) - 8} more' if len(labels) > 8 else ''}"
        for reason, labels in by_reason.items()
    ]
    logger.warning(
        "%d of %d labels have no AUC on the %s split (left out of the means): %s",
        len(without),
        total,
        split,
        "; ".join(parts),
    )


def _check_labels(loaded: LoadedModel, store: PatchStore) -> None:
    if tuple(store.labels) != loaded.labels:
        extra = sorted(set(store.labels) - set(loaded.labels))[:5]
        lacking = sorted(set(loaded.labels) - set(store.labels))[:5]
        raise DataError(
            f"{store.path}: its {len(store.labels)} labels differ from the checkpoint's "
            f"{len(loaded.labels)} (store only: {extra}; checkpoint only: {lacking}; "
            "or another order)"
        )


def evaluate_checkpoint(
    checkpoint: str | Path,
    data: str | Path,
    *,
    split: str = "test",
    out: str | Path | None = None,
    expand: bool = False,
    roc_labels: Sequence[str] | None = None,
    device: str = "auto",
    batch_size: int = 128,
) -> dict[str, Any]:
    """Evaluate a checkpoint on one split of a store; write metrics.json and plots to ``out``."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"--batch-size: expected an integer ≥ 1, found {batch_size!r}")
    dev = resolve_device(device)
    loaded = load_checkpoint(checkpoint, device=dev)
    store = PatchStore.open(data)
    _check_labels(loaded, store)
    transform = InputTransform(store_window(store, loaded.window), loaded.config.downsample, dev.type == "cuda")
    labels = loaded.labels
    evaluated = load_split(store, split)
    if len(evaluated) == 0:
        raise DataError(f"{store.path}: the {split} split has no labelled lesion: nothing to evaluate")
    scores = predict(loaded.model, evaluated, transform=transform, batch_size=batch_size, device=dev)
    val = load_split(store, "val")
    val_scores = predict(loaded.model, val, transform=transform, batch_size=batch_size, device=dev)
    if expand:
        from radminer.ontology import load_ontology

        graph = load_ontology()
        scores = expand_scores(scores, labels, graph)
        val_scores = expand_scores(val_scores, labels, graph)

    target, mask = evaluated.target.cpu().numpy() > 0, evaluated.mask.cpu().numpy() > 0
    val_target, val_mask = val.target.cpu().numpy() > 0, val.mask.cpu().numpy() > 0
    per_label = label_metrics(target, scores, mask)
    categories = np.asarray(loaded.categories)
    report_labels: dict[str, dict[str, Any]] = {}
    prf = []
    for c, label in enumerate(labels):
        threshold, val_f1 = best_f1_threshold(val_target[val_mask[:, c], c], val_scores[val_mask[:, c], c])
        keep = mask[:, c]
        precision, recall, f1 = precision_recall_f1(target[keep, c], scores[keep, c] >= threshold)
        if per_label.positives[c] > 0:
            prf.append((precision, recall, f1))
        report_labels[label] = {
            "category": str(categories[c]),
            "auc": _nan_to_none(per_label.auc[c]),
            "positives": int(per_label.positives[c]),
            "negatives": int(per_label.negatives[c]),
            "threshold": threshold,
            "threshold_source": "val" if val_target[val_mask[:, c], c].any() else "default",
            "val_f1": val_f1,
            "precision": precision,
            "recall": recall,
            "f1": f1,
        }
    without_auc = {
        label: _no_auc_reason(int(per_label.positives[c]), int(per_label.negatives[c]), split)
        for c, label in enumerate(labels)
        if math.isnan(per_label.auc[c])
    }
    _report_missing_auc(without_auc, len(labels), split)
    by_category = {cat: _nan_to_none(mean_auc(per_label.auc, categories == cat)) for cat in CATEGORIES}
    macro = np.mean(prf, axis=0) if prf else np.zeros(3)
    table2 = {
        cat: {label: report_labels[label]["auc"] for label in names if label in report_labels}
        for cat, names in TABLE2_LABELS.items()
    }
    result = {
        "mean_auc": _nan_to_none(mean_auc(per_label.auc)),
        "mean_auc_by_category": by_category,
        "labels_with_auc": int((~np.isnan(per_label.auc)).sum()),
        "labels_without_auc": without_auc,
        "macro": {"precision": float(macro[0]), "recall": float(macro[1]), "f1": float(macro[2])},
        "table2": table2,
        "split": split,
        "lesions": len(evaluated),
        "expanded": expand,
        "checkpoint": str(checkpoint),
        "data": str(data),
        "model": {
            "head": loaded.config.head,
            "loss": loaded.config.loss,
            "width": loaded.config.width,
            "epochs": int(loaded.checkpoint["epoch"]),
        },
        "labels": report_labels,
    }
    run_dir = Path(checkpoint) if Path(checkpoint).is_dir() else Path(checkpoint).parent
    out_dir = Path(out) if out is not None else run_dir / f"eval_{split}"
    chosen = _roc_choice(roc_labels, labels, without_auc, per_label.positives)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "metrics.json", result)
    if chosen:
        plot_roc(out_dir / "roc.png", target, scores, mask, labels, chosen)
    else:
        (out_dir / "roc.png").unlink(missing_ok=True)  # never leave an earlier run's curves beside these metrics
        logger.warning("no label has both classes on the %s split: roc.png is not drawn", split)
    plot_category_auc(out_dir / "category_auc.png", result)
    logger.info("wrote %s (mean AUC %s)", out_dir / "metrics.json", result["mean_auc"])
    return result


def _roc_choice(
    asked: Sequence[str] | None, labels: Sequence[str], without_auc: dict[str, str], positives: np.ndarray
) -> list[str]:
    """The asked labels that have an AUC, else the Table 2 labels with one, else the 6 most frequent."""
    defined = {label for label in labels if label not in without_auc}
    if asked:
        unknown = [x for x in asked if x not in labels]
        if unknown:
            raise DataError(f"--roc-label: {unknown} not among the model's labels")
        for label in asked:
            if label not in defined:
                logger.warning("--roc-label %r: no ROC curve (%s)", label, without_auc[label])
        return [x for x in asked if x in defined]
    table2 = [x for names in TABLE2_LABELS.values() for x in names if x in defined]
    if table2:
        return table2[:8]
    frequent = np.argsort(-positives, kind="stable")
    return [labels[i] for i in frequent if labels[i] in defined][:6]


def plot_roc(
    path: Path,
    target: np.ndarray,
    scores: np.ndarray,
    mask: np.ndarray,
    labels: Sequence[str],
    chosen: Sequence[str],
) -> None:
    """ROC curves of ``chosen`` labels (target/scores/mask [N, K]) into a PNG."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5), dpi=100)
    for label in chosen:
        c = list(labels).index(label)
        keep = mask[:, c]
        fpr, tpr = roc_curve(target[keep, c], scores[keep, c])
        auc = roc_auc(target[keep, c], scores[keep, c])
        ax.plot(fpr, tpr, label=f"{label} ({auc:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        xlim=(0, 1),
        ylim=(0, 1.01),
        title="ROC (AUC)",
    )
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def plot_category_auc(path: Path, result: dict[str, Any]) -> None:
    """Bar chart of the mean AUC overall and per category of a metrics.json dict."""
    plt = pyplot()
    names = ["overall", *CATEGORIES]
    values = [result["mean_auc"], *(result["mean_auc_by_category"][c] for c in CATEGORIES)]
    fig, ax = plt.subplots(figsize=(5, 3.2), dpi=100)
    bars = ax.bar(
        names,
        [0.0 if v is None else v for v in values],
        color=["#444444", "#1f77b4", "#ff7f0e", "#2ca02c"],
    )
    for bar, v in zip(bars, values, strict=True):
        ax.text(
            bar.get_x() + bar.get_width() / 2,
            (v or 0) + 0.01,
            "n/a" if v is None else f"{v:.3f}",
            ha="center",
            fontsize=8,
        )
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set(ylim=(0, 1.08), ylabel="mean AUC", title="Mean AUC per category")
    fig.tight_layout()
    save_figure(fig, path)


def format_table(rows: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Table 1-style text: one line per (name, metrics.json dict): mean AUC overall / categories."""
    header = f"{'method':<34} {'overall':>8} {'bodypart':>9} {'type':>7} {'attribute':>10}"

    def cell(value: float | None, width: int) -> str:
        return f"{'n/a':>{width}}" if value is None else f"{value:>{width}.4f}"

    lines = [header, "-" * len(header)]
    for name, m in rows:
        cats = m["mean_auc_by_category"]
        lines.append(
            f"{name:<34} {cell(m['mean_auc'], 8)} {cell(cats['bodypart'], 9)} "
            f"{cell(cats['type'], 7)} {cell(cats['attribute'], 10)}"
        )
    return "\n".join(lines)
