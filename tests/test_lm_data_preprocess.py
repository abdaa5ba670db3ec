"""The seed paper's preprocessing on analytic phantoms: centring, size, HU, z-interpolation."""

from __future__ import annotations

import numpy as np
import pytest

from lesion_model.data.preprocess import PAD_HU, extract_patch, to_uint8, window_hu
from lesion_model.data.volumes import ArrayVolume

HU, RADIUS = 200.0, 10.0  # sphere HU and radius in mm, on a 0 HU background


def sphere_volume(spacing: float, interval: float, center: tuple[float, float], n: int = 41):
    """A sphere centred in-plane at ``center`` (pixels) and on slice ``n // 2``.

    Its edge is a 1 mm linear ramp (partial volume), so sampling does not bias its centre.
    """
    key = n // 2
    z = (np.arange(n) - key) * interval
    yy, xx = np.mgrid[:256, :256]
    r2 = ((xx - center[0]) * spacing) ** 2 + ((yy - center[1]) * spacing) ** 2
    r = np.sqrt(r2[None] + z[:, None, None] ** 2)
    hu = (HU * np.clip(RADIUS - r + 0.5, 0, 1)).astype(np.float32)
    return ArrayVolume(hu, (spacing, spacing), interval), key


def box_around(center: tuple[float, float], spacing: float) -> tuple[float, float, float, float]:
    r = RADIUS / spacing
    return (center[0] - r, center[1] - r, center[0] + r, center[1] + r)


@pytest.mark.parametrize("spacing", [0.7, 1.0, 0.82])
def test_sphere_is_centred_with_right_size_and_value(spacing: float) -> None:
    center = (117.3, 131.6)
    volume, key = sphere_volume(spacing, 2.0, center)
    patch = extract_patch(volume, key, box_around(center, spacing))
    assert patch.hu.shape == (3, 120, 120) and patch.hu.dtype == np.float32
    mid = patch.hu[1]
    inside = mid > HU / 2
    yy, xx = np.mgrid[:120, :120] + 0.5  # pixel centres in mm
    # centre of mass at the patch centre
    assert abs((xx * mid).sum() / mid.sum() - 60) < 0.05
    assert abs((yy * mid).sum() / mid.sum() - 60) < 0.05
    # area ≈ π r² in mm² (1 px = 1 mm²)
    assert inside.sum() == pytest.approx(np.pi * RADIUS**2, rel=0.06)
    assert mid[58:62, 58:62] == pytest.approx(HU)
    assert patch.box == pytest.approx((50.0, 50.0, 70.0, 70.0))
    assert not patch.replicated


@pytest.mark.parametrize("interval", [0.8, 1.0, 2.5, 5.0])
def test_neighbour_slices_are_interpolated(interval: float) -> None:
    center = (128.5, 128.5)
    volume, key = sphere_volume(1.0, interval, center)
    patch = extract_patch(volume, key, box_around(center, 1.0))
    # with 1 mm pixels and a pixel-aligned centre the in-plane step is exact: patch = slices
    crop = (slice(69, 189), slice(69, 189))
    for channel, offset in zip(patch.hu, (-2.0, 0.0, 2.0), strict=True):
        z = key + offset / interval
        lo = int(np.floor(z))
        frac = z - lo
        expected = (1 - frac) * volume.hu[lo][crop] + frac * volume.hu[min(lo + 1, 40)][crop]
        np.testing.assert_allclose(channel, expected, atol=1e-3)
    # exact sampling at 2 mm (interval 1 mm): the disk of the cut sphere, radius √(r² − 2²)
    if interval == 1.0:
        assert (patch.hu[0] > HU / 2).sum() == pytest.approx(np.pi * (RADIUS**2 - 4), rel=0.05)


def test_outside_the_image_is_air_and_ends_are_replicated() -> None:
    volume, _ = sphere_volume(1.0, 5.0, (10.0, 10.0), n=3)
    patch = extract_patch(volume, 2, (5.0, 5.0, 15.0, 15.0))
    assert patch.replicated  # +2 mm past the last slice
    np.testing.assert_array_equal(patch.hu[:, :40, :40], PAD_HU)
    np.testing.assert_allclose(patch.hu[2], patch.hu[1])


def test_window_on_numpy_arrays() -> None:
    hu = np.array([[[[-2000.0, -1024.0], [1023.5, 5000.0]]]] * 3).reshape(3, 2, 2)
    out = window_hu(hu)  # LesaNet's [-1024, 3071]
    assert out.shape == (3, 2, 2) and out.dtype == np.float32
    assert out[0].ravel().tolist() == pytest.approx([0.0, 0.0, 0.5, 1.0])
    soft = window_hu(hu[0], (-175.0, 275.0))
    assert soft.ravel().tolist() == pytest.approx([0.0, 0.0, 1.0, 1.0])
    assert window_hu([[-160, 40, 240]], (-160, 240)).tolist() == [[0.0, 0.5, 1.0]]
    assert to_uint8(hu)[0].ravel().tolist() == [0, 0, 128, 255]
    np.testing.assert_array_equal(to_uint8(hu), np.rint(window_hu(hu, scale=255.0)).astype(np.uint8))
    with pytest.raises(ValueError, match="expected a window LO < HI"):
        window_hu(hu, (10, -10))


def test_window_on_torch_tensors_matches_numpy() -> None:
    torch = pytest.importorskip("torch")
    hu = torch.tensor([[-2000, -1024, 0, 1023, 5000]], dtype=torch.int16).repeat(3, 1)
    out = window_hu(hu)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (3, 5)
    assert out.numpy().tolist() == window_hu(hu.numpy()).tolist()
    assert window_hu(hu, (-160.0, 240.0))[0].tolist() == pytest.approx([0.0, 0.0, 0.4, 1.0, 1.0])
