"""Analysis: tokens, sentences and lemmas of radiology text with a blank spaCy pipeline.

:class:`Analyzer` tokenizes with ``spacy.blank("en")`` plus radiology abbreviations
("approx.", "Fig."), splits sentences with fast rules (terminators, list numbers,
section headers such as ``FINDINGS:``, blank lines, bullets; a sentence longer than
:data:`MAX_SENTENCE_TOKENS` is cut into pieces) and gives every token a
*match key*: the lemma of its lowercase form, or ``None`` for tokens that matching skips
(whitespace, a hyphen inside a word, "the"); bookmarks get :data:`BOOKMARK_KEY` and the words
of de-identification placeholders ("**NAME[AAA]") :data:`PLACEHOLDER_KEY`, which match
nothing. Ontology synonyms go through the same :meth:`Analyzer.phrase_keys`, so text and
lexicon always agree ("ground-glass" and "ground glass" both give ``("ground", "glass")``).

Lemmas come from spaCy's lookup table (spacy-lookups-data) or NLTK's WordNet, of the word in
American spelling ("haematoma" → "hematoma"; :data:`BRITISH_SPELLINGS`), both corrected by a
curated exceptions table (``radminer/text/data/lemmas.csv``: "masses" → "mass", "left" stays
"left") and, for words neither knows, plural rules ("hypodensities" →
"hypodensity"). Lemmas are cached per lowercase form. spaCy is imported on first use.
"""

from __future__ import annotations

import csv
import itertools
import logging
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress
from operator import add
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ..errors import InputError, RadminerError

if TYPE_CHECKING:
    from spacy.strings import StringStore
    from spacy.tokenizer import Tokenizer
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

__all__ = [
    "ABBREVIATIONS",
    "BOOKMARK_KEY",
    "BRITISH_SPELLINGS",
    "LEMMATIZERS",
    "MAX_SENTENCE_TOKENS",
    "PLACEHOLDER_KEY",
    "Analysis",
    "Analyzer",
    "american_spelling",
    "make_lemmatizer",
]

logger = logging.getLogger(__name__)

#: Lemmatizer backends accepted by :class:`Analyzer`.
LEMMATIZERS: tuple[str, ...] = ("spacy", "wordnet")

#: Abbreviations whose period does not end a sentence (kept as one token; any case). "no." is
#: not one: it ends a sentence ("Effusion: no. Consolidation: yes"), but before a number it is
#: "number" and does not ("series no. 4", see ``_NUMERO``).
ABBREVIATIONS: tuple[str, ...] = (
    "approx.", "fig.", "figs.", "e.g.", "i.e.", "vs.", "cf.", "dr.", "incl.",
    "resp.", "pt.", "pts.", "img.", "ser.", "ant.", "post.", "sup.", "inf.", "lat.",
    "med.", "prox.", "dist.", "approx.", "hx.", "mr.", "mrs.", "ms.", "neg.", "prev.", "susp.", "ext.",
    "lt.", "rt.",
)  # fmt: skip

#: Units written in mixed case, whose period spaCy keeps (a capital before it): at a sentence's
#: end it ends the sentence ("free fluid, approx. 20 mL. The liver is normal.").
_MIXED_CASE_UNITS = ("mL", "dL", "mGy", "mSv", "mCi", "MBq")
#: spaCy's English exceptions of this shape are mostly US states and company words ("Mass.",
#: "Ill.", "Co."): in reports they are words that end a sentence ("... adrenal Mass."), so they
#: are split, except months and titles.
_PLACE_ABBREVIATION = re.compile(r"[A-Z][a-z]+\.")
_KEPT_ABBREVIATIONS = frozenset(
    [
        "jan.",
        "feb.",
        "mar.",
        "apr.",
        "jun.",
        "jul.",
        "aug.",
        "sep.",
        "sept.",
        "oct.",
        "nov.",
        "dec.",
        "dr.",
        "mr.",
        "mrs.",
        "ms.",
        "prof.",
        "st.",
        "jr.",
        "mt.",
    ]
)


def _emoticon(form: str) -> bool:
    """Whether a spaCy exception is an emoticon (":)", "):", "(:", ";-)"): punctuation with a
    colon, semicolon or equals sign. They are dropped: in reports they glue a header's colon to
    a bracket ("DIAGNOSIS(ES):" would end in the token "):" and lose its colon)."""
    return not any(c.isalnum() for c in form) and any(c in ":;=" for c in form)


_LEMMAS_CSV = Path(__file__).resolve().parent / "data" / "lemmas.csv"

# token kinds (bit flags), computed once per distinct token text
(_WORD, _TERM, _CLOSE, _COLON, _HYPHEN, _SPACE, _NEWLINE, _BLANK, _NUMBER, _UPPER, _BULLET, _ALPHA, _JOINER,
 _CAPITAL, _WRAPS, _PAREN, _LETTER, _GAP, _OPEN, _LABEL, _DOTTED, _INITIAL,
 _COMMA, _DIGIT, _SIDE, _OPENER, _NUMERO, _SEMICOLON) = (1 << i for i in range(28))  # fmt: skip
