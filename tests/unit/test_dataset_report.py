"""`pain3d report`: the dataset report page (app/dataset_report.py) on a tiny dataset built here.

The dataset: 8 identities in 4 demographic cells (2 age bands x 2 sexes x "Latino/Hispanic", whose
slash the cell labels must survive), neutral + 2 sampled pain expressions, 3 views, 40 px test
pictures with 16-bit heatmaps, colourised heatmaps and masks, rows made by `dataset.make_row`.
"""

from __future__ import annotations

import html
import re
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pain3d import dataset
from pain3d.errors import Pain3DError
from pain3d.jobs import resolve_job
from pain3d.plan import make_plan, read_plan, write_plan
from pain3d.app.dataset_report import HTML_NAME, PNG_NAMES, RULES, write_report

SIZE = 40
JOB = {"seed": 9, "name": "tiny-report", "identities": {"count": 8, "age_bands": [[18, 40], [41, 85]],
                                                         "ethnicities": ["Latino/Hispanic"]},
       "expressions": {"per_identity": 2}, "render": {"views": [-30, 0, 30], "resolution": SIZE}}
EXPRESSIONS, VIEWS = 3, 3


def _save(img: Image.Image, root: Path, rel: str) -> str:
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    img.save(root / rel)
    return rel


def _files(root: Path, sid: str, identity: int, pspi: float, neutral: bool) -> dict[str, str | None]:
    """The image, heatmap, colourised heatmap and mask of one sample (heatmaps only for pain)."""
    pixels = np.full((SIZE, SIZE, 3), (30 * identity % 200, 120, 90), np.uint8)
    pixels[10:30, 10:10 + int(pspi)] = 255  # a bar as long as the PSPI
    heat = np.zeros((SIZE, SIZE), np.float32)
    heat[8:20, 8:32] = pspi / 16
    files = {"image": _save(Image.fromarray(pixels), root, f"images/{sid}.png"),
             "mask": _save(Image.fromarray((heat > 0).astype(np.uint8)), root, f"masks/{sid}.png"),
             "heatmap": None}
    if not neutral:
        files["heatmap"] = _save(Image.fromarray(np.round(heat * 65535).astype(np.uint16)), root, f"heatmaps/{sid}.png")
        colour = np.stack([heat, heat, 1 - heat], axis=-1)
        files["heatmap_color"] = _save(Image.fromarray((colour * 255).astype(np.uint8)), root,
                                       f"heatmaps_color/{sid}.png")
    return files


