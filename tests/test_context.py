"""Context: negation and uncertainty on single sentences, rules files, relevance, exclusive labels."""

from __future__ import annotations

import pickle
import random
import re
from pathlib import Path

import pytest

from radminer import RadminerError, load_ontology
from radminer.text.context import (
    Context,
    ContextRules,
    ContextRulesError,
    aggregate,
    apply_context,
    assign_context,
    describe,
    mark_irrelevant,
    resolve_exclusive,
    split_sentences,
)
from radminer.text.context.rules import found_within
from radminer.text.mentions import Mention

GRAPH = load_ontology()
RULES = ContextRules.default()
_TARGET = re.compile(r"\[([^\]]+)\]")


def parse(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """``"No [effusion]."`` → the text without brackets and the offsets of each bracketed target."""
    text, targets, shift = marked, [], 0
    for match in _TARGET.finditer(marked):
        start = match.start() - shift
        targets.append((start, start + len(match.group(1))))
        shift += 2
    text = _TARGET.sub(r"\1", marked)
    return text, targets


def statuses(marked: str) -> list[str]:
    text, targets = parse(marked)
    return [c.status for c in assign_context(text, targets, rules=RULES)]


NEG, UNC, POS, NORM, IRR = "negated", "uncertain", "positive", "normal", "irrelevant"

CASES = [
    # plain negation, forward
    ("No [pneumothorax].", [NEG]),
    ("NO [PNEUMOTHORAX].", [NEG]),
    ("There is no evidence of [pneumothorax].", [NEG]),
    ("No radiographic evidence of [pneumonia].", [NEG]),
    ("Lungs are clear without [infiltrate].", [NEG]),
    ("Negative for [pneumonia].", [NEG]),
    ("The lungs are free of focal [consolidation].", [NEG]),
    ("Absence of pleural [effusion].", [NEG]),
    ("Resolved right lower lobe [pneumonia].", [NEG]),
    ("Interval resolution of the left pleural [effusion].", [NEG]),
    ("There are no XXXX of a pleural [effusion].", [NEG]),
    ("Heart size is not [enlarged].", [NEG]),
    ("No new [nodules].", [NEG]),
    ("Without evidence of [mass] or [adenopathy].", [NEG, NEG]),
    ("Neither [effusion] nor [pneumothorax].", [NEG, NEG]),
    ("No focal airspace [opacity] to suggest [pneumonia].", [NEG, NEG]),
    # enumerations: every item is negated
    ("No focal [consolidation], pleural [effusion], or [pneumothorax].", [NEG, NEG, NEG]),
    ("No displaced rib [fractures], [pneumothorax], or pleural [effusion] identified.", [NEG, NEG, NEG]),
    (
        "No focal airspace [consolidation], large pleural [effusion], [pneumothorax], or radiographic signs "
        "of pulmonary [edema].",
        [NEG, NEG, NEG, NEG],
    ),
    # negation, backward
    ("The [effusion] has resolved.", [NEG]),
    ("The [nodule] is no longer seen.", [NEG]),
    ("The previously seen [nodule] is no longer present.", [NEG]),
    ("[Pneumothorax] is not seen.", [NEG]),
    ("Pleural [effusion], [pneumothorax] and [consolidation] are not identified.", [NEG, NEG, NEG]),
    ("[Pneumothorax]: none.", [NEG]),
    # uncertainty
    ("Possible small right [effusion].", [UNC]),
    ("[Pneumonia] cannot be excluded.", [UNC]),
    ("[Pneumothorax] is not excluded.", [UNC]),
    ("Cannot exclude [pneumonia].", [UNC]),
    ("Findings may represent [atelectasis].", [UNC]),
    ("Suspicious for [malignancy].", [UNC]),
    ("Differential includes [lymphoma] and [sarcoidosis].", [UNC, UNC]),
    ("Probable [granuloma].", [UNC]),
    ("Borderline [cardiomegaly].", [UNC]),
    ("Questionable [nodule] in the right lung.", [UNC]),
    ("[Atelectasis] versus [pneumonia].", [UNC, UNC]),
    ("Patient denies [chest pain].", [NEG]),
    ("Bilateral [effusions] and/or [atelectasis].", [UNC, UNC]),
    ("[Opacity] may be secondary to infection or developing [mass] lesion.", [POS, UNC]),
    ("[Opacity] which may be related to [atelectasis].", [POS, UNC]),
    ("Streaky [opacities], [scarring] versus [atelectasis].", [POS, UNC, UNC]),
    ("[Opacities], likely [atelectasis].", [POS, UNC]),
    ("[Nodule], which may represent a [granuloma].", [POS, UNC]),
    ("XXXX [scarring] in the left apex, although difficult to exclude a cavitary [lesion].", [POS, UNC]),
    # pseudo-triggers: no negation
    ("No change in the [nodule].", [POS]),
    ("No increase in size of the [nodule].", [POS]),
    ("No significant interval change in the right lower lobe [opacity].", [POS]),
    ("There is not only an [effusion] but also [consolidation].", [POS, POS]),
    ("Gram negative [pneumonia].", [POS]),
    # terminators and sentence ends
    ("No [pneumothorax], but there is a small [effusion].", [NEG, POS]),
    ("No [pneumothorax]; small left [effusion].", [NEG, POS]),
    ("There is no [pneumothorax], however a small [effusion] persists.", [NEG, POS]),
    ("There is no [pneumothorax] and there is a large [effusion].", [NEG, POS]),
    ("No acute disease. Calcified [granuloma].", [POS]),
    ("The heart is not enlarged. Left lower lobe [opacity].", [POS]),
    ("The [effusion] is unchanged and no [pneumothorax] is seen.", [POS, NEG]),
    ("Stable [cardiomegaly] without [edema].", [POS, NEG]),
    ("Findings consistent with [pneumonia].", [POS]),
    ("Stable [nodule].", [POS]),
    # reason connectives end a scope: the reason is certain
    ("Low probability of [malignancy] in light of the fat within the [lesion].", [UNC, POS]),
    ("No [metastasis] because of the stable size of the [nodule].", [NEG, POS]),
    ("Possible [abscess] based on the [gas] in the collection.", [UNC, POS]),
    # what a clinical note affirms after a negation ends its scope
    ("Cytology negative for [malignancy], positive for [atypia].", [NEG, POS]),
    ("Past history is negative for [stroke] and significant for [hypertension].", [NEG, POS]),
    ("No [effusion]; abdomen remarkable for mild [distension].", [NEG, POS]),
    ("Without [fever], notable for a [rash] on the trunk.", [NEG, POS]),
    # what is not known is the cause of a finding, not whether it is there
    ("We do not know the exact etiology of her [pancreatitis].", [POS]),
    ("It is not clear the underlying cause of the [effusion].", [POS]),
    # "excluding" as "except" ends the negation's scope
    ("No enlarged [nodes], excluding a 12 mm hilar [node].", [NEG, POS]),
    # window: a long gap ends the scope
    ("No acute findings in this patient who is known to have long-standing and severe [emphysema].", [POS]),
    # words that contain a trigger are not triggers
    ("Nonspecific [nodule]. Notable [effusion]. Innocent [granuloma].", [POS, POS, POS]),
    # normal statements
    ("The [spleen] is normal in size.", [NORM]),
    ("Unremarkable [adrenal glands].", [NORM]),
    ("The [kidneys] enhance symmetrically.", [NORM]),
    ("Clear [lungs]. [Liver] within normal limits.", [NORM, NORM]),
    ("[Lungs] are clear of [consolidation].", [POS, NEG]),  # "clear of" negates; refine() decides the lungs
    ("The splenic [vein] is patent.", [NORM]),
    # a normal cue that holds a target whole calls it normal too; a cue inside a target is none
    ("Symmetric [enhancement] of the [kidneys].", [NORM, NORM]),
    ("The [liver] [enhances] [homogeneously].", [NORM, NORM, NORM]),
    ("The [pancreas] is normal in size and [enhancement].", [NORM, NORM]),
    ("The [liver] is normal in size with [homogeneous] attenuation.", [NORM, NORM]),
    ("[Normal pressure hydrocephalus].", [POS]),
    ("The urinary [bladder] is decompressed. Nondilated small [bowel].", [NORM, NORM]),
    ("Patent [portal vein] and [hepatic veins].", [NORM, NORM]),
    ("Patent foramen ovale with a small pericardial [effusion].", [POS]),
    # pseudo-negation with optional words
    ("No appreciable interval change in the [nodule].", [POS]),
    ("No further enlargement of the [node].", [POS]),
    ("No evidence of interval growth of the right adrenal [nodule].", [POS]),
    ("Without evidence of progression of the pulmonary [metastases].", [POS]),
    ("No evidence of hepatic [metastases].", [NEG]),
    ("Without interval growth of the [mass].", [POS]),
    ("[Nodule] has not significantly changed.", [POS]),
    # "no longer" reads forward; "no longer seen" backward
    ("The [node] is no longer [enlarged].", [POS, NEG]),
    ("The [node] is no longer seen.", [NEG]),
    # a hedge on the nature or an attribute
    ("Indeterminate [nodule].", [POS]),
    ("Borderline [enlarged] [node].", [UNC, POS]),
    # resolution and history
    ("The [effusion] has completely resolved.", [NEG]),
    ("Interval clearing of the basilar [opacities].", [NEG]),
    ("The [node] has returned to normal size.", [NEG]),
    ("Status post resection of the [mass].", [NEG]),
    # clinical-note cues
    ("Culture -ve for [MRSA].", [NEG]),
    ("Not consistent with [pneumonia].", [NEG]),
    ("Low suspicion for [malignancy].", [UNC]),
    ("No findings to suggest [fracture].", [NEG]),
    ("[Metastasis] is unlikely.", [NEG]),
    ("Question [pericardial effusion].", [UNC]),
    # an exception cue ends a negation scope
    ("No [lesions] apart from a small [cyst].", [NEG, POS]),
    # word order turns a one-way cue round when its own side holds no target
    ("The [pancreas] is otherwise unremarkable.", [NORM]),
    ("[Kidneys] grossly normal.", [NORM]),
    ("The [gallbladder] and [bile ducts] are otherwise normal.", [NORM, NORM]),
    ("Otherwise unremarkable [spleen].", [NORM]),
    ("No longer visualized is the right pleural [effusion].", [NEG]),
    ("These findings are unlikely to represent [metastatic disease].", [NEG]),
    ("Not seen on today's study is the previously described [nodule].", [NEG]),
    # ... but not a forward negation or hedge, nor a backward normal cue: their object is
    # often a word outside the vocabulary, and the finding on the other side stands
    ("[Cardiomegaly] without acute disease.", [POS]),
    ("Hilar [calcifications] suggest prior granulomatous disease.", [POS]),
    ("Streaky [opacities], this could represent early infection.", [POS]),
    ("Silhouette within normal limits, with a calcified [aorta].", [POS]),
    ("[Mass] in the [pancreas]; the [liver] is otherwise normal.", [POS, POS, NORM]),
    # a "?" reads backward against the word before it, forward before a word
    ("Right inguinal [node], ?[lymphoma].", [POS, UNC]),
    ("Small [effusion]?", [UNC]),
    # a clause coordinated with a subject of its own ends a scope
    ("He is not cooperative and he is [confused] at times.", [POS]),
    ("She denies [chest pain] and she reports [dyspnea] on exertion.", [NEG, POS]),
    ("No [fever] and no [chills].", [NEG, NEG]),
    ("No [fever], [chills] and [night sweats].", [NEG, NEG, NEG]),
    ("Heart regular without [murmur], and the lungs have faint [crackles].", [NEG, POS]),
    ("No [nausea] and only mild incisional [pain].", [NEG, POS]),
    ("The [effusion] improved and the [consolidation] resolved.", [POS, NEG]),
    ("Walking without [desaturation] and his [wheezing] was much better.", [NEG, POS]),
    ("CT showed no [hemorrhage], and an MRI confirmed an acute [infarct].", [NEG, POS]),
    ("Atrial fibrillation not on anticoagulation, [diabetes], and a prior [stroke].", [POS, POS]),
    # "is negative for" reads forward only; a turned negation stays within its clause
    ("The adrenal [nodule] was negative for [malignancy] on biopsy.", [POS, NEG]),
    ("A net negative fluid balance, complicated by acute [kidney injury].", [POS]),
    ("Negative [cultures].", [NEG]),
    # the contrast of an examination is no negation; "is positive" ends a backward scope
    ("CT of the chest without contrast shows a 6 mm [nodule].", [POS]),
    ("MRI with and without IV contrast: 2 cm [cyst] in the liver.", [POS]),
    ("The right [node] is positive on PET, and the left [node] is negative.", [POS, NEG]),
    # a trigger in brackets governs what the brackets hold
    ("Calcified [nodule] (likely [granuloma]), right lower [lobe], [lung].", [POS, UNC, POS, POS]),
    ("Right adrenal [nodule] (no macroscopic [fat]) and a left renal [cyst].", [POS, NEG, POS]),
    ("No [effusion] (small on the prior study), no [pneumothorax].", [NEG, NEG]),
    # a pseudo-trigger that denies a change it holds negates that change, not what it keeps
    ("No interval [enlargement] of the [nodule].", [NEG, POS]),
    ("The [aneurysm] has not [enlarged] since the prior study.", [POS, NEG]),
    ("No further [enlargement] of the [node], now 1.3 cm.", [POS, POS]),
    ("Negative for [weight loss], [bleeding] (occult nor overt), [anemia].", [NEG, NEG, NEG]),
    # a relative clause that says the finding resolved negates it
    ("Small left pleural [effusion] on admission, which has since resolved.", [NEG]),
    ("[Urinary retention] after catheter removal, which resolved spontaneously.", [NEG]),
    # a backward normal cue stops where its clause begins when a status cue comes before it
    ("No [nodule] or [mass], and the [hila] are normal.", [NEG, NEG, NORM]),
    ("No residual [collection], and the [bowel] loops are unremarkable.", [NEG, NORM]),
    ("The [liver], [spleen] and the [pancreas] are unremarkable.", [NORM, NORM, NORM]),
    # another person's findings (family history) are irrelevant; the patient's own history is not
    ("Her father had [colon] [cancer].", [IRR, IRR]),
    ("Family hx of [breast] [cancer] and [melanoma].", [IRR, IRR, IRR]),
    ("Paternal uncle was diagnosed with [pancreatic] [cancer] at 50.", [IRR, IRR]),
    ("FH is positive for [thyroid] [nodules].", [IRR, IRR]),
    ("[Ovarian] [cancer] in her maternal grandmother.", [IRR, IRR]),
    ("Two cousins with [renal] [cysts].", [IRR, IRR]),
    ("No family history of [aneurysm].", [NEG]),  # stated absent, as NegEx reads it
    ("Negative family history of [colon] [cancer] or [polyps].", [NEG, NEG, NEG]),
    ("Prior history of [colon] [cancer].", [IRR, IRR]),  # the patient's history: no finding of the exam
    ("Hx [colon] [cancer], now with new [liver] [lesions].", [IRR, IRR, POS, POS]),
    ("No history of [kidney] [stones].", [NEG, NEG]),  # a negation, as NegEx reads it
    ("[Opacity] compatible with the known history of a [mass].", [POS, POS]),  # a history that explains a finding
    ("No personal history of [melanoma].", [NEG]),
    ("Family history of [lymphoma] and a personal history of [sarcoidosis].", [IRR, IRR]),
    ("Family history of [lung] [cancer]; the patient has a new [nodule].", [IRR, IRR, POS]),
    ("Family history of [lung] [cancer], presenting with [hemoptysis].", [IRR, IRR, POS]),
    ("Family history of [gastric] [cancer]. [Gastric] wall [thickening].", [IRR, IRR, POS, POS]),
]


@pytest.mark.parametrize(("marked", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_single_sentence(marked: str, expected: list[str]) -> None:
    assert statuses(marked) == expected


def test_trigger_text_and_offsets() -> None:
    text, targets = parse("Lungs clear. There is no evidence of [pneumothorax].")
    [context] = assign_context(text, targets, rules=RULES)
    assert context == Context("negated", "no evidence of", 22, 36)
    assert text[context.trigger_start : context.trigger_end] == context.trigger


def test_nearest_trigger_wins() -> None:
    assert statuses("Possible [nodule] is not seen.") == [NEG]
    assert statuses("No evidence of possible [nodule].") == [UNC]


def test_targets_in_any_order_and_overlapping() -> None:
    text = "No right lower lobe pneumonia."
    lobe, pneumonia = (3, 19), (20, 29)
    contexts = assign_context(text, [pneumonia, (3, 29), lobe], rules=RULES)
    assert [c.status for c in contexts] == [NEG, NEG, NEG]


def test_no_targets_and_no_triggers() -> None:
    assert assign_context("No pneumothorax.", [], rules=RULES) == []
    assert assign_context("Small nodule.", [(6, 12)], rules=RULES) == [Context()]


def test_trigger_inside_a_target_is_ignored() -> None:
    vocabulary = ContextRules.from_dict({"negated": {"forward": ["free"]}})
    assert [c.status for c in assign_context("free air in the abdomen", [(0, 8)], rules=vocabulary)] == [POS]


def test_given_sentences_bound_the_scope() -> None:
    text = "No acute disease and nodule"
    assert [c.status for c in assign_context(text, [(21, 27)], rules=RULES)] == [NEG]
    assert [c.status for c in assign_context(text, [(21, 27)], rules=RULES, sentences=[(0, 16), (17, 27)])] == [POS]


def test_case_folding_that_moves_offsets() -> None:
    text = "İİ no effusion"
    [context] = assign_context(text, [(6, 14)], rules=RULES)
    assert context.status == NEG and text[context.trigger_start : context.trigger_end] == "no"


@pytest.mark.parametrize(
    ("text", "bounds"),
    [
        ("One. Two!  Three?", [(0, 4), (5, 9), (11, 17)]),
        ("A\n\nB", [(0, 1), (3, 4)]),
        ("", [(0, 0)]),
    ],
)
def test_split_sentences(text: str, bounds: list[tuple[int, int]]) -> None:
    assert split_sentences(text) == bounds


def test_apply_context_on_spacy_doc() -> None:
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    doc = nlp("No pleural effusion. Small nodule, possibly a granuloma.")
    spans = [doc[2:3], doc[5:6], doc[9:10]]
    assert [c.status for c in apply_context(doc, spans)] == [NEG, POS, UNC]
    bare = spacy.blank("en")("No effusion.")
    assert [c.status for c in apply_context(bare, [bare[1:2]])] == [NEG]


# -- rules ------------------------------------------------------------------------------------


def test_default_rules_are_cached_and_picklable() -> None:
    assert ContextRules.default() is RULES
    copy = pickle.loads(pickle.dumps(RULES))
    assert copy.find_triggers("no evidence of effusion") == [(0, 14, "negated")]


def test_find_triggers_longest_match_and_kinds() -> None:
    text = "No change in the nodule; no longer seen, cannot be excluded"
    assert [(text[a:b], kind) for a, b, kind in RULES.find_triggers(text)] == [
        ("No change", "pseudo"),
        (";", "terminate"),
        ("no longer seen", "negated"),
        ("cannot be excluded", "uncertain"),
    ]


def test_other_person_triggers() -> None:
    text = "Sister with breast cancer; mother had polyps. Cancer in his father."
    assert [(text[a:b], kind) for a, b, kind in RULES.find_triggers(text)] == [
        ("Sister with", "other_person"),
        (";", "terminate"),
        ("mother had", "other_person"),
        ("in his father", "other_person"),
    ]
    [context] = assign_context(text, [(12, 25)], rules=RULES)
    assert context == Context("irrelevant", "Sister with", 0, 11)
    assert RULES.find_triggers("the family had wanted her transferred") == []  # "family" alone is no cue


def test_other_person_kind_in_a_rules_file() -> None:
    rules = ContextRules.from_dict({"other_person": {"forward": ["aunt had"], "backward": ["in her aunt"]}})
    text, targets = parse("Aunt had a [cyst]. A [mass] in her aunt. A [nodule].")
    assert [c.status for c in assign_context(text, targets, rules=rules)] == [IRR, IRR, POS]
    with pytest.raises(ContextRulesError, match="listed as negated and as other_person"):
        ContextRules.from_dict({"other_person": {"forward": ["no"]}, "negated": {"forward": ["no"]}})
    with pytest.raises(ContextRulesError, match="other_person: unknown direction"):
        ContextRules.from_dict({"other_person": {"sideways": ["aunt had"]}})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"negated": {"forward": ["no"]}, "bogus": []}, "unknown key"),
        ({"negated": {"sideways": ["no"]}}, "unknown direction"),
        ({"negated": {"forward": ["no"]}, "uncertain": {"forward": ["no"]}}, "listed as negated and as uncertain"),
        ({"negated": {"forward": [""]}}, "non-empty phrase"),
        ({"window": 0}, "window"),
        ({"format": "other/2"}, "expected format"),
        ({"negated": {"forward": ["no|none"]}, "pseudo": ["none"]}, "two meanings"),
        ({"descriptors": "nodular"}, "descriptors: expected a list of non-empty phrases"),
        ({"clause_openers": ["a", ""]}, "clause_openers: expected a list"),
    ],
)
def test_malformed_rules(data: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ContextRulesError, match=message):
        ContextRules.from_dict(data)