#: The bits above ``_ORDINAL_SHIFT`` hold the ordinal of a list label ("3" → 3, "c" / "c." → 3,
#: "C" / "C." → 35): labels continue a list when their ordinal is the previous one's plus one.
_ORDINAL_SHIFT = 28
_UPPER_ORDINALS = 32
#: Kinds that the sentence splitter acts on; ``_SKIPPED``: kinds that do not start a sentence.
_EVENTS = _TERM | _COLON | _NEWLINE | _PAREN | _GAP | _DOTTED | _OPENER
_SKIPPED = _SPACE | _CLOSE | _TERM
_TERMINATORS = frozenset({".", "!", "?", "..", "...", "…"})
_CLOSERS = frozenset({")", "]", "}", '"', "'", "”", "’"})
_HYPHENS = frozenset({"-", "–", "‐"})
#: A side in one capital letter ("R adrenal nodule", "L hilar adenopathy").
_SIDES = {"R": "right", "L": "left"}
#: The plural of an abbreviation in capitals ("GGOs", "LNs").
_ABBREVIATION_PLURAL = re.compile("[A-Z]{2,}s")
#: Words after a dash that continue a word cut short ("Pre- and post-contrast"), so no header ends there.
_NOT_AFTER_DASH = frozenset({"and", "or", "to"})
_MAX_DASH_HEADER_WORDS = 3
_HAS_HYPHEN = re.compile("[" + "".join(map(re.escape, sorted(_HYPHENS))) + "]")
_BULLETS = frozenset({"-", "*", "•", "–"})
_SKIP_WORDS = frozenset({"the"})
#: Tokens that may join the words of a header ("LUNGS/PLEURA:", "Heart & great vessels:", "DIAGNOSIS(ES):").
_JOINERS = frozenset({"/", "&", "-", ",", "and", "of", "or", "(", ")"})
#: Words that, capitalized after a word in lower case (not an article or a preposition), open a
#: new sentence dictated without a stop ("The 1.5 cm pancreatic cyst is unchanged The spleen is
#: normal", "No pleural effusion Left lower lobe consolidation is new"; not "in the Left lower lobe").
_OPENERS = frozenset(
    {"The", "There", "No", "Left", "Right", "Bilateral", "Mild", "Small", "Moderate", "Large", "Multiple"}
)
#: A side: written alone before a colon under an organ header ("KIDNEYS:\nRight: 3 cm cyst."), it
#: is no header, and its line goes on with the organ's.
_SIDE_WORDS = frozenset({"right", "left", "bilateral", "both", "rt", "lt"})
#: Tokens after which a line break, or two spaces, do not end a sentence (the line was wrapped mid-phrase).
_WRAPPED_AFTER = frozenset(
    {",", "and", "or", "of", "the", "a", "an", "with", "in", "on", "to", "for", "at", "by", "-", "/"}
)
#: Infixes and prefixes split besides spaCy's, for text typed without blanks: "effusion;no",
#: "consolidation.mild", "nodule.2 cm", ".Scattered" (two letters at least on each side of a
#: period, so "e.g." and "p.o." stay whole), a list number glued to its item ("2.Bilateral
#: renal calculi"), a header's colon glued to its text ("spleen:normal", "Liver:- normal"), an
#: opening bracket after a letter ("nodule(s)", "DIAGNOSIS(ES):", "splenomegaly(16 cm)"), a period
#: after a closing one ("ascites(moderate).Splenomegaly"), and a bullet glued to its item ("-Steatosis").
_INFIXES = (
    r";",
    r"(?<=[A-Za-z]{2})\.(?=[A-Za-z]{2})",
    r"(?<=[A-Za-z]{2})\.(?=\d)",
    r"(?<=\d)\.(?=[A-Za-z]{2})",
    r"(?<=\))\.(?=[A-Za-z]{2})",
    r"(?<=[A-Za-z]{2}):(?=[A-Za-z0-9-])",
    r"(?<=[A-Za-z])\((?=[A-Za-z0-9])",
)
_PREFIXES = (r"\.(?=[A-Za-z]{2})", r"-(?=[A-Za-z])")
#: Suffix splits besides spaCy's: the period after a station, level or segment ("station 4R.",
#: "segment 4A."), which spaCy keeps as if it were an abbreviation's, and a hyphen at a word's
#: end ("Liver- normal": a header's dash).
_SUFFIXES = (r"(?<=\d[A-Za-z])\.", r"(?<=[A-Za-z]{2})-")
#: Most tokens between an unclosed "(" and a list label that it encloses ("(series 4, image 2)").
_PARENTHESIS_REACH = 8
#: Most words in a header that is not written in capitals ("Reason for exam:").
_MAX_HEADER_WORDS = 4
_REDACTED = re.compile(r"X{2,}")
#: Match key of bookmark tokens: it matches nothing and breaks matches and adjacency.
BOOKMARK_KEY = " bookmark"
#: Match key of the tokens of a de-identification placeholder: it matches nothing either.
PLACEHOLDER_KEY = " placeholder"
#: De-identification placeholders: "**NAME[AAA BBB]", "**DATE[Jan 01 2020]" (NegEx kit, i2b2),
#: "[**Last Name (NamePattern1) 123**]" (MIMIC). Their words are no findings ("**NAME[AAA]").
_PLACEHOLDER = re.compile(r"\*\*[A-Z][A-Z-]*\[[^\]\n]*\]|\[\*\*[^\n]*?\*\*\]")
_NOT_START = 2**64 - 1  # SENT_START -1 as spaCy's uint64 arrays hold it
#: Most tokens in one sentence. A longer one (a line without punctuation, thousands of bookmarks
#: in one sentence) is cut into pieces of at most this many tokens, each after the last "," or ";"
#: of its last quarter when that holds one. Every later stage works within a sentence, so this
#: bounds their work per sentence (and a bookmark row, see ``extractor.BOOKMARK_REACH``) and keeps
#: the cost of any text linear in its length. About 100 words: 2.7 times the longest sentence of
#: the 4,827 Open-i and CMC 2007 reports (48 tokens), so real reports are not cut.
MAX_SENTENCE_TOKENS = 128
_CUT_AFTER = frozenset({",", ";"})


