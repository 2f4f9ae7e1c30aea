"""Job files: the TOML schema, its defaults and its validation (the one source of truth).

A job file says what dataset to make. `load_job(path)` returns the resolved job: a plain
nested dict with every default filled in, which the plan records verbatim. Every user
mistake raises Pain3DError with one line that names the file, the field, the value and
what is allowed. `docs/job-file.md` is generated from SCHEMA (`pain3d jobs doc`).
"""

from __future__ import annotations

import copy
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from . import environments, facs
from .background_images import list_images
from .errors import Pain3DError
from .fileio import atomic_write_text, read_toml
from .paths import asset

JOB_FORMAT_VERSION = 1
MAX_SEED = 2**63 - 1
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Field:
    """One key of the job file: its type, default, allowed values and meaning."""

    kind: str  # int | float | bool | str | choice | custom
    default: Any  # a value, or a callable returning it (for defaults kept in assets/)
    doc: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    allowed: str = ""  # how the allowed values read in errors and docs (custom kinds)
    check: Callable[[str, Any], Any] | None = field(default=None, compare=False)

    def describe(self) -> str:
        if self.allowed:
            return self.allowed
        if self.kind == "choice":
            return "one of " + ", ".join(f'"{c}"' for c in self.choices)
        if self.kind in ("int", "float"):
            word = "integer" if self.kind == "int" else "number"
            return f"{word} {_num(self.lo)}..{_num(self.hi)}"
        if self.kind == "bool":
            return "true or false"
        return "a string"


# --- custom field checks -------------------------------------------------------------------


@lru_cache(maxsize=1)
def demographics() -> dict:
    """The demographic groups and priors in assets/demographics.toml."""
    with open(asset("demographics.toml"), "rb") as f:
        return tomllib.load(f)


def ethnicity_names() -> tuple[str, ...]:
    return tuple(row["name"] for row in demographics()["ethnicity"])


def ethnicity_row(name: str | None) -> dict | None:
    """A group's priors in assets/demographics.toml (None for a name that is not a group)."""
    return next((row for row in demographics()["ethnicity"] if row["name"] == name), None)


def _check_age_bands(name: str, value: Any) -> list[list[int]]:
    allowed = "a list of [low, high] integer ages, 0 <= low < high <= 120, not overlapping"
    if not isinstance(value, list) or not value:
        raise _bad(name, value, allowed)
    bands = []
    for band in value:
        ok = isinstance(band, list) and len(band) == 2 and all(_is_int(x) for x in band)
        if not ok or not (0 <= band[0] < band[1] <= 120):
            raise _bad(name, value, allowed)
        bands.append([int(band[0]), int(band[1])])
    bands.sort()
    if any(a[1] >= b[0] for a, b in zip(bands, bands[1:])):
        raise _bad(name, value, allowed)
    return bands


def _subset_checker(options: Callable[[], tuple[str, ...]]) -> Callable[[str, Any], list[str]]:
    def check(name: str, value: Any) -> list[str]:
        allowed = options()
        if not isinstance(value, list) or not value or len(set(map(str, value))) != len(value):
            raise _bad(name, value, "a non-empty list of distinct values from: " + ", ".join(allowed))
        for item in value:
            if item not in allowed:
                raise Pain3DError(f"{name}: unknown value {item!r}; allowed: {', '.join(allowed)}")
        return list(value)

    return check


def _check_split(name: str, value: Any) -> list[float]:
    allowed = "[train, val, test] fractions, each 0..1, summing to 1, train > 0"
    if not (isinstance(value, list) and len(value) == 3 and all(_is_num(x) for x in value)):
        raise _bad(name, value, allowed)
    fractions = [float(x) for x in value]
    if any(x < 0 or x > 1 for x in fractions) or fractions[0] <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise _bad(name, value, allowed)
    return fractions


def _check_skin_tone(name: str, value: Any) -> dict[str, list[float]]:
    allowed = 'a table of group = [mean, sd] on the Monk scale (mean 1..10, sd 0.05..5)'
    if not isinstance(value, dict):
        raise _bad(name, value, allowed)
    out = {}
    for group, prior in value.items():
        if group not in ethnicity_names():
            raise Pain3DError(f"{name}: unknown group {group!r}; allowed: {', '.join(ethnicity_names())}")
        ok = isinstance(prior, list) and len(prior) == 2 and all(_is_num(x) for x in prior)
        if not ok or not (1 <= prior[0] <= 10 and 0.05 <= prior[1] <= 5):
            raise _bad(f"{name}.{group}", prior, allowed)
        out[group] = [float(prior[0]), float(prior[1])]
    return out