def test_nature_hedges_and_next_hedges_of_the_rules() -> None:
    assert RULES.is_nature_hedge("Most  likely") and RULES.is_nature_hedge("presumed")
    assert RULES.is_nature_hedge("possible") and RULES.is_nature_hedge("felt to represent")
    assert not RULES.is_nature_hedge("questionable") and not RULES.is_nature_hedge("cannot exclude")
    assert {"cyst", "hemangioma", "adenoma"} <= RULES.lesion_natures and "metastasis" not in RULES.lesion_natures
    assert RULES.hedges_next("Borderline") and not RULES.hedges_next("likely") and not RULES.hedges_next("versus")
    rules = ContextRules.from_dict({"uncertain": {"forward": ["likely"]}, "nature_hedges": ["likely"]})
    assert rules.is_nature_hedge("likely") and not rules.lesion_natures
    with pytest.raises(ContextRulesError, match="lesion_natures"):
        ContextRules.from_dict({"lesion_natures": "cyst"})


def test_nature_words_of_the_rules() -> None:
    assert RULES.is_nature_hedge("are likely") and RULES.is_nature_hedge("Low suspicion of")
    text = "nodes are likely to be reactive; unlikely an infection; likely a cyst; likely enlarged"
    objects = [RULES.nature_pattern.match(text, m.end()) for m in re.finditer(r"likely", text)]
    assert [o.group().split()[-1] if o else None for o in objects] == ["reactive", "infection", None, None]
    assert RULES.nature_lead.match(text, text.index(" a cyst")).end() == text.index("cyst")
    assert ContextRules.from_dict({"nature_hedges": ["likely"]}).nature_pattern.match(" benign") is None


