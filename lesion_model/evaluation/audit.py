"""Label-noise audit: ``lesion-audit --checkpoint RUN --data STORE [--labels labels.jsonl] -o audit/``.

Lists the (lesion, label) pairs whose mined label the model most likely contradicts, for review:

- **missing**: the label is mined absent or negated, but the model finds it present (a body part
  the sentence never names, a type under a wrong negation);
- **wrong**: the label is mined positive, but the model finds it absent (a wrong type, a finding
  of another lesion). Uncertain labels make no claim and are never suspects.

**Held out only.** A lesion is scored only by checkpoints that did not train on it: the lesions
of a checkpoint's training split (read from the store it was trained on, ``config.data``, by
lesion id) are never scored by it. One ordinary run thus audits the val and test lesions; K runs
on the K fold stores of :func:`write_fold_stores` (``lesion-folds``) audit every lesion once.

**Score.** p is the held-out sigmoid score corrected for
the class-balanced loss: the weighted BCE (w_pos ∝ 1/N_pos, w_neg ∝ 1/N_neg) moves the optimal
logit by log(N_neg/N_pos), so log(w_neg/w_pos) is added back to each logit, giving the label's own
prior again (a plain ``bce`` run is left as it is). Scores of several held-out checkpoints are
averaged. A pair is listed when p of the label opposite to the mined one (p for a missing
suspect, 1 − p for a wrong one) is ≥ ``min_suspicion``; it is ranked by ``ranking``. The image's
evidence (``evidence``) is the log Bayes factor against the mined label, logit(q) − logit(prior)
for a missing suspect and its negative for a wrong one, where q is p calibrated per label (Platt
scaling of the held-out scores against the mined claims of all audited lesions) and prior the
label's mined share, so that a label the held-out models cannot tell apart (flat calibration,
q ≈ prior) carries no suspicion. The default (``claim_prior``) adds the log prior odds that the
claim is wrong, per claim class (:func:`claim_classes`: its mined status and category, or a known
text-mining failure: a lesion that names no body part, two stacked types, a type negated in the
lesion's own sentence), each class's error rate estimated from the evidence of its own claims
(empirical Bayes): the suspicion is the posterior log-odds of an error. Within one lesion and
kind, a suspect whose descendant label is also a suspect (abdomen under liver) is folded into that
descendant (column ``also``): one fix fixes both, and the row is ranked by the strongest
suspicion it holds.

Outputs, written atomically: ``audit.csv`` (every pair with a suspicion ≥ ``min_suspicion``,
ranked) and ``audit.html`` (one self-contained page: the top suspects with the patch and its box
as an embedded PNG, the top-5 probabilities, the sentence with the mention highlighted).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from radminer.files import atomic_output

from ..data.labels import LabelTable, lesion_key, read_bookmark_map, read_radminer_jsonl
from ..data.store import SPLITS, PatchStore
from ..errors import DataError

__all__ = [
    "AUDIT_COLUMNS",
    "NEGATED_TYPE_IN_SENTENCE",
    "NO_BODYPART",
    "RANKINGS",
    "STACKED_TYPES",
    "ClaimPrior",
    "Evidence",
    "HeldOutScores",
    "LabelFit",
    "audit",
    "claim_classes",
    "claim_priors",
    "find_suspects",
    "heldout_scores",
    "label_fits",
    "platt",
    "read_evidence",
    "write_audit_csv",
    "write_audit_html",
    "write_fold_stores",
]

logger = logging.getLogger(__name__)

AUDIT_COLUMNS = (
    "rank",
    "kind",
    "suspicion",
    "lesion_id",
    "label",
    "category",
    "mined_status",
    "claim_class",
    "probability",
    "score",
    "also",
    "split",
    "checkpoints",
    "report_id",
    "bookmark",
    "sentence",
    "sentence_start",
    "mention_text",
    "mention_start",
    "mention_end",
    "mention_status",
    "mention_trigger",
    "section",
)
#: The ranking rules of :func:`find_suspects` (``--ranking``; docs/audit.md, "Ranking"):
#: ``claim_prior`` (default) the posterior log-odds of an error, the ``evidence`` plus the log prior
#: odds of the claim's class (:func:`claim_classes`) estimated from the audited claims themselves;
#: ``evidence`` the log Bayes factor of the per-label calibrated held-out score against the mined
#: label; ``posterior`` the prior-corrected probability of the opposite label; ``auc_weighted``
#: that probability times the label's held-out informativeness 2·AUC − 1.
RANKINGS = ("claim_prior", "evidence", "posterior", "auc_weighted")
#: The claim classes of known text-mining failures (:func:`claim_classes`); every other claim's
#: class is its mined status and its label's category ("absent/attribute").
NO_BODYPART = "no body part named"
STACKED_TYPES = "stacked types"
NEGATED_TYPE_IN_SENTENCE = "type negated in its sentence"
_OPPOSITE = {"absent": "missing", "negated": "missing", "positive": "wrong"}
#: Display window of the patches in audit.html (HU), as lesion-annotate's figure.
_DISPLAY_WINDOW = (-175.0, 275.0)


@dataclass(frozen=True)
class Evidence:
    """What radminer saw of one lesion: its sentence and mentions (offsets in the report)."""

    report: str
    bookmark: int | None
    sentence: str
    sentence_start: int | None
    mentions: tuple[Mapping[str, Any], ...]


def _sentence_start(sentence: str, mentions: Sequence[Mapping[str, Any]]) -> int | None:
    """The report offset of ``sentence``: the one that puts every mention inside it on its text."""
    inside = [m for m in mentions if m["text"] and m["text"] in sentence]
    if not inside:
        return None
    first = inside[0]
    pos = sentence.find(first["text"])
    while pos >= 0:
        start = first["start"] - pos
        if all(sentence[m["start"] - start : m["end"] - start] == m["text"] for m in inside):
            return start
        pos = sentence.find(first["text"], pos + 1)
    return None


def _mentions(obj: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any], ...]:
    value = obj.get("mentions", [])
    ok = isinstance(value, list) and all(
        isinstance(m, dict)
        and isinstance(m.get("label"), str)
        and isinstance(m.get("text"), str)
        and isinstance(m.get("status"), str)
        and all(isinstance(m.get(k), int) and not isinstance(m.get(k), bool) for k in ("start", "end"))
        for m in value
    )
    if not ok:
        raise DataError(f"{where}: field 'mentions': expected a list of objects with label, text, start, end, status")
    return tuple(value)


def read_evidence(path: Path, bookmarks: Path | None = None) -> tuple[LabelTable, dict[str, Evidence]]:
    """radminer's JSONL (validated as lesion-prepare reads it) and each lesion's sentence and mentions."""
    bookmark_map = read_bookmark_map(bookmarks) if bookmarks else None
    table = read_radminer_jsonl(path, bookmark_map)
    evidence: dict[str, Evidence] = {}
    lines = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8").splitlines()
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {n}"
        obj = json.loads(line)
        report, bookmark = str(obj["id"]), obj.get("bookmark")
        sentence = obj.get("sentence") if isinstance(obj.get("sentence"), str) else ""
        mentions = _mentions(obj, where)
        key = lesion_key(report, bookmark, bookmark_map, where)
        evidence[key] = Evidence(report, bookmark, sentence, _sentence_start(sentence, mentions), mentions)
    return table, evidence


def _check_labels_match(store: PatchStore, table: LabelTable) -> None:
    """The store must hold these labels: every labelled lesion found, with the same positives."""
    rows = np.flatnonzero(_labelled(store))
    ids = store.index["lesion_id"].to_numpy()
    found = [r for r in rows if ids[r] in table.by_lesion]
    if not found:
        raise DataError(
            f"{table.path}: none of its lesions is in {store.path} (label keys look like "
            f"{next(iter(table.by_lesion))!r}, store lesion ids like {ids[rows[0]] if len(rows) else ''!r}; "
            "pass the --bookmarks the store was prepared with)"
        )
    column = {label: k for k, label in enumerate(store.labels)}
    differ = []
    for r in found:
        mined = {column[x] for x in table.by_lesion[ids[r]].positive if x in column}
        if mined != set(np.flatnonzero(store.positive[r])):
            differ.append(ids[r])
    missing = len(rows) - len(found)
    if differ or missing:
        raise DataError(
            f"{table.path}: does not match {store.path}: {missing} labelled lesion(s) missing, "
            f"{len(differ)} with other positive labels (first: {(differ or ['-'])[0]}); "
            "was the store prepared from another labels file?"
        )


def _labelled(store: PatchStore) -> np.ndarray:
    if "has_labels" in store.index.columns:
        return store.index["has_labels"].to_numpy() != 0
    return np.ones(len(store), dtype=bool)


@dataclass(frozen=True)
class HeldOutScores:
    """Held-out scores of a store's lesions: ``score`` the mean sigmoid, ``probability`` the mean
    prior-corrected probability (float [N, K], NaN where no checkpoint may score the lesion) and
    ``checkpoints`` the indices of the checkpoints that scored each lesion."""

    score: np.ndarray
    probability: np.ndarray
    checkpoints: list[list[int]]


def _trained_on(checkpoint: str | Path, config_data: str) -> set[str]:
    """The lesion ids of the training split of the store a checkpoint was trained on."""
    try:
        trained = PatchStore.open(config_data)
    except DataError as exc:
        raise DataError(
            f"{checkpoint}: cannot tell which lesions it was trained on (its store: {exc}); "
            "lesion-audit scores a lesion only with checkpoints that did not train on it"
        ) from None
    return set(trained.index["lesion_id"].to_numpy()[trained.split_indices("train")])


def _prior_offset(loaded: Any) -> np.ndarray:
    """log(w_neg / w_pos) per label for a class-balanced loss: adding it to a logit gives back the prior."""
    weights = loaded.checkpoint.get("class_weights")
    k = len(loaded.labels)
    if loaded.config.loss == "bce" or not weights:
        return np.zeros(k)
    return np.log(np.asarray(weights["negative"], dtype=float) / np.asarray(weights["positive"], dtype=float))


def heldout_scores(
    checkpoints: Sequence[str | Path], store: PatchStore, *, device: str = "auto", batch_size: int = 128
) -> HeldOutScores:
    """Score every lesion of ``store`` with each checkpoint that did not train on it."""
    import torch

    from ..training import InputTransform, SplitData, load_checkpoint, predict, resolve_device, store_window
    from .evaluate import _check_labels

    dev = resolve_device(device)
    n, k = len(store), len(store.labels)
    score_sum, prob_sum, count = np.zeros((n, k)), np.zeros((n, k)), np.zeros(n)
    scored_by: list[list[int]] = [[] for _ in range(n)]
    ids = store.index["lesion_id"].to_numpy()
    for c, path in enumerate(checkpoints):
        loaded = load_checkpoint(path, device=dev)
        _check_labels(loaded, store)
        trained = _trained_on(path, loaded.config.data)
        rows = np.asarray([i for i in range(n) if ids[i] not in trained], dtype=np.int64)
        logger.info("%s: scoring %d of %d lesions (the others are in its training split)", path, len(rows), n)
        if not len(rows):
            continue
        boxes = store.index.loc[rows, ["x1", "y1", "x2", "y2"]].to_numpy(dtype=np.float32)
        empty = torch.zeros((len(rows), k))
        patches = torch.from_numpy(np.ascontiguousarray(store.patches[rows]))
        data = SplitData(patches, torch.from_numpy(boxes), empty, empty, rows)
        transform = InputTransform(store_window(store, loaded.window), loaded.config.downsample)
        scores = predict(loaded.model, data, transform=transform, batch_size=batch_size, device=dev).astype(float)
        clipped = np.clip(scores, 1e-7, 1 - 1e-7)
        logits = np.log(clipped / (1 - clipped)) + _prior_offset(loaded)
        score_sum[rows] += scores
        prob_sum[rows] += 1 / (1 + np.exp(-logits))
        count[rows] += 1
        for r in rows:
            scored_by[r].append(c)
    with np.errstate(invalid="ignore", divide="ignore"):
        return HeldOutScores(score_sum / count[:, None], prob_sum / count[:, None], scored_by)


def _statuses(store: PatchStore) -> np.ndarray:
    """The mined status of every (lesion, label): positive, uncertain, negated or absent."""
    status = np.full(store.positive.shape, "absent", dtype=object)
    status[store.negated > 0] = "negated"
    status[store.uncertain > 0] = "uncertain"
    status[store.positive > 0] = "positive"
    return status


@dataclass(frozen=True)
class LabelFit:
    """How well the held-out scores tell a label apart, from the audited lesions' mined claims
    (positive = 1, absent or negated = 0; uncertain left out): the counts, the held-out AUC, the
    mined prior and Platt's calibration q = sigmoid(a · logit(p) + b) (a ≥ 0)."""

    positives: int
    negatives: int
    auc: float
    prior: float
    a: float
    b: float