def _check_weights(name: str, value: Any) -> list[float]:
    allowed = "a list of non-negative numbers, one per PSPI value from pspi_min to pspi_max, not all 0"
    if not isinstance(value, list) or not all(_is_num(x) and x >= 0 and math.isfinite(x) for x in value):
        raise _bad(name, value, allowed)
    if value and not any(value):
        raise _bad(name, value, allowed)
    return [float(x) for x in value]


def _check_distractors(name: str, value: Any) -> dict[str, float]:
    allowed_keys = [k for k, au in facs.catalog().items() if not au.pspi]
    if not isinstance(value, dict):
        raise _bad(name, value, "a table of AU = rate (0..1) for non-PSPI AUs")
    out = {}
    for key, rate in value.items():
        if key not in allowed_keys:
            raise Pain3DError(f"{name}: {key!r} cannot be a distractor; allowed: {', '.join(allowed_keys)}")
        if not _is_num(rate) or not 0 <= rate <= 1:
            raise _bad(f"{name}.{key}", rate, "a rate 0..1")
        out[key] = float(rate)
    return out


def _check_explicit(name: str, value: Any) -> list[dict]:
    allowed = 'a list of tables: name = "..." plus AU intensities, e.g. [[expressions.explicit]] name = "x" AU4 = 5'
    if not isinstance(value, list):
        raise _bad(name, value, allowed)
    out, seen = [], set()
    for i, entry in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(entry, dict):
            raise _bad(where, entry, allowed)
        entry = dict(entry)
        if "name" not in entry:
            raise Pain3DError(f"{where}.name: missing; every explicit expression needs a name")
        label = entry.pop("name")
        if not _is_expression_name(label):
            raise _bad(f"{where}.name", label, EXPRESSION_NAME_ALLOWED)
        if label in seen:
            raise Pain3DError(f"{where}.name = {_show(label)}: duplicate expression name; names must be unique")
        seen.add(label)
        try:
            aus = facs.check_aus(entry)
        except Pain3DError as err:
            raise Pain3DError(f"{where} ({label}): {err}") from None
        out.append({"name": label, "aus": aus})
    return out


EXPRESSION_NAME_ALLOWED = "lower-case letters, digits, _ or -, up to 64 characters, not 'neutral' or 'pain_*'"


def _is_expression_name(label: Any) -> bool:
    return isinstance(label, str) and bool(NAME_RE.match(label)) and label != "neutral" and not label.startswith("pain_")


def _check_views(name: str, value: Any) -> list[dict[str, float]]:
    allowed = "a non-empty list of yaw degrees (-90..90) or {yaw = deg, pitch = deg} tables (pitch -45..45)"
    if not isinstance(value, list) or not value or len(value) > 64:
        raise _bad(name, value, allowed)
    views = []
    for item in value:
        if _is_num(item):
            yaw, pitch = float(item), 0.0
        elif isinstance(item, dict) and set(item) <= {"yaw", "pitch"} and "yaw" in item:
            yaw, pitch = item["yaw"], item.get("pitch", 0.0)
            if not (_is_num(yaw) and _is_num(pitch)):
                raise _bad(name, value, allowed)
            yaw, pitch = float(yaw), float(pitch)
        else:
            raise _bad(name, value, allowed)
        if not (-90 <= yaw <= 90 and -45 <= pitch <= 45):
            raise _bad(name, item, allowed)
        views.append({"yaw": yaw, "pitch": pitch})
    if len({(v["yaw"], v["pitch"]) for v in views}) != len(views):
        raise Pain3DError(f"{name}: the same view is listed twice; views must be distinct")
    return views


def _range_checker(lo: float, hi: float, unit: str = "") -> Callable[[str, Any], list[float]]:
    """A [low, high] range inside lo..hi (low may equal high: a fixed value)."""
    def show(x: float) -> str:
        return str(int(x)) if float(x).is_integer() else str(x)

    allowed = f"[low, high] with {show(lo)} <= low <= high <= {show(hi)}" + (f" ({unit})" if unit else "")

    def check(name: str, value: Any) -> list[float]:
        ok = isinstance(value, list) and len(value) == 2 and all(_is_num(x) for x in value)
        if not ok or not (lo <= value[0] <= value[1] <= hi):
            raise _bad(name, value, allowed)
        return [float(value[0]), float(value[1])]

    check.allowed = allowed  # type: ignore[attr-defined]
    return check


def _range(default: list[float], lo: float, hi: float, unit: str, doc: str) -> Field:
    check = _range_checker(lo, hi, unit)
    return Field("custom", default, doc, check=check, allowed=check.allowed)  # type: ignore[attr-defined]


BACKGROUND_KINDS = ("environment", "backdrop", "solid", "gradient", "procedural", "images")


