"""A synthetic DeepLesion: body-like CT phantoms with labelled lesions, in DeepLesion's layout.

``lesion-synth OUT`` writes

- ``OUT/DL_info.csv``: DeepLesion's 18 columns, one row per lesion (lesion id = 0-based row);
- ``OUT/Images_png/<patient>_<study>_<series>/<slice:03d>.png``: 16-bit PNGs, HU + ``HU_OFFSET``,
  the slices of ``Slice_range`` only (the key slices of the study ± a margin);
- ``OUT/reports.csv`` (``id, text``): one report per study (``id`` = ``<patient>_<study>``) whose
  sentences hold one ``BOOKMARK`` per lesion, in DL_info row order;
- ``OUT/bookmarks.csv`` (``id, bookmark, lesion_id``): which lesion each bookmark describes;
- ``OUT/truth.csv``: each lesion's true labels (``;``-separated ontology terms, before ancestor
  expansion) and the parameters that decided them;
- ``OUT/corruptions.csv``, with ``corrupt`` > 0 only: the report labels corrupted on purpose
  (:mod:`lesion_model.synth.corrupt`).

Each lesion's organ, size, attenuation, shape, calcification and cystic content decide its
labels, and are drawn into the image, so a CNN can learn them. Reports phrase the labels with
synonyms, adjectives, hedges and negated absent findings, and omit some attributes (label noise).
Everything is deterministic given ``seed``.
"""

from __future__ import annotations

import csv
import logging
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from .._checks import in_range
from ..data.geometry import SLICE_INTERVAL_MM, SPACING_MM
from ..data.records import DL_INFO_COLUMNS
from ..data.volumes import HU_OFFSET
from ..errors import ConfigError
from .words import ORGAN_WORDS, TYPE_WORDS

__all__ = ["SynthConfig", "SynthLesion", "generate", "lesion_labels"]

logger = logging.getLogger(__name__)

AIR, FAT, SOFT, LUNG, WATER = -1000.0, -100.0, 40.0, -850.0, 8.0
#: organ → (region, mean HU); organs are placed in body coordinates (mm from the body centre).
ORGANS = {
    "liver": ("abdomen", 60.0),
    "spleen": ("abdomen", 50.0),
    "kidney": ("abdomen", 35.0),
    "lymph node": ("abdomen", 40.0),
    "bone": ("abdomen", 350.0),
    "lung": ("chest", LUNG),
}
LESION_ORGANS = ("liver", "lung", "kidney", "spleen", "lymph node", "bone")
ORGAN_WEIGHTS = (0.3, 0.25, 0.13, 0.1, 0.12, 0.1)
SPLITS = {"train": 1, "val": 2, "test": 3}


@dataclass(frozen=True)
class SynthConfig:
    """Sizes of the synthetic dataset."""

    patients: int = 30
    studies_per_patient: tuple[int, int] = (1, 2)
    lesions_per_study: tuple[int, int] = (1, 4)
    image_size: int = 256
    field_of_view_mm: tuple[float, float] = (330.0, 420.0)
    slice_intervals_mm: Sequence[float] = (0.8, 1.0, 1.25, 2.0, 2.5, 5.0)
    noise_hu: float = 12.0
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)

    def __post_init__(self) -> None:
        """Refuse values out of range: a :class:`ConfigError` naming the option and its range."""
        for name, ok, expected in _synth_checks(self):
            if not ok:
                raise ConfigError.out_of_range(name, expected, getattr(self, name))