def _logit(p: np.ndarray) -> np.ndarray:
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return np.asarray(np.log(clipped / (1 - clipped)))


def platt(z: np.ndarray, y: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """Platt scaling (1999) of logits ``z`` to the 0/1 claims ``y``: (a, b) of sigmoid(a z + b),
    fitted by Newton's method on Platt's smoothed targets (N₊ + 1)/(N₊ + 2) and 1/(N₋ + 2), which
    keep a label with few positives from getting a steep, overconfident fit; a is held ≥ 0 (a model
    that ranks a label backwards carries no evidence about it)."""
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    t = np.where(y, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    prior = (n_pos + 1) / (n_pos + n_neg + 2)
    a, b = 0.0, float(np.log(prior / (1 - prior)))
    x = np.stack([np.asarray(z, dtype=float), np.ones(len(t))], axis=1)

    def loss(w: np.ndarray) -> float:
        u = x @ w
        return float(np.sum(np.logaddexp(0, u) - t * u))

    w = np.array([a, b])
    for _ in range(iterations):
        q = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (q - t)
        hessian = (x * (q * (1 - q))[:, None]).T @ x + 1e-6 * np.eye(2)
        step, scale, before = np.linalg.solve(hessian, gradient), 1.0, loss(w)
        while scale > 1e-6 and loss(w - scale * step) > before:  # backtracking: Newton alone can overshoot
            scale /= 2
        w = w - scale * step
        if np.abs(scale * step).max() < 1e-9:
            break
    a, b = float(w[0]), float(w[1])
    if a < 0:
        return 0.0, float(np.log(prior / (1 - prior)))
    return a, b


def _claims(store: PatchStore, scores: HeldOutScores, status: np.ndarray) -> np.ndarray:
    """The pairs that make a claim: every label not mined uncertain of the labelled, scored lesions."""
    rows = _labelled(store) & ~np.isnan(scores.probability).any(axis=1)
    return np.asarray(rows[:, None] & (status != "uncertain"))


def label_fits(store: PatchStore, scores: HeldOutScores, status: np.ndarray | None = None) -> list[LabelFit]:
    """:class:`LabelFit` of every label over the labelled, scored lesions (every score held out)."""
    from ..metrics import roc_auc

    status = _statuses(store) if status is None else status
    claims = _claims(store, scores, status)
    fits = []
    for c in range(len(store.labels)):
        claim = claims[:, c]
        y = status[claim, c] == "positive"
        p = scores.probability[claim, c]
        n_pos, n_neg = int(y.sum()), int((~y).sum())
        a, b = platt(_logit(p), y) if len(y) else (0.0, 0.0)
        prior = (n_pos + 1) / (n_pos + n_neg + 2)
        fits.append(LabelFit(n_pos, n_neg, float(roc_auc(y, p)) if n_pos and n_neg else float("nan"), prior, a, b))
    return fits


def _log_factor(store: PatchStore, scores: HeldOutScores, status: np.ndarray) -> np.ndarray:
    """The log Bayes factor of every pair's held-out score for an error of its mined claim."""
    fits = label_fits(store, scores, status)
    a = np.array([f.a for f in fits])
    b = np.array([f.b for f in fits])
    prior = np.array([f.prior for f in fits])
    log_factor = a[None, :] * _logit(scores.probability) + b[None, :] - np.log(prior / (1 - prior))[None, :]
    return np.asarray(np.where(status == "positive", -log_factor, log_factor))


def _in_sentence(seen: Evidence, mention: Mapping[str, Any]) -> bool:
    """Whether ``mention`` lies inside the lesion's own sentence (not in a header or another sentence)."""
    start = seen.sentence_start
    return start is not None and start <= mention["start"] and mention["end"] <= start + len(seen.sentence)


def claim_classes(
    store: PatchStore, status: np.ndarray, evidence: Mapping[str, Evidence] | None = None, graph: Any = None
) -> np.ndarray:
    """The class of every (lesion, label) claim (str [N, K]) for the ``claim_prior`` ranking: one of
    three known text-mining failures, else ``STATUS/CATEGORY`` (mined status, the label's category).

    - :data:`NO_BODYPART`: a body part mined absent or negated for a lesion that names (positive or
      uncertain) no body part at all: every lesion is somewhere, so one of them is missing;
    - :data:`STACKED_TYPES`: a type mined positive for a lesion that names two types that no other
      named type generalises ("mass nodule", not "lung mass" with "mass"): a lesion has one type;
    - :data:`NEGATED_TYPE_IN_SENTENCE`: a type mined negated by a mention inside the lesion's own
      sentence (needs ``evidence``): the lesion was measured there, so a lesion type negated in
      its sentence is usually a scope error ("lesion ..., without nodule").

    ``status``: the mined status of every pair (positive, uncertain, negated, absent); ``graph``:
    the label graph (default: radminer's shipped ontology)."""
    graph = _ontology(graph)
    category = np.asarray(store.categories, dtype=str)
    classes = np.empty(status.shape, dtype=object)
    for mined in ("positive", "uncertain", "negated", "absent"):
        is_mined = status == mined
        for name in set(category.tolist()):
            classes[is_mined & (category == name)[None, :]] = f"{mined}/{name}"
    bodypart, is_type = np.asarray(category == "bodypart"), np.asarray(category == "type")
    named = np.asarray((store.positive > 0) | (store.uncertain > 0))
    missing = np.isin(status, ("absent", "negated"))
    nameless = np.asarray(~named[:, bodypart].any(axis=1))
    classes[nameless[:, None] & bodypart[None, :] & missing] = NO_BODYPART
    stacked = np.zeros(len(store), dtype=bool)
    for r in np.flatnonzero((named & is_type[None, :]).sum(axis=1) >= 2):
        types = {store.labels[c] for c in np.flatnonzero(named[r] & is_type)}
        stacked[r] = sum(not _ancestors(graph, t) & types for t in types) >= 2
    classes[stacked[:, None] & is_type[None, :] & (status == "positive")] = STACKED_TYPES
    ids = store.index["lesion_id"].to_numpy()
    for r, c in zip(*np.nonzero((status == "negated") & is_type[None, :]), strict=True):
        seen = (evidence or {}).get(ids[r])
        if seen is not None and any(
            m["status"] == "negated" and _in_sentence(seen, m)
            for m in _mention_for(store.labels[c], seen.mentions, graph)
        ):
            classes[r, c] = NEGATED_TYPE_IN_SENTENCE
    return classes


@dataclass(frozen=True)
class ClaimPrior:
    """One claim class of the ``claim_prior`` ranking: its claims (audited pairs not mined
    uncertain) and their error rate estimated from the held-out evidence."""

    claims: int
    error_rate: float


def _error_rate(log_factor: np.ndarray) -> float:
    """The error rate π of claims whose log Bayes factors for an error are ``log_factor``: π maximises
    Σ log(1 − π + π·e^L) + log π + log(1 − π), the claims' marginal log-likelihood with one
    pseudo-error and one pseudo-correct claim (Laplace's rule of succession: no class gets 0 or 1).
    It is concave in π, so its slope has one root, found by bisection (the fixed point of EM)."""
    d = np.expm1(np.clip(log_factor, -50, 50))
    lo, hi = 0.0, 1.0
    for _ in range(60):
        pi = (lo + hi) / 2
        slope = float(np.sum(d / (1 + pi * d))) + 1 / pi - 1 / (1 - pi)
        lo, hi = (pi, hi) if slope > 0 else (lo, pi)
    return (lo + hi) / 2


def _class_priors(classes: np.ndarray, log_factor: np.ndarray, claims: np.ndarray) -> dict[str, ClaimPrior]:
    """:class:`ClaimPrior` of every class among the ``claims`` pairs."""
    codes, names = pd.factorize(classes[claims])
    factors = log_factor[claims]
    return {
        str(names[i]): ClaimPrior(int((codes == i).sum()), _error_rate(factors[codes == i])) for i in np.argsort(names)
    }


def claim_priors(
    store: PatchStore, scores: HeldOutScores, evidence: Mapping[str, Evidence] | None = None, *, graph: Any = None
) -> dict[str, ClaimPrior]:
    """:class:`ClaimPrior` of every claim class (:func:`claim_classes`) of the audited lesions."""
    status = _statuses(store)
    classes = claim_classes(store, status, evidence, graph)
    return _class_priors(classes, _log_factor(store, scores, status), _claims(store, scores, status))


def _suspicion(
    store: PatchStore, scores: HeldOutScores, status: np.ndarray, ranking: str, classes: np.ndarray
) -> np.ndarray:
    """The suspicion of every (lesion, label) pair under ``ranking`` (:data:`RANKINGS`)."""
    p = scores.probability
    against_positive = status == "positive"
    if ranking == "posterior":
        return np.where(against_positive, 1 - p, p)
    if ranking == "auc_weighted":
        fits = label_fits(store, scores, status)
        informative = np.array([max(0.0, 2 * f.auc - 1) if np.isfinite(f.auc) else 0.0 for f in fits])
        return np.where(against_positive, 1 - p, p) * informative[None, :]
    log_factor = _log_factor(store, scores, status)
    if ranking == "evidence":
        return log_factor
    priors = _class_priors(classes, log_factor, _claims(store, scores, status))
    codes, names = pd.factorize(classes.ravel())
    rates = np.array([priors[n].error_rate if n in priors else 0.5 for n in names])  # 0.5: no claim, no prior
    return log_factor + np.log(rates / (1 - rates))[codes].reshape(classes.shape)


def _ontology(graph: Any) -> Any:
    """``graph``, or radminer's shipped ontology when it is None."""
    if graph is None:
        from radminer.ontology import load_ontology

        return load_ontology()
    return graph


def _ancestors(graph: Any, label: str) -> frozenset[str]:
    return graph.ancestors(label) if label in graph else frozenset()


def _mention_for(label: str, mentions: Sequence[Mapping[str, Any]], graph: Any) -> list[Mapping[str, Any]]:
    """The mentions behind a label: its own, else those implying it, else those it composes."""
    own = [m for m in mentions if m["label"] == label]
    if own:
        return own
    implying = [m for m in mentions if label in _ancestors(graph, m["label"])]
    return implying or [m for m in mentions if m["label"] in _ancestors(graph, label)]


def find_suspects(
    store: PatchStore,
    scores: HeldOutScores,
    evidence: Mapping[str, Evidence] | None = None,
    *,
    min_suspicion: float = 0.5,
    ranking: str = "claim_prior",
    graph: Any = None,
) -> pd.DataFrame:
    """The ranked suspects (columns :data:`AUDIT_COLUMNS`) of the labelled, held-out lesions.

    ``ranking`` (:data:`RANKINGS`) sets the ``suspicion`` the table is sorted by; ``min_suspicion``
    always applies to the probability of the opposite label. ``graph``: the label graph (default:
    radminer's shipped ontology)."""
    if ranking not in RANKINGS:
        raise DataError(f"ranking: expected one of {', '.join(RANKINGS)}, found {ranking!r}")
    graph = _ontology(graph)
    status = _statuses(store)
    opposite = np.where(status == "positive", 1 - scores.probability, scores.probability)
    keep = (status != "uncertain") & _labelled(store)[:, None] & (opposite >= min_suspicion)
    classes = claim_classes(store, status, evidence, graph)
    suspicion = _suspicion(store, scores, status, ranking, classes)
    rows: list[dict[str, Any]] = []
    for r in np.flatnonzero(keep.any(axis=1)).tolist():
        found = {store.labels[c]: c for c in np.flatnonzero(keep[r]).tolist()}
        by_kind: dict[str, list[str]] = {}
        for label, c in found.items():
            by_kind.setdefault(_OPPOSITE[status[r, c]], []).append(label)
        for kind, labels in by_kind.items():
            folded = {a for b in labels for a in _ancestors(graph, b) if a in labels}
            for label in labels:
                if label not in folded:
                    also = sorted(a for a in _ancestors(graph, label) if a in folded)
                    strongest = max(float(suspicion[r, found[x]]) for x in (label, *also))
                    c = found[label]
                    claim = (status[r, c], classes[r, c])
                    rows.append(_row(store, scores, evidence, graph, r, c, strongest, kind, claim, also))
    table = pd.DataFrame(rows, columns=[c for c in AUDIT_COLUMNS if c != "rank"])
    table = table.astype({c: "Int64" for c in ("bookmark", "sentence_start", "mention_start", "mention_end")})
    table = table.sort_values(["suspicion", "lesion_id", "label"], ascending=[False, True, True], kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


def _row(
    store: PatchStore,
    scores: HeldOutScores,
    evidence: Mapping[str, Evidence] | None,
    graph: Any,
    r: int,
    c: int,
    suspicion: float,
    kind: str,
    claim: tuple[str, str],
    also: Sequence[str],
) -> dict[str, Any]:
    record = store.index.iloc[r]
    p = float(scores.probability[r, c])
    row: dict[str, Any] = {
        "kind": kind,
        "suspicion": round(suspicion, 6),
        "lesion_id": record["lesion_id"],
        "label": store.labels[c],
        "category": store.categories[c],
        "mined_status": claim[0],
        "claim_class": claim[1],
        "probability": round(p, 6),
        "score": round(float(scores.score[r, c]), 6),
        "also": ";".join(also),
        "split": record["split"],
        "checkpoints": ";".join(map(str, scores.checkpoints[r])),
    }
    seen = (evidence or {}).get(record["lesion_id"])
    if seen is not None:
        mention = next(iter(_mention_for(store.labels[c], seen.mentions, graph)), {})
        row |= {
            "report_id": seen.report,
            "bookmark": seen.bookmark,
            "sentence": seen.sentence,
            "sentence_start": seen.sentence_start,
            "mention_text": mention.get("text"),
            "mention_start": mention.get("start"),
            "mention_end": mention.get("end"),
            "mention_status": mention.get("status"),
            "mention_trigger": mention.get("trigger"),
            "section": mention.get("section"),
        }
    return row


def write_audit_csv(path: Path, table: pd.DataFrame) -> None:
    """``audit.csv``, atomically."""
    with atomic_output(path) as handle:
        table.to_csv(handle, index=False, columns=list(AUDIT_COLUMNS), quoting=csv.QUOTE_MINIMAL, lineterminator="\n")


def _patch_png(store: PatchStore, row: int, scale: int = 2) -> str:
    """The middle slice of a stored patch with its box, as a base64 PNG."""
    from matplotlib.image import imsave

    middle = np.asarray(store.patches[row, store.patches.shape[1] // 2], dtype=np.float32)
    lo, hi = (0.0, 255.0) if store.meta["dtype"] == "uint8" else _DISPLAY_WINDOW
    grey = np.clip((middle - lo) / (hi - lo), 0, 1)
    rgb = np.repeat(np.kron(grey, np.ones((scale, scale)))[..., None], 3, axis=2)
    x1, y1, x2, y2 = (round(float(store.index.iloc[row][k]) * scale) for k in ("x1", "y1", "x2", "y2"))
    h, w = rgb.shape[:2]
    x1, x2 = np.clip([x1, x2], 0, w - 1)
    y1, y2 = np.clip([y1, y2], 0, h - 1)
    yellow = (1.0, 0.8, 0.0)
    rgb[y1, x1 : x2 + 1] = rgb[y2, x1 : x2 + 1] = yellow
    rgb[y1 : y2 + 1, x1] = rgb[y1 : y2 + 1, x2] = yellow
    buffer = io.BytesIO()
    imsave(buffer, rgb, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _highlighted(seen: Evidence | None, label: str, graph: Any) -> str:
    """The sentence as HTML, the mentions behind ``label`` in <mark>."""
    if seen is None:
        return "<i>no sentence (no --labels)</i>"
    if seen.sentence_start is None:
        return html.escape(seen.sentence)
    spans = sorted(
        (m["start"] - seen.sentence_start, m["end"] - seen.sentence_start, m["status"])
        for m in _mention_for(label, seen.mentions, graph)
    )
    out, at = [], 0
    for start, end, mention_status in spans:
        if start < at or start < 0 or end > len(seen.sentence):
            continue
        out += [
            html.escape(seen.sentence[at:start]),
            f'<mark title="{html.escape(mention_status)}">',
            html.escape(seen.sentence[start:end]),
            "</mark>",
        ]
        at = end
    return "".join([*out, html.escape(seen.sentence[at:])])


_STYLE = """body{font-family:sans-serif;margin:1.5em;max-width:70em}
.s{display:flex;gap:1.2em;border-top:1px solid #ccc;padding:.8em 0}
.s img{width:240px;height:240px;image-rendering:pixelated}
.missing{color:#2b83ba}.wrong{color:#d7191c}mark{background:#ffe066}
table{border-collapse:collapse}td{padding:0 .6em 0 0}.hit{font-weight:bold}"""


def write_audit_html(
    path: Path,
    store: PatchStore,
    table: pd.DataFrame,
    scores: HeldOutScores,
    evidence: Mapping[str, Evidence] | None,
    *,
    top: int,
    summary: str,
) -> None:
    """``audit.html``: one self-contained page with the ``top`` suspects (images embedded)."""
    graph = _ontology(None)
    status = _statuses(store)
    row_of = {lesion: i for i, lesion in enumerate(store.index["lesion_id"])}
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>lesion-audit</title>",
        f"<style>{_STYLE}</style></head><body><h1>lesion-audit: top {min(top, len(table))} suspects</h1>",
        f"<p>{html.escape(summary)}</p>",
    ]
    for s in table.head(top).itertuples(index=False):
        r = row_of[s.lesion_id]
        best = np.argsort(-np.nan_to_num(scores.probability[r]), kind="stable")[:5]
        ranked = "".join(
            f"<tr class='{'hit' if store.labels[c] == s.label else ''}'><td>{html.escape(store.labels[c])}</td>"
            f"<td>{scores.probability[r, c]:.3f}</td><td>{status[r, c]}</td></tr>"
            for c in best
        )
        mined = ", ".join(store.labels[c] for c in np.flatnonzero(store.positive[r])) or "none"
        seen = (evidence or {}).get(s.lesion_id)
        also = f" (also {html.escape(s.also)})" if s.also else ""
        parts.append(
            f"<div class='s'><img alt='lesion {html.escape(s.lesion_id)}' "
            f"src='data:image/png;base64,{_patch_png(store, r)}'><div>"
            f"<h3>#{s.rank} <span class='{s.kind}'>{s.kind}</span>: {html.escape(s.label)}{also}</h3>"
            f"<p>lesion {html.escape(s.lesion_id)} ({html.escape(s.split)}): mined {s.mined_status} "
            f"({html.escape(s.claim_class)}), "
            f"probability {s.probability:.3f}, suspicion {s.suspicion:.3f}</p>"
            f"<p>sentence: {_highlighted(seen, s.label, graph)}</p>"
            f"<p>mined positive: {html.escape(mined)}</p>"
            f"<table><tr><th>top 5</th><th>p</th><th>mined</th></tr>{ranked}</table></div></div>"
        )
    parts.append("</body></html>\n")
    with atomic_output(path) as handle:
        handle.write("\n".join(parts))


def _check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder (-o names the output folder)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{out}: cannot create the output folder ({exc.strerror or exc})") from None


def audit(
    checkpoints: Sequence[str | Path],
    data: str | Path,
    out: str | Path,
    *,
    labels: Path | None = None,
    bookmarks: Path | None = None,
    top: int = 50,
    min_suspicion: float = 0.5,
    ranking: str = "claim_prior",
    device: str = "auto",
    batch_size: int = 128,
) -> pd.DataFrame:
    """What ``lesion-audit`` does; returns the ranked suspects (also in ``out``/audit.csv)."""
    out = Path(out)
    _check_out(out)
    if not checkpoints:
        raise DataError("no checkpoint: pass --checkpoint RUN (repeatable, one per fold)")
    for path in checkpoints:
        if not Path(path).exists():
            raise DataError(f"{path}: checkpoint not found")
    store = PatchStore.open(data)
    evidence = None
    if labels is not None:
        table, evidence = read_evidence(Path(labels), bookmarks)
        _check_labels_match(store, table)
    scores = heldout_scores(checkpoints, store, device=device, batch_size=batch_size)
    unscored = int((np.isnan(scores.probability[:, 0]) & _labelled(store)).sum()) if len(store.labels) else 0
    if unscored:
        logger.warning(
            "%d labelled lesion(s) were in the training split of every checkpoint and are not audited "
            "(train fold models to audit every lesion: lesion-folds)",
            unscored,
        )
    suspects = find_suspects(store, scores, evidence, min_suspicion=min_suspicion, ranking=ranking)
    write_audit_csv(out / "audit.csv", suspects)
    counts = suspects["kind"].value_counts().to_dict()
    summary = (
        f"{len(store) - unscored} held-out lesions of {store.path} scored by {len(checkpoints)} checkpoint(s); "
        f"{counts.get('missing', 0)} missing and {counts.get('wrong', 0)} wrong suspects with p of the opposite "
        f"label ≥ {min_suspicion} (the probability, prior-corrected, of the label opposite to the mined one), "
        f"ranked by {ranking}."
    )
    write_audit_html(out / "audit.html", store, suspects, scores, evidence, top=top, summary=summary)
    logger.info("%s", summary)
    return suspects


def write_fold_stores(data: str | Path, out: str | Path, k: int, *, seed: int = 0) -> list[Path]:
    """K stores ``out/fold_<i>`` for held-out audits: fold i's patients are the test split, the other
    folds train (the original val lesions outside fold i stay val). Patients are dealt to folds at
    random (``seed``); the files are hard links to ``data``'s (copies where links fail), only
    ``index.csv`` and ``meta.json`` are rewritten."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise DataError(f"-k: expected an integer ≥ 2, found {k!r}")
    store = PatchStore.open(data)
    patients = sorted(set(store.index["patient_id"]))
    if len(patients) < k:
        raise DataError(f"{store.path}: {len(patients)} patient(s), fewer than the {k} folds")
    order = np.random.default_rng(seed).permutation(len(patients))
    fold_of = {patients[p]: i % k for i, p in enumerate(order)}
    folds = store.index["patient_id"].map(fold_of).to_numpy()
    paths = []
    for fold in range(k):
        target = Path(out) / f"fold_{fold}"
        if target.exists():
            raise DataError(f"{target}: already exists (remove it to write the folds again)")
        index = store.index.copy()
        index["split"] = np.where(folds == fold, "test", np.where(index["split"] == "val", "val", "train"))
        meta = {
            **store.meta,
            "splits": {s: int((index["split"] == s).sum()) for s in SPLITS},
            "folds": {"k": k, "fold": fold, "seed": seed, "source": str(store.path)},
        }
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(store.path, tmp, copy_function=_link_or_copy)
        with atomic_output(tmp / "index.csv") as handle:  # a new file: the link to the source's is broken
            index.to_csv(handle, index=False, lineterminator="\n")
        with atomic_output(tmp / "meta.json") as handle:
            handle.write(json.dumps(meta, indent=1) + "\n")
        os.replace(tmp, target)
        paths.append(target)
    logger.info("wrote %d fold stores of %s to %s", k, store.path, out)
    return paths


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