@dataclass
class Analysis:
    """One analyzed text.

    ``keys[i]``: match key of token ``i`` (``None``: skipped by matching); ``sent_starts``:
    token index of each sentence start, ascending (``[0]`` for any non-empty text);
    ``bookmarks``: token index of the first token of each bookmark, in text order;
    ``text``: the text (``doc.text``, which spaCy rebuilds on each access); ``orths``: the
    ORTH hash of each token; ``headers``: token ranges ``(first, after the colon)`` of the
    headers ("FINDINGS:", "Liver:"), each a sentence of its own; ``cuts``: the starts in
    ``sent_starts`` that are not sentence starts but cuts in a sentence longer than
    :data:`MAX_SENTENCE_TOKENS` tokens, ascending.
    """

    doc: Any  # a spacy.tokens.Doc (spaCy is imported on first use, after this module)
    text: str
    keys: list[str | None]
    sent_starts: list[int]
    bookmarks: list[int]
    orths: list[int] = field(default_factory=list, repr=False)
    headers: list[tuple[int, int]] = field(default_factory=list)
    _offsets: tuple[list[int], list[int]] | None = field(default=None, repr=False, compare=False)
    cuts: list[int] = field(default_factory=list)

    def offsets(self) -> tuple[list[int], list[int]]:
        """Character offsets ``(starts, ends)`` of every token (computed once)."""
        if self._offsets is None:
            from spacy.attrs import IDX, LENGTH

            starts, lengths = self.doc.to_array([IDX, LENGTH]).T.tolist()
            self._offsets = (starts, list(map(add, starts, lengths)))
        return self._offsets

    def chars(self, start: int, end: int) -> tuple[int, int]:
        """Character offsets ``(start, end)`` of tokens ``[start, end)`` (``end > start``)."""
        starts, ends = self.offsets()
        return starts[start], ends[end - 1]

    def sentence_of(self, token: int) -> tuple[int, int]:
        """``(start, end)`` token range of the sentence holding ``token``."""
        k = bisect_right(self.sent_starts, token) - 1
        end = self.sent_starts[k + 1] if k + 1 < len(self.sent_starts) else len(self.keys)
        return self.sent_starts[k], end


def _read_exceptions() -> dict[str, str]:
    with _LEMMAS_CSV.open(encoding="utf-8", newline="") as handle:
        return {row["form"].lower(): row["lemma"].lower() for row in csv.DictReader(handle)}