def _check_rate_or_prior(name: str, value: Any) -> str | float:
    allowed = '"prior" (the priors\' age- and group-dependent rate) or a rate 0..1'
    if value == "prior":
        return value
    if not _is_num(value) or not 0 <= value <= 1:
        raise _bad(name, value, allowed)
    return float(value)


def _optional_name(names: Callable[[], tuple[str, ...]]) -> Callable[[str, Any], str]:
    """A check for "" (drawn from the priors) or one of the hair library's `names()`."""
    def check(name: str, value: Any) -> str:
        if value == "":
            return value
        if not isinstance(value, str) or value not in names():
            raise _bad(name, value, '"" (drawn from the priors) or one of: ' + ", ".join(names()))
        return value

    return check


def _style_names() -> tuple[str, ...]:
    from .hair import style_names

    return style_names()


def _beard_names() -> tuple[str, ...]:
    from .hair import beard_names

    return beard_names()


def _garment_names() -> tuple[str, ...]:
    from .clothing import garment_names

    return garment_names()


def _factor_table(kind: str, names: Callable[[], tuple[str, ...]], need_one: bool = False) -> Callable[[str, Any], dict]:
    """A check for a table of `kind` name = factor >= 0 (the [hair] style and [clothing] garment
    weights); `need_one`: the factors may not zero every name."""
    def check(name: str, value: Any) -> dict[str, float]:
        known = names()
        if not isinstance(value, dict):
            raise _bad(name, value, f"a table of {kind} = factor >= 0 ({kind}s: " + ", ".join(known) + ")")
        out = {}
        for key, factor in value.items():
            if key not in known:
                raise Pain3DError(f"{name}: unknown {kind} {key!r}; allowed: {', '.join(known)}")
            if not _is_num(factor) or factor < 0:
                raise _bad(f"{name}.{key}", factor, "a factor >= 0")
            out[key] = float(factor)
        if need_one and out and len(out) == len(known) and not any(out.values()):
            raise _bad(name, value, f"factors that leave at least one {kind} with weight > 0")
        return out

    return check


def _check_kinds(name: str, value: Any) -> dict[str, float]:
    allowed = "a table of kind = weight >= 0 (kinds: " + ", ".join(BACKGROUND_KINDS) + "), not all 0"
    if not isinstance(value, dict) or not value:
        raise _bad(name, value, allowed)
    out = {}
    for kind, weight in value.items():
        if kind not in BACKGROUND_KINDS:
            raise Pain3DError(f"{name}: unknown kind {kind!r}; allowed: {', '.join(BACKGROUND_KINDS)}")
        if not _is_num(weight) or weight < 0:
            raise _bad(f"{name}.{kind}", weight, "a weight >= 0")
        out[kind] = float(weight)
    if not any(out.values()):
        raise _bad(name, value, allowed)
    return {kind: out.get(kind, 0.0) for kind in BACKGROUND_KINDS}


def _light_fields() -> dict[str, Field]:
    """key_/fill_/rim_ azimuth, elevation, power and size ranges around the portrait rig."""
    ranges = {"key": ([-60, -15], [10, 40], [30, 50], [0.3, 0.9]),
              "fill": ([20, 60], [-10, 20], [8, 18], [0.6, 1.4]),
              "rim": ([135, 185], [15, 50], [14, 40], [0.3, 0.8])}
    fields = {}
    for light, (azimuth, elevation, power, size) in ranges.items():
        fields[f"{light}_azimuth"] = _range(azimuth, -180, 360, "degrees",
                                            f"{light.capitalize()} light azimuth around the face (as a view's yaw).")
        fields[f"{light}_elevation"] = _range(elevation, -60, 80, "degrees", f"{light.capitalize()} light elevation.")
        fields[f"{light}_power"] = _range(power, 0, 500, "W", f"{light.capitalize()} area light power.")
        fields[f"{light}_size"] = _range(size, 0.01, 5, "m", f"{light.capitalize()} area light size.")
    return fields


# --- the schema ----------------------------------------------------------------------------

