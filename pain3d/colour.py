"""sRGB transfer functions (IEC 61966-2-1), CIELAB, luminance weights and the renders' view transform:
the one definition every layer uses."""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.2126, 0.7152, 0.0722])  # Rec. 709 luminance of linear RGB


def srgb_to_linear(c) -> np.ndarray:
    """Linear light of sRGB-encoded values in [0, 1]."""
    c = np.asarray(c, dtype=np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c) -> np.ndarray:
    """sRGB encoding of linear values, clipped to [0, 1]."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


D65_WHITE = np.array([0.95047, 1.0, 1.08883])  # CIE XYZ of the D65 white point
XYZ_TO_LINEAR = np.array([[3.2406, -1.5372, -0.4986], [-0.9689, 1.8758, 0.0415], [0.0557, -0.2040, 1.0570]])


def lab_to_linear(lab) -> np.ndarray:
    """Linear Rec. 709 RGB of CIELAB (D65) colours, shape (..., 3): what a reflectance measured as
    L*, a*, b* is as an albedo."""
    lab = np.asarray(lab, dtype=np.float64)
    fy = (lab[..., 0] + 16.0) / 116.0
    f = np.stack([fy + lab[..., 1] / 500.0, fy, fy - lab[..., 2] / 200.0], axis=-1)
    xyz = np.where(f > 6.0 / 29.0, f ** 3, 3 * (6.0 / 29.0) ** 2 * (f - 4.0 / 29.0)) * D65_WHITE
    return xyz @ XYZ_TO_LINEAR.T


def hex_to_rgb(code: str) -> np.ndarray:
    """sRGB 0..1 of a hex colour such as "1c1c1f" (the asset tables' colours)."""
    return np.array([int(code[i:i + 2], 16) / 255.0 for i in (0, 2, 4)])


# The renders' view transform (`blender_addon.compat.set_view_transform`), Standard where a build
# lacks it. Khronos PBR Neutral takes the Fresnel offset off the darkest channel (albedo colours
# show as authored) and rolls highlights above 0.76 off towards white (light skin keeps its texture).
VIEW_TRANSFORM = "Khronos PBR Neutral"
_START = 0.8 - 0.04
_D = 1.0 - _START
_DESATURATION = 0.15


def pbr_neutral(c) -> np.ndarray:
    """Khronos PBR Neutral tone mapping of linear Rec. 709 values (before the sRGB encoding)."""
    c = np.asarray(c, dtype=np.float64)
    x = c.min(axis=-1, keepdims=True)
    c = c - np.where(x < 0.08, x - 6.25 * x * x, 0.04)
    peak = c.max(axis=-1, keepdims=True)
    new_peak = 1.0 - _D * _D / (np.maximum(peak, _START) + _D - _START)
    squeezed = c * new_peak / np.maximum(peak, 1e-9)
    g = 1.0 - 1.0 / (_DESATURATION * (peak - new_peak) + 1.0)
    return np.where(peak < _START, c, squeezed * (1 - g) + new_peak * g)


def pbr_neutral_inverse(c) -> np.ndarray:
    """The linear values that `pbr_neutral` maps to `c` (peaks clipped below 1, which it never reaches)."""
    c = np.clip(np.asarray(c, dtype=np.float64), 0.0, 0.999)
    new_peak = c.max(axis=-1, keepdims=True)
    peak = _D * _D / (1.0 - np.maximum(new_peak, _START)) - _D + _START
    g = 1.0 - 1.0 / (_DESATURATION * (peak - new_peak) + 1.0)
    unsqueezed = (c - new_peak * g) / (1 - g) * peak / np.maximum(new_peak, 1e-9)
    c = np.where(new_peak < _START, c, unsqueezed)
    low = c.min(axis=-1, keepdims=True)  # the offset's inverse: low = x - offset(x)
    x = np.where(low < 0.04, 0.4 * np.sqrt(np.maximum(low, 0.0)), low + 0.04)
    return c + (x - low)


def view_transform(linear, view: str = VIEW_TRANSFORM) -> np.ndarray:
    """What a view transform makes of scene-linear light, as linear display light (sRGB-encode it
    with `linear_to_srgb`): the pixel values a render shows for it."""
    return pbr_neutral(linear) if view == VIEW_TRANSFORM else np.asarray(linear, dtype=np.float64)


def scene_light_for_display(linear, view: str = VIEW_TRANSFORM) -> np.ndarray:
    """The scene-linear light a view transform shows as the linear display light `linear`: how a
    picture made for a display (a photograph, a gradient) enters a render unchanged. Bright,
    saturated colours the transform cannot show come back as near as it gets."""
    return pbr_neutral_inverse(linear) if view == VIEW_TRANSFORM else np.asarray(linear, dtype=np.float64)
