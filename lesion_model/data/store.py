"""The patch store: preprocessed lesion patches, their index table and label matrices.

A store is a directory holding

- ``meta.json``: format, version, count, patch shape, dtype, units, spacing, slice offsets, pad
  value, label set (name, labels, categories, source) and whatever the writer adds;
- ``patches.npy``: ``int16[N, 3, 120, 120]`` HU (or ``uint8`` windowed, then ``meta["window"]``);
- ``index.csv``: row *i* describes ``patches[i]`` (see :data:`INDEX_COLUMNS`);
- ``labels.npz``: ``labels`` (``str[K]``) and ``uint8[N, K]`` matrices ``positive``, ``uncertain``,
  ``negated`` (and ``irrelevant`` for LesaNet's label file).

:func:`write_store` writes one atomically (a temporary sibling directory renamed into place);
:meth:`PatchStore.open` validates one and raises :class:`~lesion_model.errors.DataError` naming the
file at fault.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._files import read_json
from ..errors import DataError

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

__all__ = [
    "INDEX_COLUMNS",
    "MATRIX_NAMES",
    "PATCH_SHAPE",
    "SPLITS",
    "STORE_FORMAT",
    "STORE_VERSION",
    "PatchStore",
    "StoreLabels",
    "write_store",
]

STORE_FORMAT = "lesion_model.patch_store"
STORE_VERSION = 1
PATCH_SHAPE: tuple[int, int, int] = (3, 120, 120)
SPLITS = ("train", "val", "test")
#: Columns every ``index.csv`` has (writers may add more, e.g. ``coarse_type``, ``replicated``).
INDEX_COLUMNS = (
    "lesion_id",
    "patient_id",
    "study_id",
    "split",
    "x1",
    "y1",
    "x2",
    "y2",
    "source",
    "key_slice",
    "noisy",
)
MATRIX_NAMES = ("positive", "uncertain", "negated")
_TEXT_COLUMNS = ("lesion_id", "patient_id", "study_id", "split", "source")
_DTYPES = {"int16": np.int16, "uint8": np.uint8}


@dataclass(frozen=True)
class StoreLabels:
    """The label matrices of a store: ``uint8[N, K]`` each, columns named by ``labels``.

    ``irrelevant`` is only set for LesaNet's released label file (which has no negated labels, so
    ``negated`` is then all zero).
    """

    name: str
    labels: tuple[str, ...]
    categories: tuple[str, ...]
    source: str
    positive: np.ndarray
    uncertain: np.ndarray
    negated: np.ndarray
    irrelevant: np.ndarray | None = None

    def matrices(self) -> dict[str, np.ndarray]:
        """Name → matrix, ``irrelevant`` included when present."""
        out = {name: getattr(self, name) for name in MATRIX_NAMES}
        if self.irrelevant is not None:
            out["irrelevant"] = self.irrelevant
        return out

    def take(self, rows: np.ndarray | Sequence[int]) -> StoreLabels:
        """The same labels for a subset of rows."""
        rows = np.asarray(rows, dtype=np.int64)
        picked = {name: m[rows] for name, m in self.matrices().items()}
        return StoreLabels(self.name, self.labels, self.categories, self.source, **picked)


@dataclass(frozen=True)
class PatchStore:
    """An opened patch store (see the module docstring); ``patches`` is a read-only memmap."""

    path: Path
    meta: dict[str, Any]
    patches: np.ndarray
    index: pd.DataFrame
    labels: tuple[str, ...]
    categories: tuple[str, ...]
    positive: np.ndarray
    uncertain: np.ndarray
    negated: np.ndarray
    irrelevant: np.ndarray | None = field(default=None)

    def __len__(self) -> int:
        return int(self.patches.shape[0])

    def __repr__(self) -> str:
        return f"<PatchStore {str(self.path)!r}: {len(self)} patches, {len(self.labels)} labels>"

    def split_indices(self, split: str) -> np.ndarray:
        """Row numbers (``int64``) of ``split`` (one of train, val, test)."""
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
        return np.flatnonzero(self.index["split"].to_numpy() == split).astype(np.int64)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> PatchStore:
        """Open and validate the store at ``path``."""
        root = Path(path)
        if not root.is_dir():
            raise DataError(f"{root}: not a patch store directory (it does not exist or is a file)")
        meta = _read_meta(root / "meta.json")
        patches = _read_patches(root / "patches.npy", meta)
        n = int(meta["count"])
        index = _read_index(root / "index.csv", n)
        labels, matrices = _read_labels(root / "labels.npz", meta, n)
        return cls(
            path=root,
            meta=meta,
            patches=patches,
            index=index,
            labels=labels,
            categories=tuple(meta["categories"]),
            irrelevant=matrices.pop("irrelevant", None),
            **matrices,
        )


def _read_meta(path: Path) -> dict[str, Any]:
    meta = read_json(path, missing="missing (every patch store has a meta.json)")
    if not isinstance(meta, dict) or meta.get("format") != STORE_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise DataError(f"{path}: expected format {STORE_FORMAT!r}, found {found!r}")
    if meta.get("version") != STORE_VERSION:
        raise DataError(f"{path}: unsupported version {meta.get('version')!r} (expected {STORE_VERSION})")
    missing = [k for k in ("count", "patch_shape", "dtype", "labels", "categories") if k not in meta]
    if missing:
        raise DataError(f"{path}: missing key(s) {', '.join(missing)}")
    if meta["dtype"] not in _DTYPES:
        raise DataError(f"{path}: dtype {meta['dtype']!r} is not one of {', '.join(_DTYPES)}")
    if len(meta["labels"]) != len(meta["categories"]):
        raise DataError(f"{path}: {len(meta['labels'])} labels but {len(meta['categories'])} categories")
    return meta


def _read_patches(path: Path, meta: Mapping[str, Any]) -> np.ndarray:
    try:
        patches = np.load(path, mmap_mode="r")
    except FileNotFoundError:
        raise DataError(f"{path}: missing") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})") from exc
    expected = (int(meta["count"]), *[int(x) for x in meta["patch_shape"]])
    if patches.shape != expected or patches.dtype != _DTYPES[meta["dtype"]]:
        raise DataError(
            f"{path}: expected {meta['dtype']}{list(expected)} as meta.json says, "
            f"found {patches.dtype}{list(patches.shape)}"
        )
    return patches


def _read_index(path: Path, n: int) -> pd.DataFrame:
    import pandas as pd

    try:
        index = pd.read_csv(path, dtype={c: str for c in _TEXT_COLUMNS}, keep_default_na=False, na_values=[])
    except FileNotFoundError:
        raise DataError(f"{path}: missing") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a readable CSV ({exc})") from exc
    missing = [c for c in INDEX_COLUMNS if c not in index.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
    if len(index) != n:
        raise DataError(f"{path}: {len(index)} rows, expected {n} (one per patch)")
    bad = sorted(set(index["split"]) - set(SPLITS))
    if bad:
        raise DataError(f"{path}: column split holds {bad}, expected only {', '.join(SPLITS)}")
    return index


def _read_labels(path: Path, meta: Mapping[str, Any], n: int) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        raise DataError(f"{path}: missing") from None
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({exc})") from exc
    missing = [x for x in ("labels", *MATRIX_NAMES) if x not in arrays]
    if missing:
        raise DataError(f"{path}: missing array(s) {', '.join(missing)}")
    labels = tuple(str(x) for x in arrays.pop("labels"))
    if labels != tuple(meta["labels"]):
        raise DataError(f"{path}: its labels differ from those in meta.json")
    for name, matrix in arrays.items():
        if matrix.shape != (n, len(labels)) or matrix.dtype != np.uint8:
            raise DataError(f"{path}: {name} is {matrix.dtype}{list(matrix.shape)}, expected uint8{[n, len(labels)]}")
    return labels, arrays


def write_store(
    path: str | os.PathLike[str],
    *,
    patch_chunks: Iterable[np.ndarray],
    index: pd.DataFrame,
    labels: StoreLabels,
    dtype: str = "int16",
    extra_meta: Mapping[str, Any] | None = None,
    extra_files: Mapping[str, str] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a store atomically: build it in a temporary sibling directory, then rename it.

    The folder and its files get the modes a plain ``mkdir()``/``open()`` gives under the umask.

    ``patch_chunks`` yields ``[n_i, 3, 120, 120]`` arrays (of ``dtype``) whose rows follow
    ``index``; they are streamed into ``patches.npy`` so the store never has to fit in memory.
    ``extra_files`` (name → text) are written into the store too. An existing store at ``path``
    is replaced only with ``overwrite``.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise DataError(f"{target}: already exists (pass overwrite to replace it)")
    n = len(index)
    if dtype not in _DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {', '.join(_DTYPES)}")
    missing = [c for c in INDEX_COLUMNS if c not in index.columns]
    if missing:
        raise ValueError(f"index lacks column(s) {', '.join(missing)}")
    for name, matrix in labels.matrices().items():
        if matrix.shape != (n, len(labels.labels)):
            raise ValueError(f"labels.{name} has shape {matrix.shape}, expected {(n, len(labels.labels))}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    tmp.mkdir()  # not tempfile.mkdtemp: the store gets the mode mkdir() gives under the umask, not 0700
    try:
        _write_patches(tmp / "patches.npy", patch_chunks, n, _DTYPES[dtype])
        index.to_csv(tmp / "index.csv", index=False)
        arrays = {"labels": np.asarray(labels.labels, dtype=str)}
        arrays.update((k, np.ascontiguousarray(v, dtype=np.uint8)) for k, v in labels.matrices().items())
        # numpy's stub lets **arrays reach the bool allow_pickle (numpy 2.1+); these names never do
        np.savez(tmp / "labels.npz", **arrays)  # type: ignore[arg-type]
        meta = {
            "format": STORE_FORMAT,
            "version": STORE_VERSION,
            "count": n,
            "patch_shape": list(PATCH_SHAPE),
            "dtype": dtype,
            "units": "HU" if dtype == "int16" else "window",
            "spacing_mm": 1.0,
            "slice_offsets_mm": [-2.0, 0.0, 2.0],
            "pad_hu": -1024,
            "label_set": labels.name,
            "labels": list(labels.labels),
            "categories": list(labels.categories),
            "label_source": labels.source,
            "splits": {s: int((index["split"] == s).sum()) for s in SPLITS},
            **dict(extra_meta or {}),
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        if target.exists():
            old = target.with_name(f".{target.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("wrote patch store %s (%d patches, %d labels)", target, n, len(labels.labels))
    return target


def _write_patches(path: Path, chunks: Iterable[np.ndarray], n: int, dtype: type) -> None:
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n, *PATCH_SHAPE))
    row = 0
    for chunk in chunks:
        if chunk.shape[1:] != PATCH_SHAPE or row + len(chunk) > n:
            raise ValueError(f"patch chunk of shape {chunk.shape} does not fit rows {row}.. of {n}")
        out[row : row + len(chunk)] = chunk
        row += len(chunk)
    if row != n:
        raise ValueError(f"patch chunks hold {row} rows, the index {n}")
    out.flush()
    del out