SCHEMA: dict[str, dict[str, Field]] = {
    "": {
        "seed": Field("int", 0, "Job seed: every random draw derives from it and the identity index.", 0, MAX_SEED),
        "name": Field("str", "pain3d-job", "A label for the job, recorded in the plan and the dataset."),
    },
    "identities": {
        "count": Field("int", 42, "Number of identities.", 1, 1_000_000),
        "age_bands": Field("custom", lambda: demographics()["default_age_bands"],
                           "Age bands (inclusive years); ages are drawn uniformly inside a band.",
                           check=_check_age_bands, allowed="list of [low, high] ages, 0..120"),
        "sexes": Field("custom", lambda: demographics()["default_sexes"], "Sexes to balance over.",
                       check=_subset_checker(lambda: ("female", "male")), allowed='subset of "female", "male"'),
        "ethnicities": Field("custom", lambda: list(ethnicity_names()), "Ethnicity groups to balance over (default: all seven FairFace groups).",
                             check=_subset_checker(ethnicity_names), allowed="subset of the FairFace groups"),
        "split": Field("custom", [0.7, 0.2, 0.1], "Train/val/test fractions of identities (identity-disjoint).",
                       check=_check_split, allowed="[train, val, test], summing to 1"),
        "skin_tone": Field("custom", {}, "Per-group skin-tone prior overrides: group = [mean, sd] on the Monk scale.",
                           check=_check_skin_tone, allowed="table of group = [mean 1..10, sd 0.05..5]"),
    },
    "expressions": {
        "per_identity": Field("int", 10, "Sampled pain expressions per identity (a neutral face is always added).",
                              0, 1000),
        "pspi_min": Field("int", 1, "Lowest target PSPI of sampled expressions.", 0, 16),
        "pspi_max": Field("int", 16, "Highest target PSPI of sampled expressions.", 0, 16),
        "pspi_weights": Field("custom", [], "Relative weight of each target PSPI from pspi_min to pspi_max "
                              "(empty: uniform).", check=_check_weights,
                              allowed="list of weights >= 0, one per PSPI value"),
        "pspi_sampling": Field("choice", "stratified", "stratified: each identity's targets spread over the "
                               "distribution's quantiles; iid: independent draws.", choices=("stratified", "iid")),
        "au43_onset": Field("float", 11.0, "Target PSPI at which eyes-closed (AU43) is drawn half the time.", 1, 16),
        "distractors": Field("custom", {"AU12": 0.05, "AU20": 0.15, "AU25": 0.25, "AU26": 0.15, "AU27": 0.05},
                             "Non-PSPI AUs added to sampled expressions at these rates (intensity 1-5).",
                             check=_check_distractors, allowed="table of non-PSPI AU = rate 0..1"),
        "explicit": Field("custom", [], "Named AU configurations rendered for every identity.",
                          check=_check_explicit, allowed='list of tables with name and AU intensities'),
    },
    "render": {
        "resolution": Field("int", 256, "Image width and height in pixels.", 32, 4096),
        "views": Field("custom", [{"yaw": -30.0, "pitch": 0.0}, {"yaw": 0.0, "pitch": 0.0},
                                  {"yaw": 30.0, "pitch": 0.0}],
                       "Camera views: yaw degrees, or {yaw, pitch} tables.", check=_check_views,
                       allowed="list of yaw -90..90 or {yaw, pitch -45..45}"),
        "samples": Field("int", 32, "Path-tracing samples per pixel.", 1, 4096),
        "denoise": Field("bool", False, "Run Blender's denoiser on each image."),
        "device": Field("choice", "cpu", "Render device.", choices=("cpu", "gpu")),
        "engine": Field("choice", "cycles", "Render engine (eevee needs a GPU).", choices=("cycles", "eevee")),
        "depth": Field("bool", False, "Also write a depth map per image (16-bit PNG, 0.1 mm units; docs/dataset-format.md)."),
        "normals": Field("bool", False, "Also write camera-space normals per image (8-bit RGB PNG; docs/dataset-format.md)."),
    },
    "lighting": {
        "per": Field("choice", "identity", "Draw the lighting once per identity, per image, or use the fixed "
                     "portrait rig (docs/scenery.md).", choices=("identity", "image", "fixed")),
        **_light_fields(),
        "mirror": Field("float", 0.5, "Chance that the rig is mirrored (key light on the subject's left).", 0, 1),
        "temperature": _range([3200, 6500], 1000, 20000, "K", "Colour temperature of each light."),
        "white_balance": Field("float", 0.8, "Share of the lights' colour cast that the camera's white balance "
                               "corrects (1: all of it, 0: none; warm light then tints the skin).", 0, 1),
        "ambient": _range([0.25, 0.7], 0, 5, "strength", "Strength of the grey world light when no environment is set."),
        "environment": Field("str", "builtin", "The world light, randomly rotated: \"builtin\" (one of the eight CC0 "
                             "maps inside Blender), a folder of HDR/EXR maps (one drawn), an image file, or \"\" "
                             "(a grey ambient world); paths relative to the job file (docs/scenery.md)."),
        "environment_strength": _range([0.085, 0.24], 0, 20, "mean luminance", "Exposure of the environment: its "
                                       "map is scaled to this mean luminance (so night and noon maps light alike)."),
    },
    "background": {
        "per": Field("choice", "identity", "Draw the background once per identity or per image.",
                     choices=("identity", "image")),
        "kinds": Field("custom", {"environment": 4.0, "backdrop": 1.0, "solid": 0.0, "gradient": 0.0, "procedural": 0.0,
                                  "images": 0.0},
                       "Relative weights of the background kinds (a kind left out weighs 0): environment is the "
                       "world's map seen through the lens, backdrop a studio's seamless paper lit by a background "
                       "light.", check=_check_kinds,
                       allowed="table of environment/backdrop/solid/gradient/procedural/images = weight >= 0"),
        "blur": _range([0.008, 0.02], 0, 0.2, "of the image width", "Lens blur of environment backgrounds (Gaussian "
                       "sigma): a portrait lens's out-of-focus background."),
        "hue": _range([0, 360], 0, 360, "degrees", "Hue of background colours."),
        "saturation": _range([0.0, 0.25], 0, 1, "", "Saturation of background colours (portrait backdrops "
                             "are greys and muted tints)."),
        "value": _range([0.1, 0.8], 0, 1, "", "Brightness (HSV value, sRGB) of background colours."),
        "procedural_scale": _range([3, 12], 1, 64, "features across", "Size of procedural noise/Voronoi features."),
        "images": Field("str", "", "A folder of background images (png, jpg, exr, ...; relative to the job file); "
                        "needed when kinds.images > 0."),
    },
    "hair": {
        "enabled": Field("bool", True, "Grow hair as strands (scalp, brows, lashes, beards; docs/hair.md); "
                         "false renders bald heads with painted brows."),
        "style": Field("custom", "", "One scalp style for everyone (empty: drawn per identity from the priors).",
                       check=_optional_name(_style_names), allowed='"" or a style name'),
        "style_weights": Field("custom", {}, "Factors on the priors' style weights (e.g. {long_wavy = 2, "
                               "cornrows = 0}); styles left out keep theirs.", check=_factor_table("style", _style_names),
                               allowed="table of style = factor >= 0"),
        "beard": Field("custom", "", "One beard for every man (\"none\": clean-shaven; empty: drawn from the "
                       "priors and beard_rate).", check=_optional_name(_beard_names), allowed='"" or a beard name'),
        "bald_rate": Field("custom", "prior", "Share of men bald on top (Norwood VI-VII); \"prior\": by age "
                           "and group.", check=_check_rate_or_prior, allowed='"prior" or 0..1'),
        "beard_rate": Field("custom", "prior", "Share of men with facial hair; \"prior\": by group.",
                            check=_check_rate_or_prior, allowed='"prior" or 0..1'),
        "priors": Field("str", "", "A TOML file replacing assets/hair/priors.toml (relative to the job file)."),
    },
    "clothing": {
        "enabled": Field("bool", True, "Dress every identity's bust (docs/clothing.md); false leaves it bare."),
        "garment": Field("custom", "", "One garment for everyone (empty: drawn per identity from the priors).",
                         check=_optional_name(_garment_names), allowed='"" or a garment name'),
        "garment_weights": Field("custom", {}, "Factors on the priors' garment weights (e.g. {hospital_gown = 3, "
                                 "hoodie = 0}); garments left out keep theirs.",
                                 check=_factor_table("garment", _garment_names, need_one=True),
                                 allowed="table of garment = factor >= 0"),
        "earrings": Field("custom", "prior", "Share of people wearing earrings (studs, hoops, pearls; none under a "
                          "headscarf); \"prior\": by sex and age from the priors; 0: none, as on wards that take "
                          "jewellery off.", check=_check_rate_or_prior, allowed='"prior" or 0..1'),
        "priors": Field("str", "", "A TOML file replacing assets/clothing/priors.toml (relative to the job file)."),
        "garments": Field("str", "", "A TOML file replacing assets/clothing/garments.toml (relative to the job file)."),
    },
    "makeup": {
        "enabled": Field("bool", True, "Make-up on some faces (lips, blush, brows, eyeshadow, mascara; "
                         "docs/makeup.md); false leaves every face bare."),
        "rate": Field("custom", "prior", "Share of women wearing make-up (men: none); \"prior\": by sex and age "
                      "from the priors.", check=_check_rate_or_prior, allowed='"prior" or 0..1'),
        "priors": Field("str", "", "A TOML file replacing assets/makeup/priors.toml (relative to the job file)."),
    },
    "bed": {
        "enabled": Field("bool", False, "The clinical scene: every patient lies in a hospital bed, head on a pillow, "
                         "under a blanket, seen from the bed's side or above (docs/scenery.md); bed.views replace "
                         "render.views."),
        "turn": _range([-25, 25], -45, 45, "degrees", "How far the head lies turned on the pillow (> 0: towards "
                       "the subject's left)."),
        "recline": _range([0, 40], 0, 60, "degrees", "How far the backrest is raised from flat (30-45 in intensive care)."),
        "views": Field("custom", [{"yaw": 0.0, "pitch": -15.0}, {"yaw": -45.0, "pitch": 0.0},
                                  {"yaw": 45.0, "pitch": 0.0}],
                       "Camera views in the bed, around the face as render.views; each must stay 15 degrees above "
                       "the backrest at every turn.", check=_check_views,
                       allowed="list of yaw -90..90 or {yaw, pitch -45..45}"),
    },
    "texture": {
        "backend": Field("choice", "procedural", "Skin texture source.", choices=("procedural", "diffusion")),
        "size": Field("int", 1024, "Texture width and height in pixels.", 64, 8192),
        "stubble": Field("float", 0.4, "Chance that a male identity gets painted stubble (procedural; only when "
                         "hair.enabled is false: with hair, the beard comes from the hair record).", 0, 1),
        "base_model": Field("str", "stable-diffusion-v1-5/stable-diffusion-v1-5",
                            "Diffusion: Stable Diffusion 1.5 model id or local folder (diffusers layout)."),
        "controlnet": Field("str", "lllyasviel/sd-controlnet-depth",
                            "Diffusion: depth ControlNet model id or local folder."),
        "prompts": Field("str", "", "Diffusion: a TOML file of prompt templates (relative to the job file); "
                         "empty uses assets/texturing/prompts.toml."),
        "steps": Field("int", 30, "Diffusion: denoising steps.", 1, 500),
        "guidance": Field("float", 7.5, "Diffusion: classifier-free guidance scale.", 0, 50),
        "control_scale": Field("float", 1.0, "Diffusion: strength of the depth conditioning.", 0, 5),
        "portrait_resolution": Field("int", 512, "Diffusion: side of the generated portraits in pixels "
                                     "(a multiple of 64).", 64, 2048),
        "side_views": Field("bool", False, "Diffusion: also paint from +/-45 degree views and blend."),
        "device": Field("choice", "auto", "Diffusion: cuda, cpu, or auto (cuda when present).",
                        choices=("auto", "cpu", "cuda")),
        "precision": Field("choice", "auto", "Diffusion: fp16, fp32, or auto (fp16 on cuda).",
                           choices=("auto", "fp16", "fp32")),
        "batch_size": Field("int", 4, "Diffusion: portraits generated per pipeline call (across identities).", 1, 64),
        "allow_download": Field("bool", False, "Diffusion: let diffusers fetch model ids from the Hugging Face Hub "
                                "(off: local folders and the local cache only)."),
    },
}