def _int_range(value: object, lo: int, hi: int) -> bool:
    """A pair ``(a, b)`` of integers with ``lo ≤ a ≤ b ≤ hi``."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else ()
    return len(pair) == 2 and all(in_range(v, lo, hi, integer=True) for v in pair) and pair[0] <= pair[1]


def _synth_checks(c: SynthConfig) -> list[tuple[str, bool, str]]:
    """(field, valid, what is expected) for every field of ``c``."""
    fov = tuple(c.field_of_view_mm) if isinstance(c.field_of_view_mm, (tuple, list)) else ()
    intervals = tuple(c.slice_intervals_mm) if isinstance(c.slice_intervals_mm, (tuple, list)) else ()
    fractions = tuple(c.split_fractions) if isinstance(c.split_fractions, (tuple, list)) else ()
    lo_mm, hi_mm = SLICE_INTERVAL_MM
    return [
        ("patients", in_range(c.patients, 1, 100_000, integer=True), "an integer from 1 to 100000"),
        ("studies_per_patient", _int_range(c.studies_per_patient, 1, 100), "two integers 1 ≤ MIN ≤ MAX ≤ 100"),
        ("lesions_per_study", _int_range(c.lesions_per_study, 1, 100), "two integers 1 ≤ MIN ≤ MAX ≤ 100"),
        (
            "image_size",
            in_range(c.image_size, 96, 2048, integer=True),
            "an integer from 96 to 2048 (96 and more keep the spacing under 5 mm per pixel)",
        ),
        (
            "field_of_view_mm",
            len(fov) == 2
            and all(in_range(v, 1, 1e5) for v in fov)
            and fov[0] <= fov[1]
            and in_range(c.image_size, 1, 1e5)
            and in_range(fov[0] / c.image_size, *SPACING_MM)
            and in_range(fov[1] / c.image_size, *SPACING_MM),
            f"two widths MIN ≤ MAX in mm giving {SPACING_MM[0]:g} to {SPACING_MM[1]:g} mm per pixel",
        ),
        (
            "slice_intervals_mm",
            bool(intervals) and all(in_range(v, lo_mm, hi_mm) for v in intervals),
            f"one or more slice intervals of {lo_mm:g} to {hi_mm:g} mm",
        ),
        ("noise_hu", in_range(c.noise_hu, 0, 1000), "a number from 0 to 1000"),
        (
            "split_fractions",
            len(fractions) == 3 and all(in_range(v, 0, 1) for v in fractions) and sum(fractions) > 0,
            "three fractions (train, val, test) from 0 to 1, not all 0",
        ),
    ]


@dataclass(frozen=True)
class SynthLesion:
    """One lesion's truth: where it is, what it looks like, which labels that makes."""

    organ: str
    center_mm: tuple[float, float, float]  # x, y (from the body centre) and z (from the key slice)
    diameter_mm: float
    hu: float
    shape: str  # round | lobular | spiculated
    cystic: bool
    calcified: bool
    labels: tuple[str, ...] = field(default=())


def lesion_labels(organ: str, diameter: float, hu: float, shape: str, cystic: bool, calcified: bool) -> tuple[str, ...]:
    """The true labels (ontology terms) that these lesion properties decide."""
    labels = [organ]
    organ_hu = ORGANS[organ][1]
    if organ == "bone":
        labels.append("sclerotic" if hu > organ_hu else "lytic")
    elif organ == "lymph node":
        labels.append("lymphadenopathy")
    elif cystic:
        labels.append("cyst")
    else:
        labels.append("mass" if diameter >= 30 else "nodule")
    if organ != "bone" and organ != "lung":
        labels.append("hyperattenuation" if hu > organ_hu else "hypoattenuation")
    if shape != "round":
        labels.append(shape)
    if calcified:
        labels.append("calcified")
    if diameter >= 40:
        labels.append("large")
    elif diameter <= 6:
        labels.append("tiny")
    return tuple(labels)


def _organ_layout(region: str, scale: float) -> list[tuple[str, float, float, float, float, float]]:
    """(name, x, y, semi-axis x, semi-axis y, HU) of the organs of a region, drawn in order."""
    s = scale
    common = [("spine", 0, 75 * s, 18 * s, 16 * s, 350.0), ("cortex", 0, 75 * s, 0, 0, 700.0)]
    if region == "chest":
        return [
            ("lung_r", -62 * s, -5 * s, 52 * s, 75 * s, LUNG),
            ("lung_l", 62 * s, -5 * s, 48 * s, 72 * s, LUNG),
            ("heart", 10 * s, -15 * s, 38 * s, 40 * s, 45.0),
            ("aorta", -5 * s, 45 * s, 12 * s, 12 * s, 150.0),
            ("node", 22 * s, 20 * s, 5 * s, 4 * s, 40.0),
            *common,
        ]
    return [
        ("liver", -60 * s, -10 * s, 72 * s, 62 * s, 60.0),
        ("spleen", 78 * s, 15 * s, 32 * s, 30 * s, 50.0),
        ("kidney_r", -52 * s, 55 * s, 22 * s, 32 * s, 35.0),
        ("kidney_l", 55 * s, 55 * s, 22 * s, 32 * s, 35.0),
        ("aorta", 12 * s, 45 * s, 11 * s, 11 * s, 150.0),
        ("node", 30 * s, 35 * s, 5 * s, 4 * s, 40.0),
        ("node", -15 * s, 30 * s, 4 * s, 4 * s, 40.0),
        *common,
    ]


