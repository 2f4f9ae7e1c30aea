"""The real render tool of the farm's use case (`farm/shard_render.py`): Blender and Cycles.

Heads come from the add-on (`pain3d.addon`): mesh, AU shape keys driven by the head's AU
properties, materials; the stage sets cameras, lights and world; the farm's compositor
(`farm/compositor.py`) writes the label files beside each image and lays the background
behind the film-transparent head.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pain3d import rig
from pain3d.addon import compat
from pain3d.addon import head as heads
from pain3d.addon import stage
from pain3d.dataset import label_files, landmark_visibility
from pain3d.clothing import hair_kinds
from pain3d.hair import detail_for, grow_groom
from pain3d.heatmap import vertex_heat
from pain3d.identity import Identity, build_identity

from . import compositor
from .shard_render import Shot


@dataclass
class BlenderHead:
    """A head in the scene with the core identity it was built from (its heat needs the rig)."""

    obj: object
    identity: Identity
    iod_eye_centres: float


class BlenderRenderTool:
    """Renders into the current scene with a plan's render settings (`job.render`)."""

    def __init__(self, context, settings: dict) -> None:
        self.context, self.settings = context, settings
        self.render_seconds: list[float] = []  # each render call's duration (benchmarks/bench_farm.py)
        self.world: dict = {}  # the lighting's world and the background of the next renders
        self.background: dict = {}
        scene = context.scene
        stage.configure_cycles(scene, settings["resolution"], settings["samples"],
                               device=settings["device"].upper(), denoise=settings["denoise"])
        self.labels = compositor.setup_label_passes(scene, background=True, depth=settings.get("depth", False),
                                                    normals=settings.get("normals", False))

    def build_head(self, identity: dict, textures: dict[str, str] | None) -> BlenderHead:
        started = time.perf_counter()
        core = build_identity(identity["age"], identity["sex"], identity["ethnicity"], identity["head_seed"])
        groom = None
        clothing = identity.get("clothing")  # plans from before clothes, and jobs without, have none
        if identity.get("hair"):  # plans from before hair, and jobs with hair off, have none
            groom = grow_groom(core.head, identity["hair"], kinds=hair_kinds(clothing),
                               detail=detail_for(self.settings["resolution"]))
        obj = heads.head_object(self.context, core, identity["head_seed"], skin_tone=identity["skin_tone"],
                                textures=textures, groom=groom, clothing=clothing, makeup=identity.get("makeup"),
                                bed=identity.get("bed"))
        strands = f", {groom.strand_count} strands grown in {groom.seconds:.1f} s" if groom else ""
        print(f"identity {identity['index']}: head built in {time.perf_counter() - started:.2f} s{strands}", flush=True)
        return BlenderHead(obj, core, rig.iod_eye_centres(core.head))

    def set_aus(self, head: BlenderHead, aus: dict[str, float]) -> None:
        heads.set_aus(head.obj, aus)

    def set_heat(self, head: BlenderHead, aus: dict[str, float]) -> None:
        core = head.identity
        posed = rig.pose(core.head, core.au_deltas, aus)
        heads.set_vertex_heat(head.obj, vertex_heat(core.head.vertices, posed, head.iod_eye_centres))

    def apply_lighting(self, head: BlenderHead, lighting: dict) -> None:
        stage.apply_lighting(self.context, head.obj, lighting)
        compositor.set_white_balance(self.context.scene, lighting.get("white_balance", (1.0, 1.0, 1.0)))
        self.world = lighting["world"]

    def set_background(self, background: dict) -> None:
        self.background = background
        if background["kind"] != "environment":  # an environment is seen per view: laid in render_view
            compositor.set_background(self.context.scene, background)

    def render_view(self, head: BlenderHead, view: dict, folder: Path) -> Shot:
        compat.set_output_folder(self.labels, folder)
        if self.background["kind"] == "environment":
            camera = stage.face_camera(head.obj, view["yaw"], view["pitch"], self.settings["resolution"])
            compositor.set_environment_background(self.context.scene, self.world, camera, self.background["blur"])
        started = time.perf_counter()
        result = stage.render_views(self.context, head.obj, [view], self.settings["resolution"],
                                    lambda i, v: folder / "image.png")[0]
        self.render_seconds.append(time.perf_counter() - started)
        frame = self.context.scene.frame_current
        files = {"image": folder / "image.png"}
        wanted = label_files(self.settings.get("depth", False), self.settings.get("normals", False))
        files.update({field: compat.output_file(folder, field, frame) for field in wanted})
        blocked = stage.blocked_landmarks(self.context, head.obj, result["camera"], result["points"])
        covered = compositor.covering_at(files["mask"], result["landmarks_3d"])
        return Shot(files, result["camera"], result["landmarks"], landmark_visibility(blocked, covered),
                    result["landmarks_3d"])

    def remove_head(self, head: BlenderHead) -> None:
        heads.remove_head(head.obj)