# --- loading -------------------------------------------------------------------------------


def load_job(path: str | Path) -> dict:
    """Read, validate and resolve a job file. Raises Pain3DError on any user mistake."""
    path = Path(path)
    return resolve_job_file(read_toml(path, "job file"), path)


def resolve_job_file(data: dict, path: Path) -> dict:
    """Resolve a job table read from (or to be written at) `path`: relative paths are relative to it."""
    try:
        job = resolve_job(data)
        _resolve_paths(job, path.resolve().parent)
        return job
    except Pain3DError as err:
        raise Pain3DError(f"{path.name}: {err}") from None


def resolve_job(data: dict) -> dict:
    """Validate a parsed job table and fill in defaults."""
    job: dict[str, Any] = {"format_version": JOB_FORMAT_VERSION}
    job.update(resolve_tables(data, SCHEMA))
    _cross_checks(job)
    return job


def resolve_tables(data: dict, schema: dict) -> dict:
    """Check parsed TOML against a schema (section -> key -> Field; "" is the top level), filling defaults."""
    sections = [s for s in schema if s]
    top_allowed = sorted(list(schema.get("", {})) + sections)
    for key in data:
        if key not in top_allowed:
            raise Pain3DError(f"unknown key {key!r}; allowed: {', '.join(top_allowed)}")
    out = _resolve_section("", {k: v for k, v in data.items() if k not in sections}, schema) if "" in schema else {}
    for section in sections:
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise _bad(section, table, f"a [{section}] table")
        out[section] = _resolve_section(section, table, schema)
    return out


