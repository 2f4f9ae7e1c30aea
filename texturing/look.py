"""What is drawn per identity: the random streams of the texture parts and the look parameters.

Each part of a texture set draws from its own sub-stream of the identity's texture seed, so
switching one part (stubble) or changing one input (age) leaves the others' draws unchanged.
`draw_look` makes every scalar choice up front; the parts only read it.
"""

from __future__ import annotations

import numpy as np

from pain3d.hair import NO_BEARD, load_priors
from pain3d.hair.colour import hair_rgb
from pain3d.hair.priors import beard_growth
from pain3d.identity import SUB_IRIS, iris_colour
from pain3d.sampling import derive_seed
from pain3d.skin import melanin, tone_albedo

SUB_LOOK, SUB_NOISE, SUB_BROWS, SUB_LASHES, SUB_SPOTS, SUB_WRINKLES, SUB_EYES = range(7)

# Hair colours (linear RGB) and how often each occurs: FairFace "White" spans the blond and red
# shades; the other groups are nearly all black or dark brown.
HAIR_RGB = {"black": (0.012, 0.010, 0.009), "dark brown": (0.030, 0.020, 0.014),
            "brown": (0.070, 0.045, 0.028), "light brown": (0.150, 0.100, 0.060),
            "blond": (0.330, 0.240, 0.140), "auburn": (0.170, 0.060, 0.030)}
HAIR_WEIGHTS = {"White": (0.10, 0.30, 0.25, 0.15, 0.12, 0.08), "default": (0.60, 0.35, 0.05, 0.0, 0.0, 0.0)}


def stream(seed: int, sub: int) -> np.random.Generator:
    """The generator of one part's sub-stream of a texture seed."""
    return np.random.default_rng(derive_seed(seed, sub))


SINGLE_EYELID = {"East Asian": 0.5}  # share of lids with no upper-lid crease (Chen, Asian Blepharoplasty)


def draw_look(identity: dict, seed: int, stubble_rate: float) -> dict:
    """Every scalar choice of an identity's textures (the `params` of its texture set)."""
    rng = stream(seed, SUB_LOOK)
    tone, age, male = float(identity["skin_tone"]), float(identity["age"]), identity["sex"] == "male"
    ageing = float(np.clip((age - 20.0) / 55.0, 0.0, 1.2))
    hair_names = list(HAIR_RGB)
    weights = np.asarray(HAIR_WEIGHTS.get(identity["ethnicity"], HAIR_WEIGHTS["default"]))
    hair = hair_names[rng.choice(len(hair_names), p=weights / weights.sum())]
    grey = float(np.clip((age - 38.0 + rng.normal(0, 7)) / 40.0, 0.0, 1.0))  # share of grey hairs
    sallow = np.array([0.0, -0.01, -0.03]) * ageing  # older skin is a little yellower
    base = tone_albedo(tone, identity["ethnicity"]) * np.exp(rng.normal(0, 0.025, 3) + sallow)
    stubble_draw, freckle_draw = rng.random(2)
    strands = identity.get("hair")  # with hair strands, the record says colour, grey and beard
    if strands:
        hair_colour, grey = [float(c) for c in hair_rgb(strands["melanin"], strands["redness"])], strands["grey"]
        stubbled = strands["beard"] != NO_BEARD
    else:
        hair_colour, stubbled = HAIR_RGB[hair], bool(male and stubble_draw < stubble_rate)
    # without a hair record, the default priors' growth for the group
    growth = strands.get("beard_growth", 0.0) if strands else beard_growth(load_priors(), male, identity["ethnicity"])
    head_seed = int(identity.get("head_seed", identity["seed"]))  # the farm builds the head from head_seed
    return {
        "seed": seed, "scale": "Monk Skin Tone (MST) 1-10, Monk 2019", "skin_tone": tone,
        "base_albedo": _floats(base), "age": age, "sex": identity["sex"], "ethnicity": identity["ethnicity"],
        "ageing": ageing, "melanin": melanin(tone),
        "flush": float(rng.uniform(0.6, 1.2)), "orbit_darkness": float(rng.uniform(0.5, 1.1)),
        "blotchiness": float(rng.uniform(0.6, 1.4) * (1.0 + 0.5 * ageing)),
        "pores": float(rng.uniform(0.7, 1.3) * (1.0 + 0.3 * ageing)),
        "lip_tint": _floats(rng.normal(0, 0.05, 3)),
        "hair": hair if not strands else strands["shade"], "hair_rgb": _floats(hair_colour), "grey": grey,
        "strands": bool(strands),
        "brow_density": float(rng.uniform(1.0, 1.8) * (1.25 if male else 1.0) * (1.0 - 0.3 * grey)),
        "brow_length_mm": float(rng.uniform(5.0, 7.5) * (1.15 if male else 1.0)),
        "lash_count": int(rng.integers(70, 110) * (0.85 if male else 1.0)),
        "lash_length_mm": float(rng.uniform(2.2, 3.4) * (0.85 if male else 1.0)),
        "freckles": float(rng.uniform(0.3, 1.0) * (freckle_draw < 0.3 * np.clip((5.0 - tone) / 1.5, 0.0, 1.0))),
        "age_spots": float(np.clip((age - 38.0) / 40.0, 0.0, 1.0) ** 1.5 * rng.uniform(0.3, 1.0)),
        "wrinkle_depth": float((0.04 + ageing ** 1.6) * np.exp(rng.normal(0, 0.25))),
        "stubble": stubbled, "stubble_rate": float(stubble_rate), "beard_growth": float(growth),
        "stubble_density": float(rng.uniform(0.5, 1.0)), "stubble_length": float(rng.uniform(0.2, 1.0)),
        "roughness": float(rng.uniform(0.46, 0.56) + 0.05 * ageing),
        "iris_rgb": _floats(iris_colour(identity["ethnicity"], derive_seed(head_seed, SUB_IRIS))),
        **_lid_fold(rng, age, male, identity["ethnicity"]),
    }


def _lid_fold(rng: np.random.Generator, age: float, male: bool, ethnicity: str) -> dict:
    """The upper lid's fold above the pretarsal skin a relaxed open eye shows (docs/texturing.md):
    about 2.6 mm in young women and 2.0 in young men, less with age as the skin above hoods over it;
    half of East Asian lids have none (a single eyelid) and the rest a low crease that tapers toward
    the nose."""
    show = (2.0 if male else 2.6) * (1.0 - 0.55 * float(np.clip((age - 30.0) / 45.0, 0.0, 1.0)))
    show *= float(rng.uniform(0.8, 1.25))
    depth = 0.5 * float(rng.uniform(0.7, 1.3))
    single = rng.random() < SINGLE_EYELID.get(ethnicity, 0.0)
    taper = 0.5 if ethnicity in SINGLE_EYELID else 0.0
    return {"lid_fold_mm": show * (0.5 if taper else 1.0), "lid_fold_depth_mm": 0.0 if single else depth,
            "lid_fold_taper": taper}


def _floats(values) -> list[float]:
    return [round(float(v), 5) for v in values]