@dataclass
class _Study:
    patient: int
    study: int
    region: str
    scale: float
    spacing: float
    interval: float
    size: int
    key_slices: list[int]
    lesions: list[SynthLesion]
    first: int
    last: int

    @property
    def folder(self) -> str:
        return f"{self.patient:06d}_{self.study:02d}_01"


class _Painter:
    """Draws one study's slices: anatomy (constant along z within the series) plus lesions."""

    def __init__(self, study: _Study, rng: np.random.Generator, noise_hu: float) -> None:
        self.study = study
        self.rng = rng
        self.noise_hu = noise_hu
        n = study.size
        coords = (np.arange(n) - n / 2 + 0.5) * study.spacing
        self.x, self.y = np.meshgrid(coords, coords)
        self.anatomy = self._anatomy()

    def _ellipse(self, cx: float, cy: float, ax: float, ay: float) -> np.ndarray:
        return ((self.x - cx) / ax) ** 2 + ((self.y - cy) / ay) ** 2 <= 1

    def _anatomy(self) -> np.ndarray:
        s = self.study.scale
        img = np.full(self.x.shape, AIR, dtype=np.float32)
        img[self._ellipse(0, 5 * s, 165 * s, 115 * s)] = FAT
        img[self._ellipse(0, 5 * s, 150 * s, 102 * s)] = SOFT  # muscle wall
        img[self._ellipse(0, 5 * s, 140 * s, 93 * s)] = FAT  # visceral fat
        for name, cx, cy, ax, ay, hu in _organ_layout(self.study.region, s):
            if name == "cortex":
                ring = self._ellipse(cx, cy, 18 * s, 16 * s) & ~self._ellipse(cx, cy, 14 * s, 12 * s)
                img[ring] = hu
                continue
            img[self._ellipse(cx, cy, ax, ay)] = hu
        if self.study.region == "chest":  # vessels in the lungs
            lung = img == LUNG
            ys, xs = np.nonzero(lung)
            pick = self.rng.choice(len(xs), size=min(len(xs), 60), replace=False)
            for i in pick:
                r = self.rng.uniform(1.0, 2.5)
                img[self._ellipse(self.x[ys[i], xs[i]], self.y[ys[i], xs[i]], r, r) & lung] = 40.0
        # organ texture, fixed along z
        img += self.rng.normal(0.0, 4.0, size=tuple(img.shape)).astype(np.float32)
        return img

    def paint(self, z_mm: float) -> np.ndarray:
        """The slice at ``z_mm`` (relative to the first key slice) in HU, with noise."""
        img = self.anatomy.copy()
        for lesion in self.study.lesions:
            self._draw(img, lesion, z_mm)
        white = self.rng.normal(0.0, self.noise_hu, size=img.shape).astype(np.float32)
        img += (white + np.roll(white, 1, 0) + np.roll(white, 1, 1) + np.roll(white, (1, 1), (0, 1))) / 2
        return img

    def _draw(self, img: np.ndarray, lesion: SynthLesion, z_mm: float) -> None:
        cx, cy, cz = lesion.center_mm
        radius = lesion.diameter_mm / 2
        dz = z_mm - cz
        if abs(dz) >= radius:
            return
        r = math.sqrt(radius**2 - dz**2)
        pad = r * 1.5 + 2
        box = (np.abs(self.x[0] - cx) <= pad, np.abs(self.y[:, 0] - cy) <= pad)
        cols, rows = np.nonzero(box[0])[0], np.nonzero(box[1])[0]
        if len(cols) == 0 or len(rows) == 0:
            return
        sub = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        dx, dy = self.x[sub] - cx, self.y[sub] - cy
        dist = np.hypot(dx, dy)
        theta = np.arctan2(dy, dx)
        phase = (cx * 0.37 + cy * 0.11) % (2 * math.pi)
        if lesion.shape == "lobular":
            edge = r * (1 + 0.22 * np.sin(3 * theta + phase))
        elif lesion.shape == "spiculated":
            edge = r * (1 + 0.45 * np.maximum(0, np.sin(9 * theta + phase)) ** 4)
        else:
            edge = np.full(dist.shape, r)
        inside = np.clip(edge - dist + 0.5, 0, 1).astype(np.float32)  # partial-volume edge
        region = img[sub]
        region += inside * (lesion.hu - region)
        if lesion.calcified:
            spot = np.clip(r * 0.35 - np.hypot(dx - r * 0.2, dy) + 0.5, 0, 1).astype(np.float32)
            region += spot * (600.0 - region)