def _resolve_section(section: str, table: dict, schema: dict | None = None) -> dict:
    fields = (schema or SCHEMA)[section]
    for key in table:
        if key not in fields:
            where = f"{section}.{key}" if section else key
            raise Pain3DError(f"unknown key {where!r}; allowed: {', '.join(sorted(fields))}")
    out = {}
    for key, spec in fields.items():
        name = f"{section}.{key}" if section else key
        out[key] = _check_value(name, spec, table[key]) if key in table else _default(spec)
    return out


def _default(spec: Field) -> Any:
    """A fresh copy of the default; callables read defaults that live in assets/."""
    return copy.deepcopy(spec.default() if callable(spec.default) else spec.default)


def _check_value(name: str, spec: Field, value: Any) -> Any:
    if spec.kind == "custom":
        return spec.check(name, value)
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise _bad(name, value, spec.describe())
        return value
    if spec.kind in ("str", "choice"):
        if not isinstance(value, str) or (spec.kind == "choice" and value not in spec.choices):
            raise _bad(name, value, spec.describe())
        return value
    ok = _is_int(value) if spec.kind == "int" else _is_num(value)
    if not ok:
        raise _bad(name, value, spec.describe())
    if not (spec.lo <= value <= spec.hi):
        raise Pain3DError(f"{name} = {_show(value)}: out of range; allowed: {spec.describe()}")
    return int(value) if spec.kind == "int" else float(value)