def build(root: Path) -> Path:
    job = resolve_job(JOB)
    plan = make_plan(job)
    write_plan(root, plan)
    rows = []
    landmarks = [[2.0 + i % 30, 3.0 + i // 30] for i in range(dataset.N_LANDMARKS)]
    for ident in plan["identities"]:
        for expr in ident["expressions"]:
            for v, view in enumerate(plan["views"]):
                sid = dataset.sample_id(ident["index"], expr["id"], v)
                files = _files(root, sid, ident["index"], expr["pspi"], expr["id"] == dataset.NEUTRAL)
                rows.append(dataset.make_row(ident, expr, v, view, files.pop("image"), files.pop("heatmap"),
                                             landmarks, **files))
    dataset.write_header(root, job)
    dataset.write_manifest(root, rows)
    return root


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny dataset (read-only: copy it to break it)."""
    return build(tmp_path_factory.mktemp("tiny_report"))


@pytest.fixture(scope="module")
def page(tiny: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(tiny, tmp_path_factory.mktemp("report"))


def _section(text: str, anchor: str) -> str:
    start = text.index(f'<h2 id="{anchor}">')
    end = text.find("<h2", start + 1)
    return text[start:end if end > 0 else None]


def _table_rows(text: str) -> list[list[str]]:
    """The body rows (not the headers) of the tables in `text`, as plain text."""
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S) for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", text, re.S)]
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)) for c in row] for row in rows if row]


def _checks(text: str) -> dict[str, list[str]]:
    """Check name -> [rule, result, first problems]."""
    return {row[0]: row[1:] for row in _table_rows(_section(text, "checks"))}


def test_page_shows_only_pngs_that_exist(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert sorted(sources) == sorted(PNG_NAMES)
    for name in sources:
        with Image.open(page.parent / name) as img:
            assert img.format == "PNG" and min(img.size) > 50
    assert sorted(p.name for p in page.parent.iterdir()) == sorted([*PNG_NAMES, HTML_NAME])


def test_balance_table_counts_identities_per_cell_and_split(page: Path, tiny: Path) -> None:
    plan = read_plan(tiny)
    expected = Counter((i["age_band"], i["sex"], i["ethnicity"]) for i in plan["identities"])
    splits = Counter((i["age_band"], i["sex"], i["ethnicity"], i["split"]) for i in plan["identities"])
    rows = _table_rows(_section(page.read_text(encoding="utf-8"), "balance"))
    assert rows[-1][:4] == ["all", "", "", "8"] and rows[-1][-1] == str(8 * EXPRESSIONS * VIEWS)
    cells = {tuple(r[:3]): r[3:] for r in rows[:-1]}
    assert set(cells) == set(expected) and len(cells) == 4  # "Latino/Hispanic" kept whole
    for cell, (identities, train, val, test, images) in cells.items():
        assert int(identities) == expected[cell] == 2
        assert [int(train), int(val), int(test)] == [splits[(*cell, s)] for s in ("train", "val", "test")]
        assert int(images) == expected[cell] * EXPRESSIONS * VIEWS


def test_check_list_passes_on_a_valid_dataset(page: Path) -> None:
    checks = _checks(page.read_text(encoding="utf-8"))
    assert list(checks) == [title for title, _, _ in RULES]
    assert all(result == "pass" for _, result, _ in checks.values())


def test_ladder_is_the_widest_identity_sorted_by_pspi(page: Path, tiny: Path) -> None:
    caption = html.unescape(re.search(r"<figcaption>(Identity \d+ .*?)</figcaption>",
                                      page.read_text(encoding="utf-8")).group(1))
    identity = int(re.match(r"Identity (\d+)", caption).group(1))
    columns = re.findall(r"(\w+) \(([\d.]+)\)", caption.split("Columns (PSPI):")[1])
    pspi = [float(p) for _, p in columns]
    assert pspi == sorted(pspi) and columns[0] == ("neutral", "0")
    planned = {i["index"]: {e["id"]: e["pspi"] for e in i["expressions"]} for i in read_plan(tiny)["identities"]}
    assert {name: float(p) for name, p in columns} == {k: float(v) for k, v in planned[identity].items()}
    assert len(set(planned[identity].values())) == max(len(set(e.values())) for e in planned.values())


def test_broken_rows_show_as_failing_checks(tiny: Path, tmp_path: Path) -> None:
    data = Path(shutil.copytree(tiny, tmp_path / "data"))
    rows = dataset.read_manifest(data)
    (data / rows[0]["image"]).unlink()  # the neutral frontal of identity 0: on the contact sheet and maybe the ladder
    with open(data / dataset.MANIFEST_FILE, "a", encoding="utf-8") as f:
        f.write("{not json\n")
    text = write_report(data).read_text(encoding="utf-8")
    checks = _checks(text)
    assert checks["Rule 2"][1].startswith("FAIL: 1 problem") and rows[0]["sample_id"] in checks["Rule 2"][2]
    assert checks["Header and rows"][1].startswith("FAIL") and "not valid JSON" in checks["Header and rows"][2]
    assert all(checks[rule][1] == "pass" for rule in ("Rule 1", "Rule 3", "Rule 4", "Rule 5", "Rule 6", "Rule 7"))
    assert "1 manifest line(s) too broken to plot" in text
    assert all((data / "report" / name).is_file() for name in PNG_NAMES)


def test_each_kind_of_problem_lands_under_its_rule(tiny: Path, tmp_path: Path) -> None:
    data = Path(shutil.copytree(tiny, tmp_path / "data"))
    rows = dataset.read_manifest(data)
    pain = [i for i, r in enumerate(rows) if r["expression"] != dataset.NEUTRAL]
    rows.append(dict(rows[1]))  # rule 1: a repeated sample_id
    rows[pain[0]]["landmarks"] = "landmarks/missing.json"  # rule 2 (files are not opened below)
    rows[pain[1]]["pspi"] += 1  # rule 3
    rows[0]["heatmap"] = "heatmaps/x.png"  # rule 4
    rows[pain[2]]["split"] = "test" if rows[pain[2]]["split"] != "test" else "val"  # rule 6
    rows[pain[3]]["landmarks"] = [[1.0, 2.0]]  # rule 7
    twin = next(i for i, r in enumerate(rows) if r["identity"] == 7 and r["expression"] == dataset.NEUTRAL)
    del rows[twin]  # rule 5
    dataset.write_manifest(data, rows)
    (data / dataset.DATASET_FILE).write_text('{"format": "pain3d-dataset", "format_version": 99}')
    checks = _checks(write_report(data, check_files=False).read_text(encoding="utf-8"))
    assert list(checks) == [title for title, _, _ in RULES]  # no "Other": every problem has its rule
    assert all(result.startswith("FAIL") for _, result, _ in checks.values())


def test_a_dataset_without_its_plan_still_gets_a_page(tiny: Path, tmp_path: Path) -> None:
    data = Path(shutil.copytree(tiny, tmp_path / "data"))
    (data / "plan.json").unlink()
    text = write_report(data).read_text(encoding="utf-8")
    assert "No readable plan" in text and "no plan here" in text
    rows = _table_rows(_section(text, "balance"))
    assert rows[-1][3] == "8" and {r[0] for r in rows[:-1]} == {"18-34", "35-59", "60-85"}  # the default bands


def test_manifest_only_checks_say_files_were_not_checked(tiny: Path, tmp_path: Path) -> None:
    text = write_report(tiny, tmp_path, check_files=False).read_text(encoding="utf-8")
    checks = _checks(text)
    assert checks["Rule 2"][1] == "not checked" and "files not opened" in text
    assert all(result == "pass" for name, (_, result, _) in checks.items() if name != "Rule 2")


def test_rerun_overwrites_cleanly(tiny: Path, tmp_path: Path) -> None:
    steps: list[str] = []
    first = write_report(tiny, tmp_path, progress=steps.append)
    before = first.read_bytes()
    (tmp_path / "ladder.png").write_bytes(b"stale")
    second = write_report(tiny, tmp_path)
    assert second == first and second.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*PNG_NAMES, HTML_NAME])  # no temporary files
    with Image.open(tmp_path / "ladder.png") as img:
        img.load()
    assert steps[0] == "reading the manifest" and steps[-1] == "writing the page"


def test_a_manifest_without_usable_rows_gets_a_page_without_plots(tiny: Path, tmp_path: Path) -> None:
    data = Path(shutil.copytree(tiny, tmp_path / "data"))
    write_report(data)
    (data / dataset.MANIFEST_FILE).write_text("")
    text = write_report(data).read_text(encoding="utf-8")
    assert "<img" not in text and "nothing to plot" in text
    assert _checks(text)["Header and rows"][2].endswith("has no rows")
    assert [p.name for p in (data / "report").iterdir()] == [HTML_NAME]  # the first run's PNGs are gone


def test_settings_show_the_job_and_versions(page: Path) -> None:
    settings = _section(page.read_text(encoding="utf-8"), "settings")
    job = html.unescape(settings)
    assert "<details>" in settings and "[identities]" in job and 'ethnicities = ["Latino/Hispanic"]' in job
    software = dict(r for r in _table_rows(settings) if len(r) == 2)
    assert {"pain3d", "Python", "numpy", "Pillow", "matplotlib", "bpy", "torch"} <= set(software)


def test_a_folder_that_is_not_a_dataset_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(Pain3DError, match="no such dataset folder"):
        write_report(tmp_path / "nowhere")
    with pytest.raises(Pain3DError, match="not a rendered Pain3D dataset") as err:
        write_report(tmp_path)
    assert "\n" not in str(err.value)
    write_plan(tmp_path, make_plan(resolve_job(JOB)))
    with pytest.raises(Pain3DError, match="it has a plan: render it first"):
        write_report(tmp_path)
    assert not (tmp_path / "report").exists()
