"""CT volumes as stacks of axial HU slices, read with SimpleITK.

:class:`PngSeries` reads DeepLesion's 16-bit PNG slices one file at a time (only those asked
for); :class:`ArrayVolume` wraps a volume already in memory (NIfTI, DICOM, phantoms).
Axes follow SimpleITK's array order ``[z, y, x]``; slice ``k`` of a volume is ``array[k]``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import DataError
from .geometry import interval_problem, spacing_problem

__all__ = ["HU_OFFSET", "ArrayVolume", "PngSeries", "Volume", "read_png_hu", "read_volume"]

logger = logging.getLogger(__name__)

#: DeepLesion stores HU + 32768 in its 16-bit PNGs: HU = pixel − HU_OFFSET.
HU_OFFSET = 32768


class Volume(Protocol):
    """Axial slices in HU with their geometry (read-only)."""

    @property
    def spacing_xy(self) -> tuple[float, float]:
        """mm per pixel along x (columns) and y (rows)."""
        ...

    @property
    def slice_interval(self) -> float:
        """mm between consecutive slices."""
        ...

    @property
    def first(self) -> int:
        """Index of the first slice of the volume."""
        ...

    @property
    def last(self) -> int:
        """Index of the last slice (inclusive)."""
        ...

    def slice(self, k: int) -> np.ndarray:
        """Slice ``k`` (``first ≤ k ≤ last``) as ``float32[H, W]`` HU."""
        ...


def _sitk() -> Any:
    try:
        import SimpleITK as sitk
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ImportError("reading CT needs SimpleITK: pip install 'radminer[model]'") from exc
    return sitk


def read_png_hu(path: Path) -> np.ndarray:
    """A DeepLesion 16-bit PNG slice as ``float32[H, W]`` HU; :class:`DataError` naming the file."""
    sitk = _sitk()
    if not path.is_file():
        raise DataError(f"{path}: slice file is missing")
    reader = sitk.ImageFileReader()
    reader.SetImageIO("PNGImageIO")
    reader.SetFileName(str(path))
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise DataError(f"{path}: not a readable PNG slice ({str(exc).strip().splitlines()[-1]})") from exc
    pixels = sitk.GetArrayViewFromImage(image)
    if pixels.ndim != 2 or pixels.dtype != np.uint16:
        raise DataError(
            f"{path}: expected a 16-bit grey PNG (HU + {HU_OFFSET}), found {pixels.dtype} of shape {pixels.shape}"
        )
    return pixels.astype(np.float32) - HU_OFFSET


@dataclass
class PngSeries:
    """One DeepLesion series: ``<folder>/<slice:03d>.png`` for slices ``first..last``.

    A missing slice is a :class:`DataError` naming the file (and saying how many slices of the
    range the folder holds): a neighbouring slice is never substituted. For key-slice-only
    packages (DeepLesion's sample key slices), ``replicate_key_only`` makes the key slice stand
    for every slice, without reading any other, and sets ``replicated``. Every slice read must be
    ``size`` (width, height; DL_info's ``Image_size``) or, without it, the size of the first one.
    """

    folder: Path
    spacing_xy: tuple[float, float]
    slice_interval: float
    first: int
    last: int
    key_slice: int
    replicate_key_only: bool = False
    replicated: bool = field(default=False, init=False)
    cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False)  # decoded slices
    size: tuple[int, int] | None = None
    size_from: str = field(default="as its Image_size states", init=False, repr=False)

    def path(self, k: int) -> Path:
        return self.folder / f"{k:03d}.png"

    def _checked(self, k: int, pixels: np.ndarray) -> np.ndarray:
        found = (pixels.shape[1], pixels.shape[0])
        if self.size is None:
            self.size, self.size_from = found, f"like slice {k}"
        elif found != self.size:
            raise DataError(
                f"{self.path(k)}: expected a {self.size[0]} × {self.size[1]} slice {self.size_from}, "
                f"found {found[0]} × {found[1]}"
            )
        return pixels

    def slice(self, k: int) -> np.ndarray:
        if not self.first <= k <= self.last:
            raise IndexError(f"slice {k} outside {self.first}..{self.last} of {self.folder}")
        if self.replicate_key_only and k != self.key_slice:
            self.replicated = True
            k = self.key_slice
        if k not in self.cache:
            path = self.path(k)
            if not path.is_file():
                raise DataError(f"{path}: slice file is missing{self._describe_gap()}")
            self.cache[k] = self._checked(k, read_png_hu(path))
        return self.cache[k]

    def _describe_gap(self) -> str:
        try:
            present = sum(1 for p in self.folder.glob("*.png"))
        except OSError:
            present = 0
        total = self.last - self.first + 1
        if present >= total:
            return ""
        return (
            f"; the series folder holds only {present} of the {total} slices "
            f"{self.first}..{self.last} (a key-slice-only package? pass --replicate-key-only "
            "(replicate_key_only=True in Python) to use the key slice for all 3 channels)"
        )


@dataclass
class ArrayVolume:
    """A volume in memory: ``hu`` is ``[Z, H, W]`` HU, slice ``k`` is ``hu[k - first]``."""

    hu: np.ndarray
    spacing_xy: tuple[float, float]
    slice_interval: float
    first: int = 0

    @property
    def last(self) -> int:
        return self.first + self.hu.shape[0] - 1

    def slice(self, k: int) -> np.ndarray:
        if not self.first <= k <= self.last:
            raise IndexError(f"slice {k} outside {self.first}..{self.last}")
        return np.asarray(self.hu[k - self.first], dtype=np.float32)


def read_volume(path: Path) -> ArrayVolume:
    """A NIfTI file, a DICOM file, or a folder holding one DICOM series, as HU.

    SimpleITK applies the rescale slope and intercept; a 2-D image becomes a one-slice volume
    (slice interval then taken as the slice thickness when known, else 1 mm). Colour or 8-bit
    images (photos, screenshots, display-windowed JPEGs) cannot hold HU and are refused, as is
    implausible spacing (:mod:`~lesion_model.data.geometry`).
    """
    sitk = _sitk()
    if not path.exists():
        raise DataError(f"{path}: image is missing")
    try:
        if path.is_dir():
            files = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(path))
            if not files:
                raise DataError(f"{path}: the folder holds no DICOM series")
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(files)
            image = reader.Execute()
        else:
            image = sitk.ReadImage(str(path))
    except RuntimeError as exc:
        raise DataError(f"{path}: not a readable image ({str(exc).strip().splitlines()[-1]})") from exc
    channels = image.GetNumberOfComponentsPerPixel()
    if channels != 1 or image.GetPixelID() in (sitk.sitkUInt8, sitk.sitkInt8):
        raise DataError(
            f"{path}: expected a grey CT image in HU (16-bit or wider), found {channels} channel(s) of "
            f"{image.GetPixelIDTypeAsString()} (a colour or 8-bit image, such as a JPEG, holds no HU)"
        )
    hu = sitk.GetArrayFromImage(image).astype(np.float32)
    spacing = image.GetSpacing()
    if hu.ndim == 2:
        hu = hu[None]
    if hu.ndim != 3:
        raise DataError(f"{path}: expected a 2-D or 3-D grey image, found shape {hu.shape}")
    interval = float(spacing[2]) if len(spacing) > 2 else 1.0
    problem = spacing_problem(spacing[:2]) or interval_problem(interval)
    if problem is not None:
        found = ", ".join(f"{v:g}" for v in (*spacing[:2], interval))
        raise DataError(f"{path}: expected {problem}, found spacing {found} mm in its header")
    logger.debug("read %s: %s voxels, spacing %s", path, hu.shape, spacing)
    return ArrayVolume(hu, (float(spacing[0]), float(spacing[1])), interval)