def _draw_lesion(rng: np.random.Generator, organ: str, region_layout: list, scale: float) -> SynthLesion:
    organ_hu = ORGANS[organ][1]
    diameter = float(np.exp(rng.uniform(math.log(4), math.log(60))))
    if organ == "lymph node":
        diameter = float(rng.uniform(12, 35))
    if organ == "bone":
        diameter = min(diameter, 22.0 * scale)
    if organ in ("kidney", "spleen"):
        diameter = min(diameter, 45.0 * scale)
    shape = str(rng.choice(["round", "lobular", "spiculated"], p=[0.5, 0.3, 0.2]))
    cystic = organ in ("liver", "kidney") and rng.random() < 0.35
    calcified = organ not in ("bone",) and rng.random() < 0.15
    if cystic:
        hu, shape = WATER + rng.normal(0, 3), "round"
    elif organ == "bone":
        hu = organ_hu + (rng.uniform(300, 600) if rng.random() < 0.5 else -rng.uniform(250, 320))
    elif organ == "lung":
        hu = rng.uniform(20, 60)
    else:
        hu = organ_hu + (rng.uniform(45, 90) if rng.random() < 0.35 else -rng.uniform(35, 70))
    names = {"kidney": ("kidney_r", "kidney_l"), "lung": ("lung_r", "lung_l"), "bone": ("spine",)}
    candidates = [o for o in region_layout if o[0] in names.get(organ, (organ.replace("lymph node", "node"),))]
    _, ox, oy, ax, ay, _ = candidates[int(rng.integers(len(candidates)))]
    if organ in ("lymph node", "bone"):
        x, y = ox, oy
    else:
        room = np.clip(1 - diameter / 2 / min(ax, ay), 0.05, 0.7)
        angle, rad = rng.uniform(0, 2 * math.pi), math.sqrt(rng.random()) * room
        x, y = ox + ax * rad * math.cos(angle), oy + ay * rad * math.sin(angle)
    labels = lesion_labels(organ, diameter, float(hu), shape, cystic, calcified)
    return SynthLesion(organ, (float(x), float(y), 0.0), diameter, float(hu), shape, cystic, calcified, labels)


def _plan(config: SynthConfig, rng: np.random.Generator) -> tuple[list[_Study], dict[int, str]]:
    studies: list[_Study] = []
    patients = np.arange(1, config.patients + 1)
    order = rng.permutation(patients)
    cut = np.cumsum(np.asarray(config.split_fractions) / sum(config.split_fractions)) * len(order)
    split_of = {
        int(p): ("train", "val", "test")[int(np.searchsorted(cut, i, side="right"))] for i, p in enumerate(order)
    }
    for patient in patients:
        scale = float(rng.uniform(0.85, 1.1))
        for study in range(
            1,
            int(rng.integers(config.studies_per_patient[0], config.studies_per_patient[1] + 1)) + 1,
        ):
            organ = str(rng.choice(LESION_ORGANS, p=ORGAN_WEIGHTS))
            region = ORGANS[organ][0]
            layout = _organ_layout(region, scale)
            pool = [o for o in LESION_ORGANS if ORGANS[o][0] == region]
            n = int(rng.integers(config.lesions_per_study[0], config.lesions_per_study[1] + 1))
            organs = [organ] + [str(rng.choice(pool)) for _ in range(n - 1)]
            interval = float(rng.choice(config.slice_intervals_mm))
            fov = rng.uniform(*config.field_of_view_mm)
            lesions, keys = [], []
            for i, o in enumerate(organs):
                lesion = _draw_lesion(rng, o, layout, scale)
                key = 1 + round(i * rng.uniform(8, 20) / interval) if i else 0
                lesions.append(SynthLesion(**{**lesion.__dict__, "center_mm": (*lesion.center_mm[:2], key * interval)}))
                keys.append(key)
            margin = int(rng.integers(0, 4))  # 0 exercises replication at the volume ends
            base = int(rng.integers(10, 200))
            studies.append(
                _Study(
                    int(patient),
                    study,
                    region,
                    scale,
                    fov / config.image_size,
                    interval,
                    config.image_size,
                    [base + k for k in keys],
                    lesions,
                    base - margin,
                    base + max(keys) + margin,
                )
            )
    return studies, split_of


