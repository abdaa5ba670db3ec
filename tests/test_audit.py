"""lesion-audit: suspect ranking, audit.csv / audit.html, held-out folds, lesion-synth --corrupt, bad input."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("SimpleITK")

from click.testing import CliRunner, Result  # noqa: E402
from lm_helpers import make_store  # noqa: E402

from lesion_model import cli  # noqa: E402
from lesion_model.cli import audit as audit_command  # noqa: E402
from lesion_model.cli import folds as folds_command  # noqa: E402
from lesion_model.data.store import PatchStore, StoreLabels, write_store  # noqa: E402
from lesion_model.evaluation.audit import (  # noqa: E402
    AUDIT_COLUMNS,
    NEGATED_TYPE_IN_SENTENCE,
    NO_BODYPART,
    STACKED_TYPES,
    Evidence,
    HeldOutScores,
    _error_rate,
    _statuses,
    claim_classes,
    claim_priors,
    find_suspects,
    label_fits,
    platt,
    write_fold_stores,
)
from lesion_model.synth import SynthConfig, generate  # noqa: E402
from lesion_model.synth.corrupt import KINDS  # noqa: E402
from lesion_model.training import TrainConfig, train  # noqa: E402


def one_error_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("lesion-audit: error: "), result.stderr
    return lines[0]


# --- ranking on a hand-made case -----------------------------------------------------------------

LABELS = ("abdomen", "upper abdomen", "liver", "lung", "chest", "nodule", "mass")


def mined_store(
    path: Path, labels: tuple[str, ...], categories: tuple[str, ...], mined: list[tuple[set[str], ...]]
) -> PatchStore:
    """A test-split store with one lesion (id "0", "1", …) per row of (positive, uncertain, negated) label sets."""
    mats = np.zeros((3, len(mined), len(labels)), dtype=np.uint8)
    for r, sets in enumerate(mined):
        for m, named in enumerate(sets):
            for label in named:
                mats[m, r, labels.index(label)] = 1
    n = len(mined)
    index = pd.DataFrame(
        {
            "lesion_id": [str(i) for i in range(n)], "patient_id": [str(i + 1) for i in range(n)],
            "study_id": "1", "split": "test", "x1": 50.0, "y1": 50.0, "x2": 70.0, "y2": 70.0,
            "source": "x.png", "key_slice": 1, "noisy": 0,
        }
    )  # fmt: skip
    store_labels = StoreLabels("hand", labels, categories, "test", *mats)
    patches = np.zeros((n, 3, 120, 120), dtype=np.int16)
    return PatchStore.open(write_store(path, patch_chunks=[patches], index=index, labels=store_labels))


def hand_store(tmp_path: Path) -> PatchStore:
    """4 lesions; rows of (positive, uncertain, negated) label sets."""
    mined = [
        ({"nodule"}, set(), set()),  # the liver is never named
        ({"chest", "lung", "mass"}, set(), set()),  # a wrong type: mass
        ({"abdomen", "upper abdomen", "liver"}, set(), {"nodule"}),  # a negated nodule
        ({"chest", "lung", "nodule"}, {"mass"}, set()),  # all fine, mass uncertain
    ]
    return mined_store(tmp_path / "hand", LABELS, ("bodypart",) * 5 + ("type",) * 2, mined)


def negated_in(sentence: str, word: str, label: str, *, at: int = 10) -> Evidence:
    """The evidence of a lesion whose sentence (at offset ``at`` of its report) negates ``word``."""
    start = at + sentence.index(word)
    mention = {"label": label, "text": word, "start": start, "end": start + len(word), "status": "negated"}
    return Evidence("r", 0, sentence, at, (mention,))


def test_both_kinds_ranked_by_the_opposite_probability(tmp_path: Path) -> None:
    store = hand_store(tmp_path)
    p = np.full((4, len(LABELS)), 0.02)
    present = {0: ["abdomen", "upper abdomen", "liver", "nodule"], 1: ["chest", "lung"], 2: (*LABELS[:3], "nodule")}
    present[3] = ["chest", "lung", "nodule"]
    for r, labels in present.items():
        for label in labels:
            p[r, LABELS.index(label)] = 0.97
    p[2, LABELS.index("nodule")] = 0.9
    p[1, LABELS.index("mass")] = 0.01  # the clearest of all
    p[3, LABELS.index("mass")] = 0.01  # uncertain: never a suspect
    suspects = find_suspects(store, HeldOutScores(p, p, [[0]] * 4), ranking="posterior")
    got = [(s.lesion_id, s.kind, s.label, s.mined_status, s.also) for s in suspects.itertuples()]
    assert got == [
        ("1", "wrong", "mass", "positive", ""),
        ("0", "missing", "liver", "absent", "abdomen;upper abdomen"),  # ancestors folded into the organ
        ("2", "missing", "nodule", "negated", ""),
    ]
    assert list(suspects["rank"]) == [1, 2, 3]
    assert suspects["suspicion"].tolist() == pytest.approx([0.99, 0.97, 0.9])


def test_a_folded_row_is_ranked_by_the_strongest_suspicion_it_holds(tmp_path: Path) -> None:
    store = hand_store(tmp_path)
    p = np.where(store.positive > 0, 0.97, 0.02)  # the model agrees with every mined label but two
    p[0, LABELS.index("abdomen")] = p[0, LABELS.index("upper abdomen")] = 0.95  # the region is clear,
    p[0, LABELS.index("liver")] = 0.6  # the organ less so
    p[2, LABELS.index("nodule")] = 0.8
    suspects = find_suspects(store, HeldOutScores(p, p, [[0]] * 4), ranking="posterior")
    got = [(s.lesion_id, s.label, s.also, s.suspicion) for s in suspects.itertuples()]
    assert got == [("0", "liver", "abdomen;upper abdomen", 0.95), ("2", "nodule", "", 0.8)]


def test_claim_classes_name_the_known_text_mining_failures(tmp_path: Path) -> None:
    labels = ("liver", "lung", "chest", "nodule", "mass", "lung mass", "calcified")
    categories = ("bodypart",) * 3 + ("type",) * 3 + ("attribute",)
    mined = [
        ({"nodule"}, set(), {"liver"}),  # no body part named: every body part claim is suspect
        ({"liver", "mass", "nodule"}, set(), set()),  # "mass nodule": two types
        ({"lung", "chest", "lung mass", "mass"}, set(), set()),  # "lung mass": one type and its parent
        ({"lung", "chest", "nodule"}, {"mass"}, set()),  # "nodule, possibly a mass": still two types named
        ({"liver"}, set(), {"nodule", "calcified"}),  # "hepatic lesion, without nodule, without calcification"
        ({"liver"}, set(), {"nodule"}),  # the nodule negated in a header, outside the sentence
    ]
    store = mined_store(tmp_path / "s", labels, categories, mined)
    sentence = "Hepatic lesion BOOKMARK, without nodule, without calcification."
    header = {"label": "nodule", "text": "NODULE", "start": 0, "end": 6, "status": "negated"}  # "NODULE: none. "
    evidence = {"4": negated_in(sentence, "nodule", "nodule"), "5": Evidence("r", 0, "Liver lesion.", 14, (header,))}
    status = _statuses(store)
    classes = claim_classes(store, status, evidence)

    def of(r: int) -> dict[str, str]:
        return dict(zip(labels, classes[r], strict=True))

    assert of(0) == {
        "liver": NO_BODYPART, "lung": NO_BODYPART, "chest": NO_BODYPART, "nodule": "positive/type",
        "mass": "absent/type", "lung mass": "absent/type", "calcified": "absent/attribute",
    }  # fmt: skip
    assert of(1)["mass"] == of(1)["nodule"] == STACKED_TYPES and of(1)["liver"] == "positive/bodypart"
    assert of(2)["mass"] == of(2)["lung mass"] == "positive/type"
    assert of(3)["nodule"] == STACKED_TYPES and of(3)["mass"] == "uncertain/type"
    assert of(4)["nodule"] == NEGATED_TYPE_IN_SENTENCE and of(4)["calcified"] == "negated/attribute"
    assert of(5)["nodule"] == "negated/type"
    assert claim_classes(store, status)[4, labels.index("nodule")] == "negated/type"  # no mentions, no sentence


def test_claim_prior_lifts_a_negated_own_type_above_an_equal_ordinary_claim(tmp_path: Path) -> None:
    """Lesions 21-25: a nodule negated in the lesion's own sentence that the model sees (p 0.8),
    lesion 20: a nodule mined absent with the very same score. The image's evidence is the same;
    the class of the negated claims is often wrong, that of absent types rarely."""
    n = 60
    mined = [
        ({"liver", "nodule"} if r < 20 else {"liver"}, set(), {"nodule"} if 21 <= r <= 25 else set()) for r in range(n)
    ]
    store = mined_store(tmp_path / "s", ("liver", "nodule"), ("bodypart", "type"), mined)
    rng = np.random.default_rng(0)
    p = np.stack(
        [np.full(n, 0.97), np.where(np.arange(n) < 20, rng.uniform(0.7, 0.99, n), rng.uniform(0.01, 0.3, n))], 1
    )
    p[20:26, 1] = 0.8
    sentence = "Hepatic lesion BOOKMARK, without nodule."
    evidence = {str(r): negated_in(sentence, "nodule", "nodule") for r in range(21, 26)}
    scores = HeldOutScores(p, p, [[0]] * n)
    evidence_ranked = find_suspects(store, scores, evidence, ranking="evidence")
    assert evidence_ranked["lesion_id"].tolist() == ["20", "21", "22", "23", "24", "25"]  # a tie: by lesion id
    assert evidence_ranked["suspicion"].nunique() == 1
    ranked = find_suspects(store, scores, evidence)  # claim_prior, the default
    assert ranked["lesion_id"].tolist() == ["21", "22", "23", "24", "25", "20"]
    assert ranked["claim_class"].tolist() == [NEGATED_TYPE_IN_SENTENCE] * 5 + ["absent/type"]
    priors = claim_priors(store, scores, evidence)
    assert priors[NEGATED_TYPE_IN_SENTENCE].claims == 5 and priors["absent/type"].claims == n - 25
    assert priors[NEGATED_TYPE_IN_SENTENCE].error_rate > 0.5 > 0.1 > priors["absent/type"].error_rate
    lift = ranked["suspicion"].iloc[0] - evidence_ranked["suspicion"].iloc[0]
    rate = priors[NEGATED_TYPE_IN_SENTENCE].error_rate
    assert lift == pytest.approx(np.log(rate / (1 - rate)), abs=1e-5)  # suspicion = logit(π) + evidence


def test_class_error_rate_is_the_smoothed_maximum_likelihood_mixing_share() -> None:
    decisive = np.array([40.0] * 3 + [-40.0] * 17)  # the evidence settles every claim: 3 errors
    assert _error_rate(decisive) == pytest.approx((3 + 1) / (20 + 2))  # Laplace's rule of succession
    assert _error_rate(np.zeros(10)) == pytest.approx(0.5)  # no evidence, no information
    mixed = np.random.default_rng(0).normal(-2, 3, 200)
    pi = 0.5
    for _ in range(5000):  # EM of the mixing share converges to the same fixed point
        pi = (float(np.sum(1 / (1 + np.exp(-(np.log(pi / (1 - pi)) + mixed))))) + 1) / (len(mixed) + 2)
    assert _error_rate(mixed) == pytest.approx(pi, rel=1e-6)


def two_label_store(tmp_path: Path) -> tuple[PatchStore, np.ndarray]:
    """60 lesions, labels liver (every other lesion) and lobular (every fifth); held-out p with
    liver told apart well and lobular not at all (p = its prior ± noise, unrelated to the label).
    Lesion 0 is a liver mined absent that the model sees (p 0.97); lesion 5 a lobular mined
    positive at p 0.01, lesion 10 a lobular mined positive at p 0.12."""
    labels = ("liver", "lobular")
    n = 60
    positive = np.zeros((n, 2), dtype=np.uint8)
    positive[1::2, 0] = 1  # lesion 0 (even): liver mined absent
    positive[::5, 1] = 1
    rng = np.random.default_rng(0)
    p = np.zeros((n, 2))
    p[:, 0] = np.where(np.arange(n) % 2 == 1, rng.uniform(0.85, 0.99, n), rng.uniform(0.01, 0.15, n))
    p[0, 0] = 0.97
    p[:, 1] = rng.uniform(0.01, 0.4, n)
    p[5, 1], p[10, 1] = 0.01, 0.12
    zeros = np.zeros_like(positive)
    index = pd.DataFrame(
        {
            "lesion_id": [str(i) for i in range(n)], "patient_id": [str(i) for i in range(n)], "study_id": "1",
            "split": "test", "x1": 50.0, "y1": 50.0, "x2": 70.0, "y2": 70.0, "source": "x.png", "key_slice": 1,
            "noisy": 0,
        }
    )  # fmt: skip
    store_labels = StoreLabels("two", labels, ("bodypart", "attribute"), "test", positive, zeros, zeros)
    patches = np.zeros((n, 3, 120, 120), dtype=np.int16)
    path = write_store(tmp_path / "two", patch_chunks=[patches], index=index, labels=store_labels)
    return PatchStore.open(path), p


def test_platt_fits_informative_labels_and_flattens_the_others() -> None:
    z = np.linspace(-4, 4, 40)
    a, b = platt(z, z > 0)
    assert 0.5 < a < 20  # separable: a steep but finite slope (Platt's smoothed targets)
    a, b = platt(z, z < 0)  # ranked backwards: no evidence, the smoothed prior
    assert a == 0 and b == pytest.approx(0.0)
    a, b = platt(np.zeros(10), np.arange(10) < 2)  # constant scores: the mean target (2 · 3/4 + 8 · 1/10) / 10
    assert a == pytest.approx(0, abs=1e-6) and 1 / (1 + np.exp(-b)) == pytest.approx(0.23, abs=1e-3)


def test_evidence_ranking_discounts_a_label_the_model_cannot_tell_apart(tmp_path: Path) -> None:
    store, p = two_label_store(tmp_path)
    scores = HeldOutScores(p, p, [[0]] * len(p))
    fits = label_fits(store, scores)
    assert fits[0].auc > 0.95 and fits[0].a > 0 and abs(fits[1].auc - 0.5) < 0.25
    posterior = find_suspects(store, scores, ranking="posterior")
    # by the plain probability, the unlearned lobular positives (p ≈ its prior) flood the top
    assert posterior.iloc[0]["label"] == "lobular" and (posterior.head(5)["label"] == "lobular").sum() >= 4
    evidence = find_suspects(store, scores, ranking="evidence")
    first = evidence.iloc[0]
    assert (first["lesion_id"], first["label"], first["kind"]) == ("0", "liver", "missing")
    assert evidence.iloc[0]["suspicion"] > 2 * evidence[evidence["label"] == "lobular"]["suspicion"].abs().max()
    assert list(evidence.columns) == list(AUDIT_COLUMNS) and list(evidence["rank"]) == list(range(1, len(evidence) + 1))


def test_auc_weighted_ranking_gives_an_unlearned_label_little_weight(tmp_path: Path) -> None:
    store, p = two_label_store(tmp_path)
    scores = HeldOutScores(p, p, [[0]] * len(p))
    weighted = find_suspects(store, scores, ranking="auc_weighted")
    assert weighted.iloc[0]["label"] == "liver"
    fits = label_fits(store, scores)
    lobular = weighted[weighted["label"] == "lobular"]
    assert (lobular["suspicion"] <= (1 - lobular["probability"]) * max(0.0, 2 * fits[1].auc - 1) + 1e-6).all()
    with pytest.raises(Exception, match="ranking"):
        find_suspects(store, scores, ranking="nope")


# --- the command on a tiny trained run -----------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A store, a 1-epoch run on its train split, and a radminer-like JSONL matching the store."""
    root = tmp_path_factory.mktemp("audit")
    store = make_store(root / "store", n=20, seed=2)
    train(TrainConfig(data=str(store), out=str(root / "run"), width=0.125, hidden=8, epochs=1, batch_size=4))
    opened = PatchStore.open(store)
    lines = []
    for r, lesion in enumerate(opened.index["lesion_id"]):
        labels = [x for x, on in zip(opened.labels, opened.positive[r], strict=True) if on]
        sentence = f"{' '.join(labels)} BOOKMARK."
        mentions, at = [], 10
        for label in labels:
            mentions.append({"label": label, "text": label, "start": at, "end": at + len(label), "status": "positive"})
            at += len(label) + 1
        lines.append(json.dumps({"id": lesion, "bookmark": None, "sentence": sentence, "labels": labels,
                                 "uncertain": [], "negated": [], "mentions": mentions}))  # fmt: skip
    jsonl = root / "labels.jsonl"
    jsonl.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return store, root / "run", jsonl


