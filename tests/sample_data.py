"""Small datasets that follow the contract, for tests (plain test images, not renders)."""

from pathlib import Path

from PIL import Image

from pain3d import dataset
from pain3d.jobs import resolve_job
from pain3d.plan import make_plan, write_plan

SIZE = 32


def build_dataset(root: Path) -> list[dict]:
    """A small dataset that follows the contract (test images, not renders)."""
    job = resolve_job({"seed": 3, "identities": {"count": 3}, "expressions": {"per_identity": 2},
                       "render": {"views": [-30, 0]}})
    plan = make_plan(job)
    write_plan(root, plan)
    rows = []
    for ident in plan["identities"]:
        for expr in ident["expressions"]:
            for v, view in enumerate(plan["views"]):
                sid = dataset.sample_id(ident["index"], expr["id"], v)
                image = f"images/{sid}.png"
                Image.new("RGB", (SIZE, SIZE), (200, 150, 120)).save(root / _mkdir(root, image))
                heatmap = None
                if expr["id"] != "neutral":
                    heatmap = f"heatmaps/{sid}.png"
                    Image.new("I;16", (SIZE, SIZE), 1000).save(root / _mkdir(root, heatmap))
                landmarks = [[4.0 + i % 20, 6.0 + i // 20] for i in range(68)]
                rows.append(dataset.make_row(ident, expr, v, view, image, heatmap, landmarks))
    dataset.write_header(root, job)
    dataset.write_manifest(root, rows)
    return rows


def _mkdir(root: Path, rel: str) -> str:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    return rel