def generate(
    out: str | os.PathLike[str],
    config: SynthConfig = SynthConfig(),
    *,
    seed: int = 0,
    progress: bool = False,
    corrupt: float = 0.0,
    corrupt_seed: int = 0,
) -> Path:
    """Write a synthetic DeepLesion to ``out`` (see the module docstring); returns ``out``.

    ``corrupt``: the share of the lesions whose report sentence gets one corrupted label (drawn
    with ``corrupt_seed``; recorded in ``corruptions.csv``).
    """
    import SimpleITK as sitk
    from tqdm import tqdm

    root = Path(out)
    rng = np.random.default_rng(seed)
    studies, split_of = _plan(config, rng)
    (root / "Images_png").mkdir(parents=True, exist_ok=True)
    info_rows: list[list[object]] = []
    truth_rows: list[list[object]] = []
    reports: list[tuple[str, str]] = []
    bookmarks: list[tuple[str, int, str]] = []
    phraser = _Phraser(np.random.default_rng(seed + 1))
    writer = sitk.ImageFileWriter()
    writer.SetUseCompression(True)
    writer.SetCompressionLevel(1)  # fast to write and to decode
    corruptor = None
    if corrupt:
        from .corrupt import Corruptor

        corruptor = Corruptor(corrupt, sum(len(s.lesions) for s in studies), corrupt_seed)
    for study in tqdm(studies, desc="lesion-synth", unit="study", disable=not progress):
        painter = _Painter(study, np.random.default_rng(rng.integers(2**32)), config.noise_hu)
        folder = root / "Images_png" / study.folder
        folder.mkdir(exist_ok=True)
        base = study.key_slices[0]
        for k in range(study.first, study.last + 1):
            hu = painter.paint((k - base) * study.interval)
            pixels = np.clip(np.rint(hu) + HU_OFFSET, 0, 65535).astype(np.uint16)
            writer.SetFileName(str(folder / f"{k:03d}.png"))
            writer.Execute(sitk.GetImageFromArray(pixels))
        sentences = []
        for b, (lesion, key) in enumerate(zip(study.lesions, study.key_slices, strict=True)):
            row = len(info_rows)
            info_rows.append(_dl_info_row(study, lesion, key, split_of[study.patient], rng))
            truth_rows.append(_truth_row(row, lesion))
            sentence = phraser.sentence(lesion)
            sentences.append(corruptor(row, sentence, lesion) if corruptor else sentence)
            bookmarks.append((f"{study.patient:06d}_{study.study:02d}", b, str(row)))
        reports.append((f"{study.patient:06d}_{study.study:02d}", phraser.report(sentences)))
    _write_csv(root / "DL_info.csv", DL_INFO_COLUMNS, info_rows)
    _write_csv(root / "truth.csv", _TRUTH_COLUMNS, truth_rows)
    _write_csv(root / "reports.csv", ("id", "text"), reports)
    _write_csv(root / "bookmarks.csv", ("id", "bookmark", "lesion_id"), bookmarks)
    if corruptor:
        from .corrupt import CORRUPTION_COLUMNS

        _write_csv(root / "corruptions.csv", CORRUPTION_COLUMNS, [c.row() for c in corruptor.records])
    logger.info("wrote %d lesions of %d studies to %s", len(info_rows), len(studies), root)
    return root


_TRUTH_COLUMNS = (
    "lesion_id",
    "labels",
    "organ",
    "diameter_mm",
    "hu",
    "shape",
    "cystic",
    "calcified",
)
_COARSE = {"bone": 1, "liver": 4, "lung": 5, "kidney": 6, "spleen": 2, "lymph node": 3}


def _fmt(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.6g}" for v in values)