def test_mass_effect_cues_of_the_rules() -> None:
    text = "mass compressing the IVC; the trachea is displaced by a goiter; mass encasing the aorta"
    assert [m.group() for m in RULES.mass_effect_pattern.finditer(text)] == ["compressing", "displaced"]
    for written in (text, text.upper(), text.upper() + " İ"):  # the last folds inexactly: searched whole
        cues = RULES.mass_effect_cues(RULES.fold(written), 0, len(text))
        assert [written[c.start() : c.end()].lower() for c in cues] == ["compressing", "displaced"]
    assert [c.span() for c in RULES.mass_effect_cues(RULES.fold(text), 0, text.index(";"))] == [(5, 16)]
    assert not ContextRules.from_dict({}).mass_effects
    with pytest.raises(ContextRulesError, match="mass_effects"):
        ContextRules.from_dict({"mass_effects": "compressing"})


def test_contact_cues_of_the_rules() -> None:
    text = "cyst in the pancreatic tail abutting the left kidney, adjacent to the spleen; near the hilum"
    cues = RULES.mass_effect_cues(RULES.fold(text), 0, len(text))
    assert [c.group() for c in cues] == ["abutting", "adjacent to", "near the"]
    assert all(RULES.is_contact(c.group()) for c in cues)
    assert not RULES.is_contact("compressing") and not RULES.is_contact("Abutting the")
    rules = ContextRules.from_dict({"contacts": ["touching"]})
    assert [c.group() for c in rules.mass_effect_cues(rules.fold(text + ", touching"), 0, len(text) + 10)] == [
        "touching"
    ]
    with pytest.raises(ContextRulesError, match="contacts"):
        ContextRules.from_dict({"contacts": "abutting"})


