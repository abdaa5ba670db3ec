"""The corrections of the spelling fallback (``Extractor(spelling=True)``, the default) on real report text.

    python benchmarks/eval_fuzzy.py [--min-letters 11]

Mines the Open-i reports (findings + impression), the LesaNet dev set, the CMC 2007 reports and
the NegEx kit's sentences (reports 1-60) with the shipped ontology, recording each word that the
:class:`~radminer.text.matching.Speller` corrects (a word of at least ``--min-letters`` letters,
default :data:`~radminer.text.matching.SPELLING_MIN_LETTERS`, that is no term and no English
word, one edit from a one-word term). Prints every correction with its count and an excerpt, to
be judged by reading, then the figures of eval_devset.py and eval_openi.py with and without the
fallback.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from radminer import Extractor
from radminer.io.reader import join_texts
from radminer.text.matching import SPELLING_MIN_LETTERS, Speller

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import eval_devset  # noqa: E402
import eval_negex  # noqa: E402
import eval_openi  # noqa: E402

CMC = eval_openi.SHARED / "reports" / "cmc2007_test_nocodes.xml"
_CMC_TEXT = re.compile(r"<text[^>]*>(.*?)</text>", re.DOTALL)


class Recorder:
    """A speller that notes what it corrects: lowercase word → the key it gave."""

    def __init__(self, speller: Speller) -> None:
        self.speller = speller
        self.made: dict[str, str] = {}

    def __call__(self, word: str, key: str) -> str:
        found = self.speller(word, key)
        if found != key:
            self.made[word] = found
        return found


def corrections(extractor: Extractor, texts: Iterable[str], *, min_letters: int) -> dict[str, str]:
    """The words of ``texts`` that ``extractor``'s spelling fallback corrects, with their new key."""
    recorder = Recorder(extractor.matcher.speller(min_letters=min_letters))
    extractor.analyzer.speller = recorder
    for _ in extractor.pipe(texts):
        pass
    return recorder.made


def corpus_texts() -> list[str]:
    """Open-i findings + impression, the LesaNet dev descriptions, the CMC 2007 report texts, the NegEx sentences."""
    with eval_openi.DEFAULT_REPORTS.open(encoding="utf-8", newline="") as handle:
        texts = [join_texts(row[c] for c in eval_openi.TEXT_COLUMNS) for row in csv.DictReader(handle)]
    texts += [item["text"] for item in json.loads(eval_devset.DEFAULT.read_text(encoding="utf-8"))]
    texts += _CMC_TEXT.findall(CMC.read_text(encoding="utf-8"))
    with eval_negex.DEFAULT.open(encoding="utf-8", newline="") as handle:
        texts += [row["Sentence"] for row in csv.DictReader(handle, delimiter="\t")]
    return texts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--min-letters", type=int, default=SPELLING_MIN_LETTERS, help="shortest word corrected (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    for path in (eval_openi.DEFAULT_REPORTS, eval_openi.DEFAULT_LABELS, eval_devset.DEFAULT, CMC, eval_negex.DEFAULT):
        if not path.is_file():
            print(f"eval_fuzzy: {path} is absent (../shared/data)", file=sys.stderr)
            return 1
    texts = corpus_texts()
    made = corrections(Extractor(bookmark=None, cache_size=0), texts, min_letters=args.min_letters)
    print(f"{len(texts)} texts; {len(made)} distinct words corrected")
    for word, key in sorted(made.items()):
        pattern = re.compile(rf"\b{re.escape(word)}\b", re.IGNORECASE)
        found = [(text, m) for text in texts for m in pattern.finditer(text)]
        text, m = found[0]
        excerpt = " ".join(text[max(0, m.start() - 60) : m.end() + 60].split())
        print(f"  {len(found):4d}  {word} → {key}: …{excerpt}…")
    for name, spelling in (("without the fallback", False), ("with the fallback", True)):
        extractor = Extractor(bookmark=None, spelling=spelling)
        raw, _ = eval_devset.evaluate(eval_devset.DEFAULT, extractor)
        openi = eval_openi.evaluate(extractor=extractor).micro
        print(
            f"{name}: LesaNet dev F1 {raw.f1:.4f} (tp {raw.tp}, fp {raw.fp}, fn {raw.fn}); "
            f"Open-i micro-F1 {openi.f1:.4f} (tp {openi.tp}, fp {openi.fp}, fn {openi.fn})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
