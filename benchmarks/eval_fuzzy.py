"""Would an edit-distance-1 fallback for misspelled words help? A prototype outside the library.

    python benchmarks/eval_fuzzy.py [--transpositions] [--min-length 7]

The fallback: a word of at least ``--min-length`` letters whose match key belongs to no term
(no name or synonym of the shipped ontology, after curation, uses it) is corrected to the one
single-word term key at edit distance 1 (insertion, deletion or substitution; with
``--transpositions`` also a swap of two adjacent letters). A word with candidates of two
different labels is left alone. The text is corrected before the Extractor sees it, so the
library is untouched. Prints every correction made on the Open-i reports (findings +
impression) and the LesaNet dev set, with its count and an excerpt, to be judged by reading,
and the figures of eval_devset.py and eval_openi.py with and without the fallback.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import cast

from radminer import Extractor
from radminer.io.reader import join_texts
from radminer.text.mentions import LesionLabels

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import eval_devset  # noqa: E402
import eval_openi  # noqa: E402

_WORD = re.compile(r"[A-Za-z]+")


def within_one(a: str, b: str, *, transpositions: bool) -> bool:
    """Whether ``a`` and ``b`` differ by exactly one edit."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        if not transpositions or len(diff) != 2 or diff[1] != diff[0] + 1:
            return False
        i, j = diff
        return a[i] == b[j] and a[j] == b[i]
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


class Corrector:
    """Corrects words that match no term to the single-word term one edit away (see the module docstring)."""

    def __init__(self, extractor: Extractor, *, min_length: int, transpositions: bool) -> None:
        analyzer = extractor.analyzer
        self.known: set[str] = set()
        self.single: dict[str, tuple[str, str]] = {}  # key → (label, a spelling of it)
        for phrase, label in extractor.graph.lexicon().items():
            keys = analyzer.phrase_keys(phrase)
            self.known.update(keys)
            if len(keys) == 1 and _WORD.fullmatch(phrase):
                self.single.setdefault(keys[0], (label, phrase))
        self.analyzer = analyzer
        self.min_length = min_length
        self.transpositions = transpositions
        self.made: Counter[tuple[str, str, str]] = Counter()  # (word, replacement, label)
        self.ambiguous: set[str] = set()  # words with candidates of two labels
        self.examples: dict[tuple[str, str, str], str] = {}
        self._cache: dict[str, tuple[str, str] | None] = {}

    def candidate(self, word: str) -> tuple[str, str] | None:
        """``(replacement, label)`` for ``word``, or None."""
        lower = word.lower()
        if lower not in self._cache:
            found = None
            keys = self.analyzer.phrase_keys(lower)
            if len(lower) >= self.min_length and keys and not set(keys) & self.known:
                hits = {
                    (spelling, label)
                    for key, (label, spelling) in self.single.items()
                    if within_one(lower, key, transpositions=self.transpositions)
                    or within_one(lower, spelling.lower(), transpositions=self.transpositions)
                }
                if len({label for _, label in hits}) == 1:
                    found = min(hits)
                elif hits:
                    self.ambiguous.add(lower)
            self._cache[lower] = found
        return self._cache[lower]

    def __call__(self, text: str) -> str:
        def fix(match: re.Match[str]) -> str:
            word = match.group()
            found = self.candidate(word)
            if found is None:
                return word
            replacement, label = found
            item = (word.lower(), replacement, label)
            self.made[item] += 1
            self.examples.setdefault(item, " ".join(text[max(0, match.start() - 60) : match.end() + 60].split()))
            return replacement

        return _WORD.sub(fix, text)


class CorrectingExtractor:
    """An Extractor that sees corrected text (duck-typed: ``graph``, ``__call__``, ``pipe``)."""

    def __init__(self, extractor: Extractor, corrector: Corrector) -> None:
        self.extractor, self.corrector, self.graph = extractor, corrector, extractor.graph

    def __call__(self, text: str) -> list[LesionLabels]:
        return self.extractor(self.corrector(text))

    def pipe(self, texts: Iterable[str], **kwargs: int) -> Iterator[list[LesionLabels]]:
        return self.extractor.pipe((self.corrector(t) for t in texts), **kwargs)


def corpus_texts() -> list[str]:
    """Open-i findings + impression, then the LesaNet dev descriptions."""
    with eval_openi.DEFAULT_REPORTS.open(encoding="utf-8", newline="") as handle:
        texts = [join_texts(row[c] for c in eval_openi.TEXT_COLUMNS) for row in csv.DictReader(handle)]
    return texts + [item["text"] for item in json.loads(eval_devset.DEFAULT.read_text(encoding="utf-8"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--min-length", type=int, default=7, help="shortest word corrected (default: %(default)s)")
    parser.add_argument("--transpositions", action="store_true", help="also correct a swap of two adjacent letters")
    args = parser.parse_args(argv)
    for path in (eval_openi.DEFAULT_REPORTS, eval_openi.DEFAULT_LABELS, eval_devset.DEFAULT):
        if not path.is_file():
            print(f"eval_fuzzy: {path} is absent (../shared/data)", file=sys.stderr)
            return 1
    extractor = Extractor(bookmark=None)
    corrector = Corrector(extractor, min_length=args.min_length, transpositions=args.transpositions)
    texts = corpus_texts()
    for text in texts:
        corrector(text)
    print(
        f"{len(texts)} texts; {len(corrector.single)} single-word term keys; "
        f"{sum(corrector.made.values())} corrections of {len(corrector.made)} distinct words; "
        f"{len(corrector.ambiguous)} distinct words left alone (candidates of two labels)"
    )
    for (word, replacement, label), n in corrector.made.most_common():
        print(f"  {n:4d}  {word} → {replacement} ({label}): …{corrector.examples[word, replacement, label]}…")
    corrector.made.clear()
    fuzzy = cast(Extractor, CorrectingExtractor(extractor, corrector))  # the scripts need graph, __call__, pipe
    for name, engine in (("without the fallback", extractor), ("with the fallback", fuzzy)):
        raw, _ = eval_devset.evaluate(eval_devset.DEFAULT, engine)
        openi = eval_openi.evaluate(extractor=engine).micro
        print(
            f"{name}: LesaNet dev F1 {raw.f1:.4f} (tp {raw.tp}, fp {raw.fp}, fn {raw.fn}); "
            f"Open-i micro-F1 {openi.f1:.4f} (tp {openi.tp}, fp {openi.fp}, fn {openi.fn})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