def test_csv_and_self_contained_html(run: tuple[Path, Path, Path], tmp_path: Path) -> None:
    store, run_dir, jsonl = run
    args = ["--checkpoint", str(run_dir), "--data", str(store), "--labels", str(jsonl), "-o", str(tmp_path / "a")]
    result = CliRunner().invoke(audit_command, [*args, "--min-suspicion", "0", "--top", "3", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    with (tmp_path / "a" / "audit.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == AUDIT_COLUMNS
    held_out = set(PatchStore.open(store).index.query("split != 'train'")["lesion_id"])
    assert rows and {r["lesion_id"] for r in rows} <= held_out  # never a lesion the run trained on
    assert [float(r["suspicion"]) for r in rows] == sorted((float(r["suspicion"]) for r in rows), reverse=True)
    first = rows[0]
    assert first["sentence"].endswith("BOOKMARK.") and first["kind"] in ("missing", "wrong")
    if first["mention_text"]:
        start = int(first["mention_start"]) - int(first["sentence_start"])
        assert first["sentence"][start : start + len(first["mention_text"])] == first["mention_text"]
    page = (tmp_path / "a" / "audit.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3
    assert "http" not in page and "<script" not in page and "<link" not in page  # nothing fetched
    for r in rows[:3]:
        assert f"lesion {r['lesion_id']} (" in page and f": {r['label']}" in page


def test_folds_hold_every_lesion_out_once(run: tuple[Path, Path, Path], tmp_path: Path) -> None:
    store, _, _ = run
    result = CliRunner().invoke(folds_command, [str(store), "-o", str(tmp_path / "f"), "-k", "3"])
    assert result.exit_code == 0, result.output
    paths = [Path(line) for line in result.stdout.split()]
    original = PatchStore.open(store)
    tested: list[str] = []
    for path in paths:
        fold = PatchStore.open(path)
        assert np.array_equal(fold.patches, original.patches) and fold.labels == original.labels
        test = fold.index[fold.index["split"] == "test"]
        assert not set(test["patient_id"]) & set(fold.index.query("split != 'test'")["patient_id"])
        tested += list(test["lesion_id"])
    assert sorted(tested) == sorted(original.index["lesion_id"])
    assert PatchStore.open(store).meta["splits"] == original.meta["splits"]  # the source is untouched
    with pytest.raises(Exception, match="already exists"):
        write_fold_stores(store, tmp_path / "f", 3)


def test_bad_input_is_one_line(run: tuple[Path, Path, Path], tmp_path: Path) -> None:
    store, run_dir, jsonl = run
    base = ["--data", str(store), "--device", "cpu"]
    missing = CliRunner().invoke(audit_command, [*base, "--checkpoint", str(tmp_path / "nope"), "-o", str(tmp_path)])
    assert "checkpoint not found" in one_error_line(missing)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    bad_out = CliRunner().invoke(audit_command, [*base, "--checkpoint", str(run_dir), "-o", str(a_file)])
    assert "is not a folder" in one_error_line(bad_out)
    lines = jsonl.read_text().splitlines()
    first = json.loads(lines[0])
    first["labels"] = [*first["labels"], next(x for x in PatchStore.open(store).labels if x not in first["labels"])]
    other = tmp_path / "other.jsonl"
    other.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    mismatch = CliRunner().invoke(
        audit_command, [*base, "--checkpoint", str(run_dir), "--labels", str(other), "-o", str(tmp_path / "o")]
    )
    assert "does not match" in one_error_line(mismatch)


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys\nfrom lesion_model.cli import audit, folds\n"
        "for command in (audit, folds):\n"
        "    try:\n        command.main(['-h'])\n    except SystemExit:\n        pass\n"
        "print('HEAVY', sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "HEAVY []"


# --- lesion-synth --corrupt ----------------------------------------------------------------------

#: sha256 of the CSVs of ``generate(..., SynthConfig(patients=3, image_size=96), seed=1)`` before
#: ``--corrupt`` existed.
DEFAULT_CSV_DIGEST = "b8ce5bc2d67246cca470c4b3f06ec657ebf3a397efe53e4436b5c189029c213f"


def csv_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.csv")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_default_synth_output_is_unchanged(tmp_path: Path) -> None:
    root = generate(tmp_path / "s", SynthConfig(patients=3, image_size=96), seed=1)
    assert csv_digest(root) == DEFAULT_CSV_DIGEST
    assert not (root / "corruptions.csv").exists()


def test_corrupt_option_corrupts_the_share_and_records_it(tmp_path: Path) -> None:
    args = ["--patients", "8", "--image-size", "96", "--seed", "1", "--corrupt", "0.25", "--corrupt-seed", "4"]
    result = CliRunner().invoke(cli.synth, [str(tmp_path / "s"), *args])
    assert result.exit_code == 0, result.output
    root = tmp_path / "s"
    with (root / "truth.csv").open(newline="") as handle:
        lesions = len(list(csv.DictReader(handle)))
    with (root / "corruptions.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == round(0.25 * lesions) and len({r["lesion_id"] for r in rows}) == len(rows)
    reports = (root / "reports.csv").read_text(encoding="utf-8")
    for row in rows:
        assert row["kind"] in KINDS and row["label"] and row["corrupted"] != row["original"]
        assert row["corrupted"] in reports
    clean = generate(tmp_path / "clean", SynthConfig(patients=8, image_size=96), seed=1)
    assert (clean / "DL_info.csv").read_bytes() == (root / "DL_info.csv").read_bytes()  # only the text changes
    again = CliRunner().invoke(cli.synth, [str(tmp_path / "t"), *args])
    assert (
        again.exit_code == 0
        and (tmp_path / "t" / "corruptions.csv").read_bytes() == (root / "corruptions.csv").read_bytes()
    )