def _cross_checks(job: dict) -> None:
    _check_bed_views(job["bed"])
    expr = job["expressions"]
    if expr["pspi_min"] > expr["pspi_max"]:
        raise Pain3DError(f"expressions.pspi_min = {expr['pspi_min']} is above expressions.pspi_max = "
                          f"{expr['pspi_max']}; allowed: pspi_min <= pspi_max")
    span = expr["pspi_max"] - expr["pspi_min"] + 1
    if expr["pspi_weights"] and len(expr["pspi_weights"]) != span:
        raise Pain3DError(f"expressions.pspi_weights has {len(expr['pspi_weights'])} values; allowed: exactly "
                          f"{span} (one per PSPI value {expr['pspi_min']}..{expr['pspi_max']})")
    if job["background"]["kinds"]["images"] > 0 and not job["background"]["images"]:
        raise Pain3DError(f"background.kinds.images = {_num(job['background']['kinds']['images'])} but "
                          "background.images is not set; allowed: a folder of images, or kinds.images = 0")
    if job["background"]["kinds"]["environment"] > 0 and not job["lighting"]["environment"]:
        raise Pain3DError(f"background.kinds.environment = {_num(job['background']['kinds']['environment'])} but "
                          'lighting.environment = ""; allowed: an environment ("builtin", a folder or a file), '
                          "or kinds.environment = 0")
    groups = job["identities"]["ethnicities"]
    unused = sorted(set(job["identities"]["skin_tone"]) - set(groups))
    if unused:
        raise Pain3DError(f"identities.skin_tone: group {unused[0]!r} is not in identities.ethnicities")


def _check_bed_views(bed: dict) -> None:
    from .bed import MIN_VIEW_ELEVATION, lowest_view

    if not bed["enabled"]:
        return
    view, turn, elevation = lowest_view(bed["views"], bed["turn"])
    if elevation < MIN_VIEW_ELEVATION:
        raise Pain3DError(f"bed.views: {{yaw = {_num(view['yaw'])}, pitch = {_num(view['pitch'])}}} with the head "
                          f"turned {_num(turn)} degrees is {elevation:.0f} degrees above the backrest (behind the "
                          f"pillow); allowed: views at least {_num(MIN_VIEW_ELEVATION)} degrees above it at every "
                          "bed.turn (|yaw + turn| <= 75 at pitch 0)")


def _resolve_paths(job: dict, base: Path) -> None:
    """Make the job's file paths absolute (relative ones are relative to the job file) and check them."""
    background, lighting = job["background"], job["lighting"]
    if background["images"]:
        background["images"] = str(base / Path(background["images"]).expanduser())
        if background["kinds"]["images"] > 0:
            list_images(background["images"])
    if lighting["environment"] and lighting["environment"] != "builtin":
        env = base / Path(lighting["environment"]).expanduser()
        if not env.exists():
            raise Pain3DError(f'lighting.environment = "{lighting["environment"]}": no such file or folder; '
                              'allowed: "builtin", a folder of HDR/EXR maps, an image file or ""')
        lighting["environment"] = str(env)
        environments.choices(str(env))  # a folder without maps fails here
    hair = job["hair"]
    if hair["priors"]:
        from .hair import load_priors

        hair["priors"] = str(base / Path(hair["priors"]).expanduser())
        load_priors(hair["priors"])
    clothing = job["clothing"]
    for key in ("garments", "priors"):
        if clothing[key]:
            clothing[key] = str(base / Path(clothing[key]).expanduser())
    if clothing["garments"] or clothing["priors"]:
        from .clothing import garments, load_priors

        table = garments(clothing["garments"] or None)
        load_priors(clothing["priors"] or None, clothing["garments"] or None)
        if clothing["garment"] and clothing["garment"] not in table:
            raise Pain3DError(f'clothing.garment = "{clothing["garment"]}": not in {clothing["garments"]}; '
                              f'allowed: {", ".join(table)}')
    makeup = job["makeup"]
    if makeup["priors"]:
        from .makeup import load_priors as makeup_priors

        makeup["priors"] = str(base / Path(makeup["priors"]).expanduser())
        makeup_priors(makeup["priors"])
    texture = job["texture"]
    if texture["prompts"]:
        texture["prompts"] = str(base / Path(texture["prompts"]).expanduser())
    for key in ("base_model", "controlnet"):  # a local folder beside the job file, else a Hub model id
        local = base / Path(texture[key]).expanduser()
        if texture[key] and local.exists():
            texture[key] = str(local)