def test_rules_file_errors_derive_from_radminer_error(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(RadminerError, match="expected a JSON object"):
        ContextRules.from_file(path)
    with pytest.raises(ContextRulesError, match="cannot read"):
        ContextRules.from_file(tmp_path / "missing.json")


def test_phrase_syntax_alternatives_and_optional_words(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"negated": {"forward": ["no new|other? evidence of|for"]}}', encoding="utf-8")
    rules = ContextRules.from_file(path)
    for phrase in ("no evidence of", "no new evidence for", "No other  evidence\nof"):
        assert rules.find_triggers(phrase) == [(0, len(phrase), "negated")]
    assert rules.find_triggers("no evidence") == []


# -- relevance, exclusive labels, aggregation --------------------------------------------------


def mentions_of(text: str, *pairs: tuple[str, str], status: str = POS) -> list[Mention]:
    """One mention per ``(label, surface)``, at the surface's first occurrence."""
    out = []
    for label, surface in pairs:
        start = text.index(surface)
        out.append(Mention(label, surface, start, start + len(surface), status))
    return out


@pytest.mark.parametrize(
    ("text", "relevant"),
    [
        ("new 1 cm liver lesion BOOKMARK and a stable renal cyst", {"liver"}),
        ("new 1 cm liver lesion and a stable renal cyst BOOKMARK", {"kidney", "cyst"}),
        ("liver lesion BOOKMARK, hypodense, and a renal cyst", {"liver", "hypoattenuation"}),
        ("hypodense and enhancing liver lesion BOOKMARK", {"liver", "hypoattenuation"}),
        ("liver lesion BOOKMARK, likely a cyst", {"liver", "cyst"}),
        ("liver lesion BOOKMARK, consistent with a cyst", {"liver", "cyst"}),
    ],
)
def test_relevance_to_the_bookmarked_lesion(text: str, relevant: set[str]) -> None:
    pairs = [("liver", "liver lesion"), ("kidney", "renal"), ("cyst", "cyst"), ("hypoattenuation", "hypodense")]
    mentions = mentions_of(text, *[(label, s) for label, s in pairs if s in text])
    marked = mark_irrelevant(text, mentions, GRAPH, bookmark=text.index("BOOKMARK"), rules=RULES)
    assert {m.label for m in marked if m.status == POS} == relevant
    assert {m.label for m in marked if m.status == "irrelevant"} == {m.label for m in mentions} - relevant


def test_heads_without_a_boundary_share_one_clause() -> None:
    text = "cystic mass BOOKMARK in the liver"
    mentions = mentions_of(text, ("cyst", "cystic"), ("mass", "mass"), ("liver", "liver"))
    assert mark_irrelevant(text, mentions, GRAPH, bookmark=12) == mentions


def test_relevance_overrides_negation() -> None:
    text = "liver mass BOOKMARK and no renal cyst"
    mentions = mentions_of(text, ("liver mass", "liver mass"), ("cyst", "cyst"))
    mentions[1] = Mention("cyst", "cyst", 33, 37, NEG, "no", 24, 26)
    marked = mark_irrelevant(text, mentions, GRAPH, bookmark=11)
    assert marked[1] == Mention("cyst", "cyst", 33, 37, "irrelevant")


def test_exclusive_labels_nearest_to_bookmark_wins() -> None:
    text = "left lung nodule BOOKMARK, previously right upper lobe"
    mentions = mentions_of(
        text, ("lung nodule", "lung nodule"), ("left lung", "left lung"), ("right upper lobe", "right upper lobe")
    )
    resolved = resolve_exclusive(mentions, GRAPH, bookmark=text.index("BOOKMARK"))
    assert [m.status for m in resolved] == [POS, POS, UNC]
    assert (resolved[2].trigger, resolved[2].trigger_start) == ("left lung", 0)


def test_exclusive_labels_without_bookmark_or_tied_become_uncertain() -> None:
    text = "left lung or right lung"
    mentions = mentions_of(text, ("left lung", "left lung"), ("right lung", "right lung"))
    assert [m.status for m in resolve_exclusive(mentions, GRAPH)] == [UNC, UNC]
    assert [m.status for m in resolve_exclusive(mentions, GRAPH, bookmark=11)] == [UNC, UNC]


def test_exclusive_ignores_compatible_and_non_positive_mentions() -> None:
    text = "right lung nodule, no left lung"
    mentions = mentions_of(text, ("right lung", "right lung"), ("lung nodule", "lung nodule"))
    mentions.append(Mention("left lung", "left lung", 22, 31, NEG))
    assert resolve_exclusive(mentions, GRAPH, bookmark=0) == mentions


def test_aggregate() -> None:
    mentions = [
        Mention("lung nodule", "pulmonary nodule", 0, 16),
        Mention("granuloma", "granuloma", 20, 29, UNC),
        Mention("nodule", "nodule", 30, 36, NEG),
        Mention("pleural effusion", "effusion", 40, 48, NEG),
        Mention("liver", "liver", 50, 55, "irrelevant"),
    ]
    labels, uncertain, negated = aggregate(mentions, GRAPH)
    assert labels == ("chest", "lung", "lung nodule", "nodule")
    assert uncertain == ("granuloma",)
    assert negated == ("effusion", "pleural effusion")  # a pleural effusion is an effusion (curated parent)


def test_aggregate_counts_a_question_answered_later_as_answered() -> None:
    """ "Evaluate for abscess. No abscess.": the question's uncertainty yields to the answer."""
    questions = ContextRules.default().questions
    asked = Mention("abscess", "abscess", 13, 20, UNC, "Evaluate  for", 0, 12)
    answer = Mention("abscess", "abscess", 25, 32, NEG, "No", 22, 24)
    assert aggregate([asked, answer], GRAPH, questions) == ((), (), ("abscess",))
    assert aggregate([asked, answer], GRAPH)[1] == ("abscess", "infection")  # without the rules' questions
    hedged = asked._replace(trigger="possible")  # a hedge, not a question
    assert aggregate([hedged, answer], GRAPH, questions)[1] == ("abscess", "infection")
    earlier = answer._replace(start=0, end=7)  # "No abscess. Evaluate for abscess ...": not answered
    assert aggregate([earlier, asked._replace(start=20, end=27)], GRAPH, questions)[1] == ("abscess", "infection")


def test_rules_questions_are_read_from_the_file() -> None:
    rules = ContextRules.from_dict({"uncertain": {"forward": ["query"]}, "questions": ["query|ask for?"]})
    assert rules.questions == {"query", "queryfor", "ask", "askfor"}
    with pytest.raises(ContextRulesError, match="questions: expected a list"):
        ContextRules.from_dict({"questions": "rule out"})


@pytest.mark.parametrize(
    ("negated", "expected"),
    [
        ("lung nodule", ("lung nodule", "nodule")),  # "no pulmonary nodules": no nodule, the lungs are there
        ("liver mass", ("liver mass", "mass")),
        ("kidney cyst", ("cyst", "kidney cyst")),
        ("hemangioma", ("hemangioma",)),  # a kind of neoplasm, not an organ's neoplasm
        ("lymphadenopathy", ("lymphadenopathy",)),  # not named as an organ's enlargement
        ("pleural effusion", ("effusion", "pleural effusion")),
        ("metastasis", ("metastasis",)),  # "no metastatic disease" negates no cancer
    ],
)
def test_negated_organ_finding_negates_the_finding(negated: str, expected: tuple[str, ...]) -> None:
    assert aggregate([Mention(negated, negated, 0, len(negated), NEG)], GRAPH) == ((), (), expected)
    other = Mention("nodule", "nodule", 30, 36)  # positive elsewhere ("2 cm thyroid nodule"): positive wins
    labels, _, still_negated = aggregate([Mention(negated, negated, 0, 9, NEG), other], GRAPH)
    assert "nodule" in labels and "nodule" not in still_negated


def _exclusive_by_all_pairs(mentions: list[Mention], bookmark: int | None) -> list[Mention]:
    """The rule of resolve_exclusive written as its documentation says it (all pairs): the oracle."""
    positive = [i for i, m in enumerate(mentions) if m.status == POS and m.label in GRAPH]
    expanded = {i: GRAPH.expand([mentions[i].label]) for i in positive}

    def conflict(i: int, j: int) -> bool:
        return any(GRAPH.exclusive(a) & expanded[j] for a in expanded[i])

    def distance(i: int) -> int:
        m = mentions[i]
        return 0 if bookmark is None else max(m.start - bookmark, bookmark - m.end, 0)

    out, kept = list(mentions), []
    for d in sorted({distance(i) for i in positive}):
        members = [i for i in sorted(positive, key=distance) if distance(i) == d]
        losers = {}
        for i in members:
            rival = next((j for j in kept if conflict(i, j)), None)
            if rival is None:
                rival = next((j for j in members if j != i and conflict(i, j)), None)
            if rival is not None:
                losers[i] = rival
        kept += [i for i in members if i not in losers]
        for i, j in losers.items():
            out[i] = Mention(*mentions[i][:4], UNC, mentions[j].text, mentions[j].start, mentions[j].end)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_exclusive_resolution_matches_the_all_pairs_rule(seed: int) -> None:
    rng = random.Random(seed)
    pool = [*sorted({label for pair in GRAPH.exclusive_pairs() for label in pair})[:60], "lung", "chest", "liver"]
    for _ in range(200):
        mentions = []
        for _ in range(rng.randint(0, 10)):
            start = rng.randint(0, 200)
            status = rng.choice([POS, POS, NEG])
            mentions.append(Mention(rng.choice(pool), "x", start, start + rng.randint(1, 12), status))
        bookmark = rng.choice([None, rng.randint(0, 210)])
        assert resolve_exclusive(mentions, GRAPH, bookmark=bookmark) == _exclusive_by_all_pairs(mentions, bookmark)


def test_folds_exactly() -> None:
    assert RULES.folds_exactly("No effusion")
    assert not RULES.folds_exactly("İİ no effusion")  # lower-casing moves the offsets


@pytest.mark.parametrize(
    "text",
    [
        "Adrenal nodule, adenoma versus metastasis.",
        "Streaky opacity, atelectasis vs. scarring; no effusion.",
        "Effusion and/or atelectasis. No pneumothorax.",
        "Liver lesion, cyst vs hemangioma, or possibly a metastasis.",
        "Opacity, atelectasis and/or possibly pneumonia.",
    ],
)
def test_triggers_without_the_differential_cues_match_the_rules_without_them(text: str) -> None:
    """The differential rule of refine() takes the triggers without the cues from the ones found
    already; where that could differ (a trigger may begin inside a cue: "or possibly" in "and/or
    possibly") it gets None and scans again with the rules without the cues."""
    folded, plain = RULES.fold(text), RULES.without_differentials()
    end = len(text)
    derived = RULES.without_differential_cues(folded, RULES.scan(folded, 0, end), 0, end)
    expected = plain.scan(plain.fold(text), 0, end)
    if "and/or possibly" in text:
        assert derived is None
        assert [text[t.start : t.end] for t in expected][-1] == "or possibly"
    else:
        assert derived == expected
        assert len(RULES.scan(folded, 0, end)) > len(derived)  # a cue was left out


def test_found_within_takes_the_triggers_of_a_stretch_from_those_of_a_larger_one() -> None:
    text = "No nodule. Possible mass, no effusion."
    folded = RULES.fold(text)
    found = RULES.scan(folded, 0, len(text))
    second = text.index("Possible")
    inside = found_within(found, second, len(text))
    assert inside == RULES.scan(folded, second, len(text))
    assert [text[t.start : t.end].lower() for t in inside] == ["possible", "no"]
    assert found_within(found, 1, len(text)) is None  # "No" crosses the start: a smaller scan could differ


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("Mass-like consolidation in the lingula.", "uncertain"),
        ("Nodule-like focus in the liver.", "uncertain"),
        ("Mass in the lingula, unlike the prior study.", POS),
    ],
)
def test_describe_resemblance(text: str, status: str) -> None:
    """A mention followed by "-like" describes a resemblance (given the text): uncertain."""
    word = text.split("-")[0].split()[0]
    [mention] = mentions_of(text, (word.lower(), word))
    assert describe([mention], RULES, text)[0].status == status
    assert describe([mention], RULES)[0].status == POS  # without the text, only the descriptors


def test_aggregate_keeps_the_organ_of_a_nature_hedged_on_its_nature() -> None:
    """ "Likely renal cyst": one label (kidney cyst) whose nature is hedged keeps its organ positive;
    a hemangioma's parent vessel is no organ it lies in."""
    rules = ContextRules.default()
    natures = {"nature_hedges": rules.nature_hedges, "lesion_natures": rules.lesion_natures}
    cyst = Mention("kidney cyst", "renal cyst", 7, 17, UNC, "Likely", 0, 6)
    labels, uncertain, _ = aggregate([cyst], GRAPH, **natures)
    assert "kidney" in labels and "kidney cyst" in uncertain and "cyst" in uncertain
    assert aggregate(iter([cyst]), GRAPH, **natures)[0] == labels  # mentions read in one pass
    assert aggregate([cyst], GRAPH)[0] == ()  # without the rules' hedges: all uncertain
    maybe = cyst._replace(trigger="cannot exclude")  # not a hedge on the nature
    assert aggregate([maybe], GRAPH, **natures)[0] == ()
    hemangioma = Mention("hemangioma", "hemangioma", 7, 17, UNC, "Likely", 0, 6)
    assert "blood vessel" not in aggregate([hemangioma], GRAPH, **natures)[0]
