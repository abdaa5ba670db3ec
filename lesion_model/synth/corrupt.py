"""Label noise with a known truth for lesion-synth's reports: ``lesion-synth --corrupt SHARE``.

A share of the lesions (``round(SHARE × lesions)``, drawn with ``--corrupt-seed``) get one of
their report-derived labels corrupted by editing the lesion's sentence:

- ``drop_bodypart``: the organ word is removed ("Hypodense hepatic nodule" → "Hypodense
  nodule"): the organ label goes missing (liver, lung, kidney, spleen only: the types of bone
  and lymph node lesions imply their organ);
- ``negate``: the type noun becomes "lesion" and a negated type follows ("..., without
  nodule."): the true type is mined as negated;
- ``wrong_type``: a wrong type word is put before the noun ("mass nodule", "cystic mass"): a
  wrong type is mined as positive.

Each lesion's kind is drawn among the kinds its sentence allows. ``corruptions.csv`` records
``lesion_id, kind, label`` (the ontology term corrupted), the sentence before and after. The
draws never touch the generator of the dataset itself: without ``--corrupt`` the output is
byte-identical to that of a run without the option.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .words import ORGAN_WORDS, TYPE_WORDS

if TYPE_CHECKING:
    from .generate import SynthLesion

__all__ = ["CORRUPTION_COLUMNS", "KINDS", "Corruption", "Corruptor"]

KINDS = ("drop_bodypart", "negate", "wrong_type")
CORRUPTION_COLUMNS = ("lesion_id", "kind", "label", "original", "corrupted")
_DROPPABLE = ("liver", "lung", "kidney", "spleen")
_NOUN = re.compile(r"(?P<noun>[\w ]+?) BOOKMARK")


@dataclass(frozen=True)
class Corruption:
    """One corrupted lesion sentence."""

    lesion_id: int
    kind: str
    label: str
    original: str
    corrupted: str

    def row(self) -> list[object]:
        return [self.lesion_id, self.kind, self.label, self.original, self.corrupted]


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _words_before_bookmark(sentence: str) -> str:
    match = _NOUN.search(sentence)
    return match.group("noun") if match else ""


def _drop_bodypart(sentence: str, lesion: SynthLesion) -> tuple[str, str] | None:
    if lesion.organ not in _DROPPABLE:
        return None
    for word in sorted(set(ORGAN_WORDS[lesion.organ]), key=len, reverse=True):
        pattern = re.compile(rf"\b{re.escape(word)}\b ?", re.IGNORECASE)
        head = _words_before_bookmark(sentence)
        if pattern.search(head):
            new_head = pattern.sub("", head, count=1).strip()
            return lesion.organ, _capitalise(sentence.replace(head, new_head, 1))
    return None


def _type_phrase(sentence: str, lesion: SynthLesion) -> tuple[str, str] | None:
    """(type label, its phrase) when the sentence's noun right before BOOKMARK names the type."""
    head = _words_before_bookmark(sentence).lower()
    for label, phrases in TYPE_WORDS.items():
        if label in lesion.labels:
            for phrase in sorted(set(phrases), key=len, reverse=True):
                if head.endswith(phrase):
                    return label, phrase
    return None


def _negate(sentence: str, lesion: SynthLesion) -> tuple[str, str] | None:
    found = _type_phrase(sentence, lesion)
    if found is None:
        return None
    label, phrase = found
    cut = sentence.lower().index(f"{phrase} bookmark")
    edited = _capitalise(f"{sentence[:cut]}lesion{sentence[cut + len(phrase) : -1]}, without {phrase}.")
    return label, edited


def _wrong_type(sentence: str, lesion: SynthLesion) -> tuple[str, str]:
    """A wrong type before the noun: a mass for a non-mass lesion of an organ, else a cyst."""
    solid_organ = lesion.organ in ("liver", "lung", "kidney", "spleen")
    label, word = ("mass", "mass") if solid_organ and "mass" not in lesion.labels else ("cyst", "cystic")
    if label in lesion.labels:
        label, word = "mass", "mass"
    head = _words_before_bookmark(sentence)
    noun = _type_phrase(sentence, lesion)
    lymph_node = head.lower().endswith("lymph node")
    phrase = noun[1] if noun else ("lymph node" if lymph_node else head.split()[-1])
    at = head.lower().rindex(phrase)
    new_head = f"{head[:at]}{word} {head[at:]}"
    return label, _capitalise(sentence.replace(head, new_head, 1))


class Corruptor:
    """Chooses which lesions to corrupt and corrupts their sentences (own generator)."""

    def __init__(self, share: float, lesions: int, seed: int) -> None:
        if not 0 <= share <= 1:
            raise ValueError(f"--corrupt: expected a share from 0 to 1, found {share!r}")
        self.rng = np.random.default_rng([seed, 0x5EED])
        count = round(share * lesions)
        self.chosen = {int(i) for i in self.rng.choice(lesions, size=count, replace=False)}
        self.records: list[Corruption] = []

    def __call__(self, lesion_id: int, sentence: str, lesion: SynthLesion) -> str:
        """The sentence of lesion ``lesion_id``, corrupted when it was chosen."""
        if lesion_id not in self.chosen:
            return sentence
        options = {
            "drop_bodypart": _drop_bodypart(sentence, lesion),
            "negate": _negate(sentence, lesion),
            "wrong_type": _wrong_type(sentence, lesion),
        }
        kinds: Sequence[str] = [k for k in KINDS if options[k] is not None]
        kind = kinds[int(self.rng.integers(len(kinds)))]
        label, edited = options[kind]  # type: ignore[misc]
        self.records.append(Corruption(lesion_id, kind, label, sentence, edited))
        return edited