# --- helpers -------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_num(value: Any) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def _num(x: float | None) -> str:
    return str(int(x)) if x is not None and float(x).is_integer() else str(x)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _bad(name: str, value: Any, allowed: str) -> Pain3DError:
    shown = _show(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return Pain3DError(f"{name} = {shown}: invalid; allowed: {allowed}")


def schema_markdown(schema: dict | None = None) -> str:
    """A file reference (e.g. docs/job-file.md's body) generated from a schema (default: the job's)."""
    lines = []
    for section, fields in (schema or SCHEMA).items():
        lines.append(f"### `[{section}]`" if section else "### Top level")
        lines.append("")
        lines.append("| key | default | allowed | meaning |")
        lines.append("| --- | --- | --- | --- |")
        for key, spec in fields.items():
            shown = _toml_value(_default(spec))
            lines.append(f"| `{key}` | `{shown}` | {spec.describe()} | {spec.doc} |")
        lines.append("")
    return "\n".join(lines)


def job_toml(job: dict) -> str:
    """A resolved job as job-file text that loads back to the same job (exports and reports)."""
    lines = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in job.items()
             if k != "format_version" and not isinstance(v, dict)]
    for section, table in job.items():
        if isinstance(table, dict):
            lines += ["", f"[{section}]"]
            lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()
                      if (section, k) != ("expressions", "explicit")]
    for entry in job["expressions"]["explicit"]:
        lines += ["", "[[expressions.explicit]]", f"name = {_toml_value(entry['name'])}"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in entry["aus"].items()]
    return "\n".join(lines) + "\n"


def with_expression(data: dict, name: str, aus: dict[str, float]) -> dict:
    """A copy of a job file's table with an explicit expression added (or replaced, by name).

    AUs at 0 are left out; resolving the result checks the intensities as in any job file."""
    if not _is_expression_name(name):
        raise _bad("expression name", name, EXPRESSION_NAME_ALLOWED)
    out = copy.deepcopy(data)
    expressions = out.setdefault("expressions", {})
    if not isinstance(expressions, dict):
        raise _bad("expressions", expressions, "an [expressions] table")
    kept = [e for e in expressions.get("explicit", []) if not (isinstance(e, dict) and e.get("name") == name)]
    expressions["explicit"] = kept + [{"name": name, **{key: value for key, value in aus.items() if value}}]
    return out


def views_of(job: dict) -> list[dict]:
    """The camera views of a resolved job: the bed's in the clinical scene, else the render's."""
    return job["bed"]["views"] if job.get("bed", {}).get("enabled") else job["render"]["views"]


def job_views(job_path: str | Path | None) -> list[dict]:
    """The views of a job file, or the job schema's default views (the panel's preview cameras)."""
    if job_path:
        return views_of(load_job(job_path))
    return SCHEMA["render"]["views"].default


def export_expression(aus: dict[str, float], name: str, base_path: str | Path | None,
                      out_path: str | Path, tables: dict[str, dict] | None = None) -> tuple[Path, int]:
    """Write a job file that renders an expression (as `name`) for every identity.

    It starts from the job file at `base_path` (or the defaults) and keeps its other expressions,
    so exporting into the base file collects expressions one by one; `tables` (e.g. the panel's
    hair style and beard, garment and bed) replace those keys of the job's tables. Returns the path
    written and the number of explicit expressions in it."""
    data = read_toml(Path(base_path), "job file") if base_path else {}
    for table, keys in (tables or {}).items():
        data = {**data, table: {**data.get(table, {}), **keys}}
    out = Path(out_path)
    job = resolve_job_file(with_expression(data, name, aus), Path(base_path) if base_path else out)
    atomic_write_text(out, job_toml(job))
    return out, len(job["expressions"]["explicit"])


def _toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)  # TOML's strings, numbers and booleans read like JSON's


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)