def _plural_rule(word: str) -> str:
    """Lemma of a word no table knows: common English and medical plural endings."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("oses", "ases", "eses")) and len(word) > 5:
        return word[:-2] + "is"
    if word.endswith("ae") and len(word) > 4:
        return word[:-1]
    if word.endswith("omas") and len(word) > 5:  # "hematomas", "seromas" (other "-as" words stay: "pancreas")
        return word[:-1]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "as", "os", "ys")):
        return word[:-1]
    return word


@lru_cache(maxsize=1)
def _spacy_lookup() -> dict[str, str]:
    """spaCy's English lemma lookup table (spacy-lookups-data), read straight from its file:
    what ``spacy.lookups.load_lookups`` reads, without its entry-point scan and key hashing; read
    once per process (the lemmatizer, :func:`english_words` and ``radminer suggest`` share it;
    none changes it)."""
    from spacy.util import load_language_data
    from spacy_lookups_data import en

    return cast("dict[str, str]", load_language_data(en["lemma_lookup"]))  # a JSON object of str → str


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """The English words of spaCy's lemma tables (spacy-lookups-data: the lookup table's forms
    and lemmas, and the lemma index): about 120,000, read on first use."""
    from spacy.util import load_language_data
    from spacy_lookups_data import en

    index = cast("dict[str, list[str]]", load_language_data(en["lemma_index"]))
    lookup = _spacy_lookup()
    return frozenset(itertools.chain(lookup, lookup.values(), *index.values()))


def _spacy_lemmatizer() -> Callable[[str], str]:
    table = _spacy_lookup()
    return lambda word: table.get(word) or _plural_rule(word)


def _wordnet_lemmatizer() -> Callable[[str], str]:
    import nltk

    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        raise RadminerError(
            "lemmatizer 'wordnet' needs NLTK's WordNet data, which is not installed; install it with "
            "`python -m nltk.downloader wordnet` (or use lemmatizer='spacy')"
        ) from None
    from nltk.stem import WordNetLemmatizer

    wordnet = WordNetLemmatizer()

    def lemma(word: str) -> str:
        noun = wordnet.lemmatize(word, "n")
        return noun if noun != word else wordnet.lemmatize(word, "v")

    return lemma


#: British spellings → American ones, by the letters that differ in the stems of report words
#: ("haematoma", "oesophageal", "oedema", "ischaemic", "tumour", "characterised"). Each stem is
#: one that no other English word holds ("-our" only in "tumour", "favour" and "behaviour": not
#: in "contour" or "four"; "-ise" only after the stems listed: not in "characteristic").
BRITISH_SPELLINGS: dict[str, str] = {
    "haem": "hem", "aemi": "emi", "oesophag": "esophag", "oedem": "edem", "caec": "cec", "coeliac": "celiac",
    "faec": "fec", "foet": "fet", "paed": "ped", "oestr": "estr", "aetiol": "etiol", "anaesth": "anesth",
    "gynaec": "gynec", "rrhoea": "rrhea", "pnoea": "pnea", "tumour": "tumor", "favour": "favor",
    "behaviour": "behavior",
    **{
        f"{stem}s{vowel}": f"{stem}z{vowel}"
        for stem in ("characteri", "normali", "visuali", "locali")
        for vowel in "aei"
    },
}  # fmt: skip
_BRITISH = re.compile("|".join(sorted(BRITISH_SPELLINGS, key=len, reverse=True)))


def american_spelling(word: str) -> str:
    """``word`` (lowercase) in American spelling (see :data:`BRITISH_SPELLINGS`)."""
    return _BRITISH.sub(lambda m: BRITISH_SPELLINGS[m.group()], word)


def make_lemmatizer(name: str = "spacy") -> Callable[[str], str]:
    """A function lowercase word → lemma: the word in American spelling (:func:`american_spelling`),
    lemmatized by backend ``name`` corrected by the exceptions table."""
    backends = {"spacy": _spacy_lemmatizer, "wordnet": _wordnet_lemmatizer}
    if name not in backends:
        raise InputError(f"unknown lemmatizer {name!r}; expected one of {', '.join(LEMMATIZERS)}")
    backend = backends[name]()
    exceptions = _read_exceptions()

    def lemma(word: str) -> str:
        word = american_spelling(word)
        found = exceptions.get(word)
        return found if found is not None else backend(word)

    return lemma


def _english_tokenizer(vocab: Vocab | None) -> Tokenizer:
    """The tokenizer of ``spacy.blank("en")`` (on ``vocab`` when given), built as spaCy's
    ``tokenizer_factory`` builds it, without a pipeline (whose registry scan costs start-up time)."""
    from spacy.lang.en import English
    from spacy.symbols import ORTH
    from spacy.tokenizer import Tokenizer
    from spacy.util import compile_infix_regex, compile_prefix_regex, compile_suffix_regex
    from spacy.vocab import create_vocab

    defaults = English.Defaults
    prefixes, suffixes = defaults.prefixes, defaults.suffixes
    assert prefixes is not None and suffixes is not None  # English inherits spaCy's base punctuation rules
    rules = {
        form: tokens
        for form, tokens in defaults.tokenizer_exceptions.items()
        if (not _PLACE_ABBREVIATION.fullmatch(form) or form.lower() in _KEPT_ABBREVIATIONS) and not _emoticon(form)
    }
    rules.update({f"{unit}.": [{ORTH: unit}, {ORTH: "."}] for unit in _MIXED_CASE_UNITS})
    return Tokenizer(
        create_vocab("en", defaults) if vocab is None else vocab,
        rules=rules,
        prefix_search=compile_prefix_regex([*_PREFIXES, *prefixes]).search,
        suffix_search=compile_suffix_regex([*_SUFFIXES, *suffixes]).search,
        infix_finditer=compile_infix_regex([*(defaults.infixes or ()), *_INFIXES]).finditer,
        token_match=defaults.token_match,
        url_match=_url_match(defaults.url_match),
    )


def _url_match(match: Callable[[str], Any] | None) -> Callable[[str], Any] | None:
    """spaCy's URL matcher for tokens with a scheme or "www." only: "consolidation.mild" is two
    words that lost a blank, not a domain name."""
    if match is None:
        return None
    return lambda text: match(text) if "://" in text or text.lower().startswith("www.") else None


def _kind(text: str) -> int:
    """Bit flags of one token text (and the ordinal of a list label)."""
    if text.isspace():
        if "\n" not in text:
            return _SPACE | (_GAP if text.strip(" ") == "" else 0)  # the 2nd, 3rd ... of 2+ spaces
        return _SPACE | _NEWLINE | (_BLANK if text.count("\n") > 1 else 0)
    kind = _label(text)
    if text in _TERMINATORS:
        kind |= _TERM
    elif text in _CLOSERS:
        kind |= _CLOSE
    elif text == ":":
        kind |= _COLON
    elif text == ",":
        kind |= _COMMA
    elif text == ";":
        kind |= _SEMICOLON
    if text in _HYPHENS:
        kind |= _HYPHEN
    if text in _BULLETS:
        kind |= _BULLET
    if text[0].isdigit():
        kind |= _DIGIT  # "3.5", "12", "2x3"
        if text.isdigit() and len(text) <= 2:
            kind |= _NUMBER
    if text.lower() in _JOINERS:
        kind |= _JOINER
    if text.lower() in _WRAPPED_AFTER:
        kind |= _WRAPS
    if text.lower() in _SIDE_WORDS:
        kind |= _SIDE
    if text in _OPENERS:
        kind |= _OPENER
    if text.lower() == "no":
        kind |= _NUMERO
    if text == ")":
        kind |= _PAREN
    elif text == "(":
        kind |= _OPEN
    if text[0].isupper():
        kind |= _CAPITAL
    if any(c.isalnum() for c in text):
        kind |= _WORD
        if text.isalpha():
            kind |= _ALPHA
            if text.isupper() and len(text) > 1 and not _REDACTED.fullmatch(text):
                kind |= _UPPER
            elif text.isupper():
                kind |= _LETTER | (_INITIAL if len(text) == 1 else 0)
    return kind


def _label(text: str) -> int:
    """The list-label bits of a token text: a number of one or two digits, a letter, or a letter
    and a period ("b."); 0 for any other text."""
    if text.isdecimal() and len(text) <= 2:  # not "²": a digit, but not a decimal one
        return _LABEL | int(text) << _ORDINAL_SHIFT
    letter, dot = text[:1], text[1:]
    if dot not in ("", ".") or not (letter.isascii() and letter.isalpha()):
        return 0
    ordinal = ord(letter.lower()) - ord("a") + 1 + (_UPPER_ORDINALS if letter.isupper() else 0)
    return _LABEL | (_DOTTED if dot else 0) | ordinal << _ORDINAL_SHIFT


class Analyzer:
    """Tokenizer, sentence splitter and lemmatizer of radminer (see the module docstring).

    ``bookmark``: a regular expression marking lesions (``None``: no bookmarks).
    ``lemmatizer``: one of :data:`LEMMATIZERS`. ``vocab``: a spaCy ``Vocab`` to share with
    another pipeline (its docs can then be annotated).
    """

    def __init__(
        self, *, bookmark: str | None = "BOOKMARK", lemmatizer: str = "spacy", vocab: Vocab | None = None
    ) -> None:
        from spacy.attrs import IDX, LENGTH, ORTH

        self._columns = [ORTH, IDX, LENGTH]
        try:
            self.bookmark = re.compile(bookmark) if bookmark else None
        except re.error as exc:
            raise InputError(f"bookmark: invalid regular expression {bookmark!r} ({exc})") from None
        if self.bookmark is not None and self.bookmark.search("") is not None:
            raise InputError(f"bookmark: the regular expression {bookmark!r} matches the empty string")
        self.lemmatizer_name = lemmatizer
        self.lemma = make_lemmatizer(lemmatizer)
        self.tokenizer = _english_tokenizer(vocab)
        for abbreviation in dict.fromkeys(ABBREVIATIONS):
            for form in {abbreviation, abbreviation.capitalize(), abbreviation.upper()}:
                self.tokenizer.add_special_case(form, [{"ORTH": form}])
        #: A word's match key corrected when the word is misspelled: (lowercase word, key) → key
        #: (the Extractor sets :class:`~radminer.text.matching.Speller` here; ``None``: none).
        self.speller: Callable[[str, str], str] | None = None
        # ORTH hash → match key, kind and lemma hash of the token text; filled lazily
        self._keys: dict[int, str | None] = {}
        self._kinds: dict[int, int] = {}
        self._lemmas: dict[int, int] = {}

    # -- lexicon side -------------------------------------------------------------------
    def phrase_keys(self, text: str) -> tuple[str, ...]:
        """Match keys of a term or synonym (skipped tokens left out)."""
        analysis = self.analyze(text, bookmarks=False)
        return tuple(k for k in analysis.keys if k is not None)

    # -- text side ------------------------------------------------------------------------
    def analyze(self, text: str, *, bookmarks: bool = True, write_doc: bool = True) -> Analysis:
        """Tokenize ``text`` and analyze it (see :meth:`annotate`)."""
        if not isinstance(text, str):
            raise InputError(f"expected the text as str, found {type(text).__name__}")
        return self.annotate(self.tokenizer(text), bookmarks=bookmarks, text=text, write_doc=write_doc)

    def pipe(self, texts: Iterable[str], *, batch_size: int = 256, write_doc: bool = True) -> Iterator[Analysis]:
        """:meth:`analyze` over a stream of texts (``batch_size``: texts tokenized at once)."""
        batch: list[str] = []
        for text in itertools.chain(texts, [None]):
            if text is not None:
                if not isinstance(text, str):
                    raise InputError(f"expected each text as str, found {type(text).__name__}")
                batch.append(text)
                if len(batch) < batch_size:
                    continue
            for item, doc in zip(batch, self.tokenizer.pipe(batch, batch_size=batch_size), strict=True):
                yield self.annotate(doc, text=item, write_doc=write_doc)
            batch = []

    def _learn(self, orths: Iterable[int], strings: StringStore) -> None:
        """Fill the per-ORTH tables for the token texts ``orths``."""
        for orth in orths:
            text = strings[orth]
            kind = _kind(text)
            key: str | None = None
            lemma_hash = orth
            if not kind & _SPACE:
                lower = text.lower()
                if _ABBREVIATION_PLURAL.fullmatch(text):  # "GGOs", "LNs": the abbreviation's plural
                    lower = lower[:-1]
                lower = _SIDES.get(text, lower)
                key = self.lemma(lower) if kind & _WORD else lower
                if kind & _ALPHA and self.speller is not None:
                    key = self.speller(lower, key)
                lemma_hash = strings.add(key)
                if key in _SKIP_WORDS:
                    key = None
            self._keys[orth] = key
            self._kinds[orth] = kind
            self._lemmas[orth] = lemma_hash

    def annotate(
        self,
        doc: Doc,
        *,
        text: str | None = None,
        bookmarks: bool = True,
        write_doc: bool = True,
        overwrite: bool = True,
    ) -> Analysis:
        """Analyze a tokenized ``doc``.

        ``write_doc``: also store lemmas and sentence starts in ``doc`` (costs about a third
        of the analysis; the :class:`~radminer.Extractor` needs neither). ``overwrite=False``
        keeps lemmas and sentences the doc already holds (from another pipeline).
        ``text``: ``doc.text`` when the caller has it.
        """
        text = doc.text if text is None else text
        if not len(doc):
            return Analysis(doc, text, [], [], [])
        orths, idx, lengths = doc.to_array(self._columns).T.tolist()
        try:
            keys = list(map(self._keys.__getitem__, orths))
        except KeyError:  # a token text not seen before (not `set(orths) - keys()`: that walks the whole table)
            self._learn({o for o in orths if o not in self._keys}, doc.vocab.strings)
            keys = list(map(self._keys.__getitem__, orths))
        kinds = list(map(self._kinds.__getitem__, orths))
        ends = list(map(add, idx, lengths))
        if _HAS_HYPHEN.search(text):
            _join_hyphenated(keys, kinds, idx, ends)
            _mark_dashes(keys, kinds, idx, ends)
        if "?" in text:
            _mark_queries(text, kinds, idx, ends)
        if "*" in text or "•" in text:
            _mark_inline_bullets(kinds, idx, ends)
        marks = self._bookmarks(doc, text) if bookmarks and self.bookmark is not None else []
        marked = {i for first, last in marks for i in range(first, last)}
        for i in marked:
            keys[i] = BOOKMARK_KEY
        if "**" in text:
            for found in _PLACEHOLDER.finditer(text):
                for i in range(bisect_right(ends, found.start()), bisect_left(idx, found.end())):
                    keys[i] = PLACEHOLDER_KEY
        headers: list[tuple[int, int]]
        if write_doc and not overwrite and doc.has_annotation("SENT_START"):
            starts, headers = [s.start for s in doc.sents], []
        else:
            starts, headers = _sentence_starts(kinds, marked)
        starts, cuts = _cut_long_sentences(starts, keys)
        if write_doc:
            _write(doc, list(map(self._lemmas.__getitem__, orths)), starts, overwrite=overwrite)
        offsets = idx, ends
        bookmark_starts = [first for first, _ in marks]
        return Analysis(doc, text, keys, starts, bookmark_starts, orths, headers, offsets, cuts)

    def _bookmarks(self, doc: Doc, text: str) -> list[tuple[int, int]]:
        """Token ranges of the bookmarks of ``doc``."""
        assert self.bookmark is not None
        out = []
        for match in self.bookmark.finditer(text):
            span = doc.char_span(match.start(), match.end(), alignment_mode="expand")
            if span is not None and len(span):
                out.append((span.start, span.end))
        return out


def _write(doc: Doc, lemmas: list[int], starts: list[int], *, overwrite: bool) -> None:
    """Store lemma hashes and sentence starts in ``doc`` (keeping existing ones unless ``overwrite``)."""
    import numpy
    from spacy.attrs import LEMMA, SENT_START

    attrs, columns = [], []
    if overwrite or not doc.has_annotation("LEMMA"):
        attrs.append(LEMMA)
        columns.append(lemmas)
    if overwrite or not doc.has_annotation("SENT_START"):
        flags = [_NOT_START] * len(doc)
        for s in starts:
            flags[s] = 1
        attrs.append(SENT_START)
        columns.append(flags)
    if attrs:
        # spaCy types the array as thinc's Ints2d; any 2-D integer ndarray is what it takes
        doc.from_array(attrs, numpy.array(columns, dtype="uint64").T)  # type: ignore[arg-type]


def _join_hyphenated(keys: list[str | None], kinds: list[int], starts: list[int], ends: list[int]) -> None:
    """Skip hyphens inside words: "ground-glass" reads as "ground glass" (a hyphen that touches the
    word before and the word after: nothing between their offsets)."""
    for i in compress(range(1, len(kinds) - 1), map(_HYPHEN.__and__, kinds[1:-1])):
        if ends[i - 1] == starts[i] and ends[i] == starts[i + 1] and kinds[i + 1] & _WORD:
            keys[i] = None


def _mark_dashes(keys: list[str | None], kinds: list[int], starts: list[int], ends: list[int]) -> None:
    """A hyphen with a blank after it, after one to three words that start a line, the first
    capitalized (or after a ";"), or after a stop or a colon, capitalized, ends a header as a colon
    does ("Liver - few small cysts", "Spleen- normal", "...; spleen - normal", "ADRENALS: Left -
    nodule 1.3 cm. Right - normal."; not "Pre- and post-contrast images"); elsewhere,
    with blanks on both sides and a word before it, it ends a sentence where its line has two
    such dashes at least, a list ("Findings - liver normal - 2 cm mass right adrenal - kidneys
    normal"; not "enlarged node - reactive vs neoplastic")."""
    separators: list[int] = []
    for i in compress(range(1, len(kinds) - 1), map(_HYPHEN.__and__, kinds[1:-1])):
        if ends[i] == starts[i + 1] or keys[i + 1] in _NOT_AFTER_DASH:
            continue
        first = i
        while first > 0 and kinds[first - 1] & _ALPHA and i - first < _MAX_DASH_HEADER_WORDS:
            first -= 1
        line_start = first == 0 or kinds[first - 1] & _NEWLINE
        after_stop = first and kinds[first - 1] & (_TERM | _COLON)  # "... 5 HU. Right - normal."
        if first < i and (
            ((line_start or after_stop) and kinds[first] & _CAPITAL) or (first and kinds[first - 1] & _SEMICOLON)
        ):
            kinds[i] |= _COLON
        elif ends[i - 1] < starts[i] and kinds[i - 1] & _ALPHA and kinds[i + 1] & (_ALPHA | _DIGIT):
            separators.append(i)
    if len(separators) > 1:
        breaks = list(compress(range(len(kinds)), map(_NEWLINE.__and__, kinds)))
        lines = [bisect_right(breaks, i) for i in separators]
        per_line = Counter(lines)
        for i, line in zip(separators, lines, strict=True):
            if per_line[line] > 1:
                kinds[i] |= _TERM


def _mark_inline_bullets(kinds: list[int], starts: list[int], ends: list[int]) -> None:
    """A bullet other than a hyphen ("*", "•") between blanks inside a line ends a sentence: items
    written on one line ("* No free fluid * Uterus: fibroid * Ovaries normal")."""
    for i in compress(range(1, len(kinds) - 1), map(_BULLET.__and__, kinds[1:-1])):
        if (
            not kinds[i] & _HYPHEN
            and not kinds[i - 1] & (_NEWLINE | _DIGIT)  # (not a line's bullet, nor "2 * 3 cm")
            and ends[i - 1] < starts[i]
            and ends[i] < starts[i + 1]
        ):
            kinds[i] |= _TERM


def _mark_queries(text: str, kinds: list[int], starts: list[int], ends: list[int]) -> None:
    """A "?" written before a word and not against the word before it asks about what follows
    ("?lymphoma", ", ? abscess"): it ends no sentence ("effusion? No pneumothorax" still does)."""
    for i in range(len(kinds) - 1):
        if (
            kinds[i] & _TERM
            and text[starts[i] : ends[i]] == "?"
            and kinds[i + 1] & _ALPHA
            and not (i and kinds[i - 1] & _WORD and ends[i - 1] == starts[i])
        ):
            kinds[i] &= ~_TERM


def _sentence_starts(kinds: list[int], bookmarks: set[int]) -> tuple[list[int], list[tuple[int, int]]]:
    """Token indices that start a sentence, and the token ranges of headers ("FINDINGS:", "Liver:").

    ``bookmarks``: indices of bookmark tokens. Only the tokens of :data:`_EVENTS` kinds
    (terminators, colons, line breaks, runs of spaces, list labels) end a sentence; after one,
    the next token that is not blank, a closer or a terminator starts the next sentence. A
    header (its words and colon) is a sentence of its own (see :func:`_header_start`). An
    inline list label ("2)", "(2)", "b)", "b.") starts a sentence when it continues its list
    (its ordinal is the last item's plus one; numbers and letters count apart) or opens one
    ("1)", "(1)", "a)"), unless a "(" before it is still open ("(segment 2)"); the label that
    starts a sentence sets the list's last ordinal. Two or more spaces end a sentence as
    :func:`_gap_ends_sentence` says.
    """
    starts = [0]
    headers: list[tuple[int, int]] = []
    pending = False
    last_item = {True: 0, False: 0}  # ordinal of the last list item, numbered (True) and lettered
    scan = 0  # tokens before it have been looked at for a pending start

    def start_at(i: int) -> None:
        bookmarked = i in bookmarks and _only_bookmark_follows(kinds, i, bookmarks)  # "nodule. BOOKMARK."
        if not bookmarked and starts[-1] != i:
            starts.append(i)

    n = len(kinds)
    for i in compress(range(n), map(_EVENTS.__and__, kinds)):
        kind = kinds[i]
        if pending:
            j = scan
            while j < i and kinds[j] & _SKIPPED:
                j += 1
            if j < i or not kind & _SKIPPED:
                if bookmarks:
                    start_at(j)
                elif starts[-1] != j:
                    starts.append(j)
                pending = False
        scan = i + 1
        if kind & _TERM:
            start = starts[-1]
            if i > 0 and kinds[i - 1] & _NUMBER and (i - 1 == start or kinds[i - 2] & _NEWLINE):
                last_item[True] = kinds[i - 1] >> _ORDINAL_SHIFT
                continue  # "1." of a numbered list
            if i > 0 and kinds[i - 1] & _NUMERO and i + 1 < n and kinds[i + 1] & _DIGIT:
                continue  # "image no. 56": number
            pending = True
        elif kind & _COLON:
            first = _header_start(kinds, i, starts[-1])
            if first is not None and not (i - first == 1 and kinds[first] & _SIDE):  # "Right: 2 cm cyst" goes on
                if first > starts[-1]:
                    starts.append(first)
                headers.append((first, i + 1))
                pending = True
        elif kind & (_PAREN | _DOTTED):
            label = i - 1 if kind & _PAREN else i
            if label < 0 or not kinds[label] & _LABEL:
                continue
            first = label - 1 if kind & _PAREN and label > 0 and kinds[label - 1] & _OPEN else label  # "(2)"
            numbered = bool(kinds[label] & _NUMBER)
            ordinal = kinds[label] >> _ORDINAL_SHIFT
            if first > starts[-1]:
                if ordinal != last_item[numbered] + 1 and not (ordinal == 1 and kind & _PAREN):
                    continue
                if _in_parentheses(kinds, first, starts[-1]):
                    continue
                starts.append(first)  # "... nodules 2) hepatic steatosis", "... dilatation b. Sludge"
            last_item[numbered] = ordinal
        elif kind & _OPENER:  # "... is unchanged The spleen is normal": a new sentence
            if i and kinds[i - 1] & _ALPHA and not kinds[i - 1] & (_CAPITAL | _UPPER | _WRAPS) and starts[-1] != i:
                if bookmarks:
                    start_at(i)
                else:
                    starts.append(i)
        elif kind & _GAP:
            if 0 < i < n - 1 and _gap_ends_sentence(kinds[i - 1], kinds[i + 1]):
                pending = True  # "No effusion  Mild atelectasis": a line break turned into spaces
        elif kind & _BLANK:
            pending = True
        elif i + 1 < n:  # a line break
            nxt = kinds[i + 1]
            list_item = nxt & _NUMBER and i + 2 < n and kinds[i + 2] & (_TERM | _CLOSE)
            new_line = nxt & (_CAPITAL | _DIGIT) and i > 0 and not kinds[i - 1] & _WRAPS
            if list_item or nxt & _BULLET or new_line:
                pending = True
            if new_line and (title := _title_line(kinds, i)) is not None:
                headers.append((title, i + 1))  # "SPLEEN\nNormal.": a header without its colon
    if pending:
        j = scan
        while j < n and kinds[j] & _SKIPPED:
            j += 1
        if j < n:
            start_at(j)
    return starts, headers


def _cut_long_sentences(starts: list[int], keys: list[str | None]) -> tuple[list[int], list[int]]:
    """``starts`` with the sentences longer than :data:`MAX_SENTENCE_TOKENS` cut into pieces
    (see there), and the cuts."""
    n = len(keys)
    if n <= MAX_SENTENCE_TOKENS:
        return starts, []
    ends = [*starts[1:], n]
    if all(end - start <= MAX_SENTENCE_TOKENS for start, end in zip(starts, ends, strict=True)):
        return starts, []
    out: list[int] = []
    cuts: list[int] = []
    for start, end in zip(starts, ends, strict=True):
        out.append(start)
        while end - start > MAX_SENTENCE_TOKENS:
            piece_end = start + MAX_SENTENCE_TOKENS
            for j in range(piece_end - 1, piece_end - MAX_SENTENCE_TOKENS // 4, -1):
                if keys[j] in _CUT_AFTER:
                    piece_end = j + 1
                    break
            out.append(piece_end)
            cuts.append(piece_end)
            start = piece_end
    return out, cuts


def _in_parentheses(kinds: list[int], first: int, sentence: int) -> bool:
    """Whether an unclosed "(" opens within the few tokens before ``first`` (not before the
    sentence start ``sentence``): the label of "(series 4, image 2)" or "(segment 3)" is not an item."""
    for j in range(first - 1, max(sentence, first - _PARENTHESIS_REACH) - 1, -1):
        if kinds[j] & (_OPEN | _PAREN):
            return bool(kinds[j] & _OPEN)
    return False


def _gap_ends_sentence(before: int, after: int) -> bool:
    """Whether two or more spaces between the token kinds ``before`` and ``after`` end a sentence:
    after a lowercase word that does not wrap ("of", "the", ","), before a capitalized word
    that is not in capitals ("Dr.  Smith", "Heart   Failure", "the AORTIC   VALVE" go on)."""
    return bool(
        before & _ALPHA
        and not before & (_CAPITAL | _WRAPS)
        and after & _ALPHA
        and after & _CAPITAL
        and not after & _UPPER
    )


def _header_start(kinds: list[int], colon: int, sentence: int) -> int | None:
    """First token of the header that ends at the token ``colon``, or ``None`` when none does.

    A header is words (joined by blanks, "/", "&", "-", ",", "and", "of", parentheses) before a
    colon: up to :data:`_MAX_HEADER_WORDS` + 2 words in capitals anywhere ("... normal. LUNGS:",
    "POSTOPERATIVE DIAGNOSIS(ES):"; not after a one-letter word: "CT ABD W CONTRAST:" is a
    title), or up to :data:`_MAX_HEADER_WORDS` words of any case that start a line (or follow a
    ";": "Liver: normal; Spleen: normal") or the
    sentence ``sentence`` ("Impression: no effusion"). Words joined by commas ("LIVER, SPLEEN,
    PANCREAS:") must start the text or follow a line break or a terminator: in "HEART: NORMAL,
    LUNGS:" the header is "LUNGS". A capitalized word after a lowercase word that does not wrap
    ("of", "for") starts a header wherever it is: "Liver: No focal lesion Spleen: 2 cm cyst" has
    the header "Spleen" ("History of Present Illness:" stays whole). A bullet may come before a
    header that starts a line ("- Adrenals: 2 cm left nodule").
    """
    first, words, comma = colon, 0, None
    while first > 0 and words < _MAX_HEADER_WORDS + 2:
        kind = kinds[first - 1]
        letter = kind & _LETTER and first < colon and kinds[first] & _JOINER  # the "X" of "X-RAY"
        if kind & _SPACE or not (kind & (_UPPER | _JOINER) or letter):
            break
        first -= 1
        words += bool(kind & _ALPHA)
        if kind & _COMMA and comma is None:
            comma = first + 1
    if comma is not None and first and not kinds[first - 1] & (_NEWLINE | _TERM):
        first = comma
    while first < colon and not kinds[first] & (_UPPER | _LETTER):  # a header starts with a word
        first += 1
    if first < colon:
        # after a one-letter capital, the words are the end of a title ("CT ABD W CONTRAST:"), and
        # after a word that wraps, of a phrase ("suspicious for HCC:"): no header
        wraps = first and kinds[first - 1] & _WRAPS and kinds[first - 1] & _ALPHA
        return None if first and (kinds[first - 1] & _INITIAL or wraps) else first
    words, run_on = 0, False
    while first > 0 and kinds[first - 1] & (_ALPHA | _JOINER) and not kinds[first - 1] & _SPACE:
        before = kinds[first - 1]
        if (
            before & _ALPHA
            and not before & (_CAPITAL | _WRAPS)
            and kinds[first] & _CAPITAL
            and not (first >= 2 and kinds[first - 2] & _DIGIT)  # a unit: "5 mm LUL nodule:" is measured
        ):
            run_on = True  # "No focal lesion Spleen: 2 cm cyst": dictated on without a stop
            break
        first -= 1
        words += bool(kinds[first] & _ALPHA)
        if words > _MAX_HEADER_WORDS:
            return None
    while first < colon and not kinds[first] & _ALPHA:
        first += 1
    bullet = first - 1 if first and kinds[first - 1] & _BULLET else first  # "- Adrenals: 2 cm left nodule"
    at_line_start = bullet == 0 or bullet == sentence or kinds[bullet - 1] & (_NEWLINE | _SEMICOLON)
    return first if first < colon and (at_line_start or run_on) else None


def _title_line(kinds: list[int], newline: int) -> int | None:
    """First token of a line of one to three words in capitals ending at the line break
    ``newline`` and written alone ("LIVER", "LUNGS/PLEURA", "LYMPH NODES"): a header written
    without its colon, when the next line starts with a capital; ``None`` otherwise."""
    first, words = newline, 0
    while first > 0 and not kinds[first - 1] & _NEWLINE:
        kind = kinds[first - 1]
        if kind & _UPPER:
            words += 1
        elif not kind & _JOINER or kind & _ALPHA:
            return None
        first -= 1
    return first if 0 < words <= 3 and kinds[first] & _UPPER else None


def _only_bookmark_follows(kinds: list[int], i: int, bookmarks: set[int]) -> bool:
    """Whether tokens from ``i`` up to the next terminator are bookmarks and punctuation only."""
    for j in range(i, len(kinds)):
        kind = kinds[j]
        if kind & _TERM or kind & _BLANK:
            return True
        if kind & _WORD and j not in bookmarks:
            return False
    return True
