"""Benchmark: the procedural texture set of one identity (`texturing.procedural`), pure numpy + Pillow.

Run by hand (`python benchmarks/bench_texture.py`). Builds each identity's neutral head first
(not timed), draws one warm-up set (the process draws the skin's UV layout raster once per size
and caches it), then times `procedural_textures` at 1024 x 1024 for several identities and
reports the median and the slowest. The target is under 2 s per identity on 2 cores.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZE = 1024
PEOPLE = [(24, "female", "East Asian", 3.0), (41, "male", "Black", 8.5), (66, "female", "White", 1.5),
          (30, "male", "Indian", 6.0), (52, "female", "Latino/Hispanic", 4.5), (77, "male", "Middle Eastern", 4.0),
          (35, "female", "Southeast Asian", 5.0)]


def run() -> dict:
    from pain3d.head import head_from_spec, sample_spec
    from pain3d.texturing.procedural import procedural_textures

    def record(seed: int, age: float, sex: str, ethnicity: str, tone: float) -> dict:
        return {"index": seed, "seed": seed, "head_seed": seed, "age": age, "sex": sex, "ethnicity": ethnicity,
                "skin_tone": tone}

    heads = [head_from_spec(sample_spec(age, sex, eth, seed)) for seed, (age, sex, eth, _) in enumerate(PEOPLE, 1)]
    procedural_textures(heads[0], record(0, *PEOPLE[0]), SIZE, stubble_rate=1.0)  # warm-up: draws the layout
    times = []
    for seed, (head, person) in enumerate(zip(heads, PEOPLE), start=1):
        started = time.perf_counter()
        procedural_textures(head, record(seed, *person), SIZE, stubble_rate=1.0)  # stubble on every male
        times.append(time.perf_counter() - started)
    return {"benchmark": "texture", "backend": "procedural", "size": SIZE, "identities": len(PEOPLE),
            "median_s": round(statistics.median(times), 3), "max_s": round(max(times), 3)}


if __name__ == "__main__":
    print(run())