def _dl_info_row(study: _Study, lesion: SynthLesion, key: int, split: str, rng: np.random.Generator) -> list:
    n, s = study.size, study.spacing
    cx, cy = lesion.center_mm[0] / s + n / 2 - 0.5, lesion.center_mm[1] / s + n / 2 - 0.5
    r = lesion.diameter_mm / 2 / s
    long, short = lesion.diameter_mm / s, lesion.diameter_mm / s * rng.uniform(0.8, 1.0)
    box = (cx - r - 1, cy - r - 1, cx + r + 1, cy + r + 1)
    measure = (cx - long / 2, cy, cx + long / 2, cy, cx, cy - short / 2, cx, cy + short / 2)
    return [
        f"{study.folder}_{key:03d}.png",
        study.patient,
        study.study,
        1,
        key,
        _fmt(measure),
        _fmt(box),
        _fmt((long, short)),
        _fmt((cx / n, cy / n, 0.5)),
        _COARSE[lesion.organ],
        0,
        _fmt((study.first, study.last)),
        _fmt((s, s, study.interval)),
        _fmt((n, n)),
        "-175, 275",
        "MF"[study.patient % 2],
        float(30 + study.patient % 50),
        SPLITS[split],
    ]


def _truth_row(row: int, lesion: SynthLesion) -> list:
    return [
        row,
        ";".join(lesion.labels),
        lesion.organ,
        f"{lesion.diameter_mm:.2f}",
        f"{lesion.hu:.1f}",
        lesion.shape,
        int(lesion.cystic),
        int(lesion.calcified),
    ]


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


class _Phraser:
    """Turns a lesion's labels into a report sentence, with variety and realistic omissions."""

    ORGAN_WORDS: ClassVar[dict] = ORGAN_WORDS
    TYPE_WORDS: ClassVar[dict] = TYPE_WORDS
    ATTRIBUTE_WORDS: ClassVar[dict] = {
        "hypoattenuation": ["hypodense", "low density", "hypoattenuating"],
        "hyperattenuation": ["hyperdense", "hyperenhancing", "high density"],
        "lobular": ["lobulated", "lobular"],
        "spiculated": ["spiculated"],
        "calcified": ["calcified"],
        "large": ["large"],
        "tiny": ["tiny"],
    }
    NEGATABLE: ClassVar[dict] = {
        "calcified": "calcification",
        "spiculated": "spiculation",
        "lymphadenopathy": "lymphadenopathy",
    }
    HEDGES: ClassVar[list[str]] = ["possible", "likely", "probable", "suspicious for"]
    FILLER: ClassVar[list[str]] = [
        "No pleural effusion.",
        "No ascites.",
        "Stable postoperative changes.",
        "No free air.",
        "The remaining organs are unremarkable.",
    ]

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def pick(self, words: Sequence[str]) -> str:
        return str(words[int(self.rng.integers(len(words)))])

    def sentence(self, lesion: SynthLesion) -> str:
        labels = set(lesion.labels)
        attributes = [a for a in self.ATTRIBUTE_WORDS if a in labels and self.rng.random() > 0.25]
        adjectives = [self.pick(self.ATTRIBUTE_WORDS[a]) for a in attributes]
        organ = self.pick(self.ORGAN_WORDS[lesion.organ])
        kind = next((t for t in self.TYPE_WORDS if t in labels), None)
        noun = self.pick(self.TYPE_WORDS[kind]) if kind else "lesion"
        if lesion.organ == "lymph node":
            noun = f"{self.pick(['enlarged', 'prominent'])} lymph node" if self.rng.random() < 0.5 else noun
            organ = "" if "lymph node" in noun else organ
        hedge = ""
        if kind and self.rng.random() < 0.15:
            hedge = self.pick(self.HEDGES) + " "
        phrase = " ".join(x for x in [*adjectives, organ] if x)
        size = f" measuring {lesion.diameter_mm:.0f} mm" if self.rng.random() < 0.6 else ""
        text = f"{hedge}{phrase} {noun}".strip()
        absent = [w for label, w in self.NEGATABLE.items() if label not in labels]
        tail = f", without {self.pick(absent)}" if absent and self.rng.random() < 0.2 else ""
        return f"{text[0].upper()}{text[1:]} BOOKMARK{size}{tail}."

    def report(self, sentences: Sequence[str]) -> str:
        extra = [self.pick(self.FILLER) for _ in range(int(self.rng.integers(0, 3)))]
        return "FINDINGS: " + " ".join([*sentences, *extra])
