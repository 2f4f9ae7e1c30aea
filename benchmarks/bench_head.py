"""Benchmark: building one identity's head with all AU shape keys and drivers, inside Blender.

Run by hand (`python benchmarks/bench_head.py`) or with `pain3d bench head`; needs the `bpy`
module. Times the pure core (`build_identity`: head mesh + AU rig) and the whole Blender build
(`blender_addon.scene.new_head`: core + mesh object, materials, 30 shape keys, drivers) for
several identities after one warm-up build, and reports medians.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PEOPLE = [(24, "female", "East Asian"), (41, "male", "Black"), (66, "female", "White"), (30, "male", "Indian"),
          (52, "female", "Latino/Hispanic"), (77, "male", "Middle Eastern"), (35, "female", "Southeast Asian")]


def run() -> dict:
    import bpy

    from pain3d import addon
    from pain3d.addon import head as heads
    from pain3d.identity import build_identity

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    try:
        heads.remove_head(heads.new_head(bpy.context, 30, "male", "White", seed=0))  # warm-up
        core, full = [], []
        for seed, (age, sex, ethnicity) in enumerate(PEOPLE, start=1):
            started = time.perf_counter()
            build_identity(age, sex, ethnicity, seed)
            core.append(time.perf_counter() - started)
            started = time.perf_counter()
            head = heads.new_head(bpy.context, age, sex, ethnicity, seed=seed)
            full.append(time.perf_counter() - started)
            vertices, keys = len(head.data.vertices), len(head.data.shape_keys.key_blocks)
            heads.remove_head(head)
    finally:
        addon.unregister()
    return {"benchmark": "head", "identities": len(PEOPLE), "vertices": vertices, "shape_keys": keys,
            "core_median_s": round(statistics.median(core), 3),
            "blender_median_s": round(statistics.median(full), 3), "blender_max_s": round(max(full), 3)}


if __name__ == "__main__":
    print(run())
