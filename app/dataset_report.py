"""`pain3d report DATA`: one self-contained HTML page about a rendered dataset (issue 7).

Public API
----------
- ``write_report(data, out=None, progress=None, check_files=True) -> Path``: writes ``report.html``
  and the PNGs it shows into ``out`` (default ``DATA/report/``) and returns the page's path.
  ``progress``, when given, is called with the name of each step as it starts;
  ``check_files=False`` checks the manifest without opening files (``pain3d validate --no-files``).

The page: a summary; contact_sheet.png (one neutral frontal image per demographic cell);
ladder.png (the identity whose expressions span PSPI best, one column per PSPI level, one row
per view, each image with its colourised heatmap); pspi_hist.png and au_hist.png; the
demographic balance as a table and balance.png; views.png; the check list of
`dataset.validate`, one line per rule of docs/dataset-format.md; the generation settings (the
plan's resolved job) and software versions.

Speed (benchmarks/bench_report.py: about 30 s for 10,032 images at 256^2): tables and plots come
from the manifest alone, and the page itself opens only the images it shows, shrunk to
thumbnails. The check list is ``dataset.validate``, which opens and decodes every image and
heatmap once: about 85% of the time, growing with the resolution (``check_files=False`` skips it).
Files are written atomically and the page last, so an interrupted run never leaves a page that
names a missing or half-written PNG.
"""

from __future__ import annotations

import io
import json
import math
import platform
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Callable

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from PIL import Image, UnidentifiedImageError

from pain3d import __version__, facs, pages
from pain3d.dataset import DATASET_FILE, MANIFEST_FILE, NEUTRAL, ROW_FIELDS, validate, view_of
from pain3d.errors import Pain3DError
from pain3d.fileio import atomic_write_bytes, atomic_write_text, make_folder
from pain3d.heatmap import HEAT_COLOR_STOPS
from pain3d.jobs import job_toml, resolve_job
from pain3d.plan import PLAN_FILE, read_plan
from pain3d.sampling import SPLITS

REPORT_DIR = "report"
HTML_NAME = "report.html"
PNG_NAMES = ("contact_sheet.png", "ladder.png", "pspi_hist.png", "au_hist.png", "balance.png", "views.png")
THUMB_PX = 128
FIRST_PROBLEMS = 3
SOFTWARE = ("numpy", "Pillow", "matplotlib", "bpy", "torch")  # read from metadata: never imported here
SPLIT_COLOURS = {"train": "C0", "val": "C1", "test": "C2"}
HEAT_CMAP = LinearSegmentedColormap.from_list("pain3d_heat", HEAT_COLOR_STOPS)  # the farm's heatmap colours
Cell = tuple[str, str, str]  # age band "low-high", sex, ethnicity

# The contract's rules (docs/dataset-format.md) and the phrases of `validate`'s problems under each;
# a problem no phrase matches is listed under "Other" rather than hidden.
RULES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Header and rows", "dataset.json names the format; every manifest line is a JSON object with the required "
     "fields, of the right types", ("dataset.json", "no manifest", "not valid JSON", "not a JSON object", "has no rows",
                                    "missing field", "wrong type", "needs numeric yaw", "split = ")),
    ("Rule 1", "sample_id is unique", ("repeats line",)),
    ("Rule 2", "Every file a row names exists and decodes", ("does not exist", "does not decode",
                                                             "must be a relative path")),
    ("Rule 3", "pspi equals the PSPI of aus; every AU intensity is in range; neutral rows have no active AU",
     ("pspi = ", "aus lacks", "aus: ", "active AUs")),
    ("Rule 4", "Neutral rows have heatmap null; every other row has a heatmap", ("has a heatmap", "has no heatmap")),
    ("Rule 5", "Every non-neutral row has its neutral twin (same identity and view)", ("no neutral twin",)),
    ("Rule 6", "An identity has one split and one set of demographics", ("two splits", "two values of")),
    ("Rule 7", "Landmarks are 68 finite points inside the image", ("landmarks must be", "landmarks lie outside")),
)
FILES_RULE = "Rule 2"
_LOCATION = re.compile(r"^manifest\.jsonl:\d+(?: \(.*?\))?: ")


@dataclass
class _Data:
    """What the page is made from: the manifest rows it can plot, the plan and the header."""

    root: Path
    rows: list[dict]  # rows with every field the plots need, sorted by identity, expression, view
    unusable: int  # manifest lines left out of the plots (the check list says what is wrong)
    plan: dict | None
    plan_error: str | None
    header: dict | None
    cells: list[Cell]  # the plan's cells in dealing order, then any others the rows show
    cell_of: dict[int, Cell]  # identity -> its cell


def write_report(data: str | Path, out: str | Path | None = None,
                 progress: Callable[[str], None] | None = None, check_files: bool = True) -> Path:
    """Write DATA's report page and its PNGs into `out` (default DATA/report/); returns the page's path.

    `check_files=False` checks the manifest without opening files (like `pain3d validate --no-files`).
    Raises Pain3DError (one line) when DATA is not a rendered dataset or `out` cannot be written;
    a dataset that breaks the contract still gets its page, with the failing checks listed.
    """
    data = Path(data)
    out = data / REPORT_DIR if out is None else Path(out)
    step = progress or (lambda name: None)
    step("reading the manifest")
    ds = _load(data)
    make_folder(out, str(out))
    step("checking the dataset")
    checks = _checks(data, check_files)
    sections, written = [_summary(ds, checks)], []
    for name, make in (("contact sheet", _contact_sheet), ("expression ladder", _ladder),
                       ("histograms", _histograms), ("demographic balance", _balance), ("views", _views)):
        if ds.rows:
            step(name)
            text, pngs = make(ds, out)
            sections.append(text)
            written += pngs
    if not ds.rows:
        sections.append(pages.paragraph("No usable manifest rows: nothing to plot (the checks below say why)."))
    sections += [_checks_section(checks), _settings(ds)]
    step("writing the page")
    page = out / HTML_NAME
    atomic_write_text(page, _page(ds, sections))
    for name in set(PNG_NAMES) - set(written):  # a previous run's PNG this dataset has no use for
        (out / name).unlink(missing_ok=True)
    return page


# ---------------------------------------------------------------- reading


def _load(data: Path) -> _Data:
    if not data.is_dir():
        raise Pain3DError(f"{data}: no such dataset folder")
    manifest = data / MANIFEST_FILE
    if not manifest.is_file():
        hint = " (it has a plan: render it first)" if (data / PLAN_FILE).is_file() else ""
        raise Pain3DError(f"{data}: not a rendered Pain3D dataset: no {MANIFEST_FILE}{hint}")
    rows, unusable = _read_rows(manifest)
    try:
        plan, plan_error = read_plan(data), None
    except Pain3DError as err:
        plan, plan_error = None, str(err)
    cell_of = _cells_of(rows, plan)
    listed = [_split_cell(c) for c in plan["cells"]] if plan else []
    cells = listed + sorted(set(cell_of.values()) - set(listed))
    return _Data(data, rows, unusable, plan, plan_error, _read_header(data), cells, cell_of)


def _read_rows(manifest: Path) -> tuple[list[dict], int]:
    """The usable rows and the number of lines that are not (validate reports those)."""
    try:
        lines = manifest.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise Pain3DError(f"{manifest}: cannot read the manifest ({err})") from None
    rows, unusable = [], 0
    for line in filter(str.strip, lines):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if _usable(row):
            rows.append(row)
        else:
            unusable += 1
    rows.sort(key=lambda r: (r["identity"], r["expression"] != NEUTRAL, r["expression"], view_of(r)))
    return rows, unusable


def _usable(row: object) -> bool:
    if not isinstance(row, dict):
        return False
    typed = all(isinstance(row.get(k), t) and not isinstance(row.get(k), bool) for k, t in ROW_FIELDS.items())
    return (typed and all(_number(row["view"].get(k)) for k in ("yaw", "pitch"))
            and all(k in _au_keys() and _number(v) for k, v in row["aus"].items()))


def _number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


@lru_cache(maxsize=1)
def _au_keys() -> frozenset[str]:
    return frozenset(facs.all_keys())


def _read_header(data: Path) -> dict | None:
    try:
        header = json.loads((data / DATASET_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return header if isinstance(header, dict) else None


def _split_cell(label: str) -> Cell:
    band, sex, ethnicity = label.split("/", 2)  # ethnicity last: "Latino/Hispanic" holds a slash
    return band, sex, ethnicity


def _cells_of(rows: list[dict], plan: dict | None) -> dict[int, Cell]:
    """Each identity's cell: its age band from the plan's record, else its age binned by the job's bands."""
    planned = {i["index"]: i["age_band"] for i in plan["identities"]} if plan else {}
    job = plan["job"] if plan else resolve_job({})
    bands = job["identities"]["age_bands"]
    out = {}
    for row in rows:
        if row["identity"] not in out:
            band = planned.get(row["identity"]) or _band_of(row["age"], bands)
            out[row["identity"]] = (band, row["sex"], row["ethnicity"])
    return out


def _band_of(age: float, bands: list[list[int]]) -> str:
    for low, high in bands:
        if low <= age < high + 1:  # a band's last year is included (sampling.sample_identity)
            return f"{low}-{high}"
    return "other"


# ---------------------------------------------------------------- images


def _thumb(data: Path, rel: str) -> np.ndarray | None:
    """An RGB thumbnail (longest side THUMB_PX) of a dataset image; None if it is missing or broken."""
    try:
        with Image.open(_inside(data, rel)) as img:
            img.draft("RGB", (THUMB_PX, THUMB_PX))  # JPEG decodes at reduced size; PNG ignores it
            img.thumbnail((THUMB_PX, THUMB_PX), reducing_gap=2.0)
            return np.asarray(img.convert("RGB"))
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None


def _heat_thumb(data: Path, rel: str) -> np.ndarray | None:
    """A 16-bit heatmap as a colourised RGB thumbnail (HEAT_CMAP); None if it is missing or broken."""
    try:
        with Image.open(_inside(data, rel)) as img:
            full = 255.0 if img.mode in ("L", "P") else 65535.0
            heat = Image.fromarray(np.asarray(img, dtype=np.float32) / full, "F")
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return None
    heat.thumbnail((THUMB_PX, THUMB_PX), Image.Resampling.BILINEAR)
    return (HEAT_CMAP(np.clip(np.asarray(heat), 0, 1))[..., :3] * 255).astype(np.uint8)


def _inside(data: Path, rel: str) -> Path:
    """The file a manifest path names; ValueError if it leaves the dataset (validate reports it)."""
    pure = PurePosixPath(rel)
    if not rel or pure.is_absolute() or ".." in pure.parts:
        raise ValueError(rel)
    return data / pure


def _show(ax, pixels: np.ndarray | None, note: str, alarm: bool = True) -> None:
    """A thumbnail without axes, or a grey tile saying why there is none (in red when it is a fault)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if pixels is None:
        ax.imshow(np.full((THUMB_PX, THUMB_PX, 3), 235, np.uint8))
        ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", fontsize=8,
                color="#b00" if alarm else "#666")
    else:
        ax.imshow(pixels)


def _save(fig: Figure, out: Path, name: str) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    atomic_write_bytes(out / name, buf.getvalue())
    return name


# ---------------------------------------------------------------- contact sheet


def _contact_sheet(ds: _Data, out: Path) -> tuple[str, list[str]]:
    front = _frontal(ds.rows)
    shown: dict[Cell, dict] = {}
    for row in ds.rows:  # sorted by identity: the lowest-numbered identity of each cell
        if row["expression"] == NEUTRAL and view_of(row) == front:
            shown.setdefault(ds.cell_of[row["identity"]], row)
    name = _save(_contact_figure(ds, shown), out, "contact_sheet.png")
    caption = (f"Neutral image at yaw {front[0]:g}°, pitch {front[1]:g}° of the lowest-numbered identity in each "
               "cell (age band x sex x ethnicity). Under each: identity number, age and split.")
    return pages.section("Contact sheet", pages.figure(name, caption, wide=True), anchor="contact"), [name]


def _contact_figure(ds: _Data, shown: dict[Cell, dict]) -> Figure:
    lines = list(dict.fromkeys(c[:2] for c in ds.cells))
    groups = list(dict.fromkeys(c[2] for c in ds.cells))
    fig = Figure(figsize=(1.5 * len(groups) + 0.8, 1.75 * len(lines) + 0.5))
    axes = fig.subplots(len(lines), len(groups), squeeze=False)
    for r, (band, sex) in enumerate(lines):
        for c, group in enumerate(groups):
            ax, row = axes[r, c], shown.get((band, sex, group))
            _show(ax, _thumb(ds.root, row["image"]) if row else None, "file missing" if row else "no identity",
                  alarm=row is not None)
            if row:
                ax.set_xlabel(f"#{row['identity']}  {row['age']:.0f} y  {row['split']}", fontsize=7, labelpad=2)
            if r == 0:
                ax.set_title(group, fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{band}\n{sex}", fontsize=9)
    fig.suptitle("Neutral frontal face of one identity per demographic cell", fontsize=11)
    return fig


def _frontal(rows: list[dict]) -> tuple[float, float]:
    return min({view_of(r) for r in rows}, key=lambda v: (abs(v[0]) + abs(v[1]), v))


# ---------------------------------------------------------------- expression ladder


def _ladder(ds: _Data, out: Path) -> tuple[str, list[str]]:
    identity = _widest_identity(ds.rows)
    mine = [r for r in ds.rows if r["identity"] == identity]
    steps = _ladder_steps(mine)
    name = _save(_ladder_figure(ds.root, mine, steps), out, "ladder.png")
    band, sex, group = ds.cell_of[identity]
    columns = ", ".join(f"{expression} ({pspi:g})" for expression, pspi in steps)
    caption = (f"Identity {identity} ({band} years, {sex}, {group}, {mine[0]['split']}): one expression per PSPI "
               "level, sorted by PSPI, one row per view. Beside each pain image, its pain-region heatmap in the "
               f"farm's colours (black: no movement, red: full heat); neutral images have none. Columns (PSPI): "
               f"{columns}.")
    return pages.section("Expression ladder", pages.figure(name, caption, wide=True), anchor="ladder"), [name]


def _ladder_figure(data: Path, rows: list[dict], steps: list[tuple[str, float]]) -> Figure:
    """One identity's `steps` (expression, PSPI) across, its views down: each image with its heatmap."""
    views = sorted({view_of(r) for r in rows}, key=lambda v: (v[1], v[0]))
    at = {(r["expression"], view_of(r)): r for r in rows}
    fig = Figure(figsize=(2.75 * len(steps) + 1.0, 1.3 * len(views) + 0.7))
    axes = fig.subplots(len(views), len(steps), squeeze=False, gridspec_kw={"wspace": 0.06, "hspace": 0.1})
    for i, view in enumerate(views):
        for j, (expression, pspi) in enumerate(steps):
            row = at.get((expression, view))
            pixels = _pair(data, row) if row else None
            _show(axes[i, j], pixels, "file missing" if row else "not rendered")
            if pixels is not None and row["heatmap"] is None:
                axes[i, j].text(0.75, 0.5, "no heatmap\n(neutral)", transform=axes[i, j].transAxes, ha="center",
                                va="center", fontsize=8, color="#666")
            if i == 0:
                axes[i, j].set_title(f"{expression}\nPSPI {pspi:g}", fontsize=9)
            if j == 0:
                axes[i, j].set_ylabel(f"yaw {view[0]:g}°\npitch {view[1]:g}°", fontsize=9)
    fig.colorbar(ScalarMappable(Normalize(0, 1), HEAT_CMAP), ax=axes, fraction=0.012, pad=0.01,
                 label="heat (1 = moved 8% of the IOD)")
    return fig


def _widest_identity(rows: list[dict]) -> int:
    """The identity with the most PSPI levels, then the widest PSPI range, then the lowest number."""
    levels: dict[int, set[int]] = defaultdict(set)
    for row in rows:
        levels[row["identity"]].add(round(row["pspi"]))
    return min(levels, key=lambda i: (-len(levels[i]), min(levels[i]) - max(levels[i]), i))


def _ladder_steps(rows: list[dict]) -> list[tuple[str, float]]:
    """One expression per rounded PSPI level (the first by id), sorted by PSPI."""
    steps: dict[int, tuple[str, float]] = {}
    for row in rows:
        steps.setdefault(round(row["pspi"]), (row["expression"], float(row["pspi"])))
    return sorted(steps.values(), key=lambda s: (s[1], s[0]))


def _pair(data: Path, row: dict) -> np.ndarray | None:
    """The image and, beside it, its colourised heatmap (a blank panel for neutral rows)."""
    image = _thumb(data, row["image"])
    if image is None:
        return None
    heat = _heat_thumb(data, row["heatmap"]) if row["heatmap"] else None
    if heat is None or heat.shape != image.shape:
        blank = np.full_like(image, 235)
        heat = blank if row["heatmap"] is None else _crossed(blank)
    gap = np.full((image.shape[0], 4, 3), 255, np.uint8)
    return np.concatenate([image, gap, heat], axis=1)


def _crossed(panel: np.ndarray) -> np.ndarray:
    """A red cross: the row names a heatmap that is missing, unreadable or not the image's size."""
    n = min(panel.shape[:2])
    idx = np.arange(n)
    panel[idx, idx] = panel[idx, n - 1 - idx] = (200, 0, 0)
    return panel


# ---------------------------------------------------------------- histograms


def _histograms(ds: _Data, out: Path) -> tuple[str, list[str]]:
    names = [_save(_pspi_figure(ds.rows), out, "pspi_hist.png"), _save(_au_figure(ds.rows), out, "au_hist.png")]
    body = (pages.figure(names[0], "PSPI of every image, stacked by split (neutral images are PSPI 0).")
            + pages.figure(names[1], "Effective intensity of each action unit present (the largest of its bilateral "
                                     "and one-sided values, as facs.effective_intensity scores it) over the pain "
                                     "images."))
    return pages.section("PSPI and action units", body, anchor="histograms"), names


def _pspi_figure(rows: list[dict]) -> Figure:
    pspi = np.array([r["pspi"] for r in rows], dtype=float)
    split = np.array([r["split"] for r in rows])
    edges = np.arange(-0.5, facs.PSPI_MAX + 1.5)
    fig = Figure(figsize=(8, 3.6))
    ax = fig.add_subplot()
    bottom = np.zeros(len(edges) - 1)
    for name in _splits(split):
        counts = np.histogram(pspi[split == name], edges)[0]
        ax.bar(edges[:-1] + 0.5, counts, 0.85, bottom=bottom, color=SPLIT_COLOURS.get(name, "C7"),
               label=f"{name} ({int(counts.sum())})")
        bottom += counts
    pain = pspi[pspi > 0]
    ax.set(xticks=range(facs.PSPI_MAX + 1), xlabel="PSPI (0-16)", ylabel="images",
           title=f"PSPI of {len(pspi)} images (mean {pain.mean() if pain.size else 0:.1f} over the "
                 f"{pain.size} with PSPI > 0)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, title="split", title_fontsize=8)
    return fig


def _splits(split: np.ndarray) -> list[str]:
    present = set(split.tolist())
    return [s for s in SPLITS if s in present] + sorted(present - set(SPLITS))


def _au_figure(rows: list[dict]) -> Figure:
    pain = [r["aus"] for r in rows if r["expression"] != NEUTRAL]
    present = {facs.parse_key(k)[0].key for aus in pain for k in aus}
    aus = [au for key, au in facs.catalog().items() if key in present]
    cols = min(6, max(1, len(aus)))
    nrows = max(1, math.ceil(len(aus) / cols))
    fig = Figure(figsize=(2.2 * cols + 0.4, 2.0 * nrows + 0.7))
    axes = fig.subplots(nrows, cols, squeeze=False).ravel()
    for ax, au in zip(axes, aus):
        values = np.array([facs.effective_intensity(a, au.key) for a in pain], dtype=float)
        edges = np.arange(-0.5, au.max_intensity + 1)
        counts = np.histogram(values, edges)[0]
        colours = ["#bbb"] + ["C3" if au.pspi else "C0"] * au.max_intensity
        ax.bar(range(au.max_intensity + 1), counts, 0.8, color=colours)
        ax.set_xticks(range(au.max_intensity + 1))
        ax.set_title(f"{au.key} {au.name}\nactive in {np.mean(values > 0):.0%}", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(aus):]:
        ax.set_visible(False)
    fig.suptitle(f"AU intensity over {len(pain)} pain images (red: PSPI AUs, blue: other AUs, grey: absent)",
                 fontsize=10)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- balance and views


def _balance(ds: _Data, out: Path) -> tuple[str, list[str]]:
    ids: dict[Cell, Counter] = defaultdict(Counter)  # cell -> split -> identities
    images: Counter = Counter()
    split_of = {}
    for row in ds.rows:
        cell = ds.cell_of[row["identity"]]
        images[cell] += 1
        if row["identity"] not in split_of:
            split_of[row["identity"]] = row["split"]
            ids[cell][row["split"]] += 1
    splits = _splits(np.array(list(split_of.values())))
    header = ("Age band", "Sex", "Ethnicity", "Identities", *splits, "Images")
    table = [[*c, str(sum(ids[c].values())), *(str(ids[c][s]) for s in splits), str(images[c])] for c in ds.cells]
    totals = Counter(split_of.values())
    table.append(["all", "", "", str(len(split_of)), *(str(totals[s]) for s in splits), str(sum(images.values()))])
    name = _save(_balance_figure(ds, ids, totals), out, "balance.png")
    body = (pages.paragraph("Identities per demographic cell (age band x sex x ethnicity) and per split; splits "
                            "are identity-disjoint.") + pages.table(header, table, last_bold=True)
            + pages.figure(name, "Left: identities per cell. Right: identities per split against the job's "
                                 "fractions."))
    return pages.section("Demographic balance", body, anchor="balance"), [name]


def _balance_figure(ds: _Data, ids: dict[Cell, Counter], totals: Counter) -> Figure:
    lines = list(dict.fromkeys(c[:2] for c in ds.cells))
    groups = list(dict.fromkeys(c[2] for c in ds.cells))
    grid = np.array([[sum(ids[(b, s, g)].values()) for g in groups] for b, s in lines])
    fig = Figure(figsize=(1.0 * len(groups) + 5.5, 0.45 * len(lines) + 2.4))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [max(len(groups), 1), 2.2]})
    left.imshow(grid, cmap="Blues", vmin=0, vmax=max(1, grid.max()) * 1.4, aspect="auto")
    for (i, j), n in np.ndenumerate(grid):
        left.text(j, i, str(n), ha="center", va="center", fontsize=9)
    left.set_xticks(range(len(groups)), [g.replace("/", "/\n") for g in groups], fontsize=8, rotation=30, ha="right")
    left.set_yticks(range(len(lines)), [f"{b} {s}" for b, s in lines], fontsize=8)
    left.set_title(f"Identities per cell (min {grid.min()}, max {grid.max()})", fontsize=10)
    splits = _splits(np.array(list(totals)))
    n, x = sum(totals.values()), np.arange(len(splits))
    right.bar(x, [totals[s] for s in splits], color=[SPLIT_COLOURS.get(s, "C7") for s in splits])
    right.set_xticks(x, splits)
    fractions = dict(zip(SPLITS, ds.plan["job"]["identities"]["split"])) if ds.plan else {}
    if fractions:
        right.scatter(x, [fractions.get(s, 0) * n for s in splits], marker="_", s=600, color="k", zorder=3,
                      label="job's share")
        right.legend(fontsize=8)
    for i, s in enumerate(splits):
        right.annotate(f"{totals[s]}\n{totals[s] / n:.0%}", (i, totals[s]), ha="center", va="bottom", fontsize=8)
    right.set_ylim(0, max([*totals.values(), *(f * n for f in fractions.values())]) * 1.3)
    right.set_title("Identities per split", fontsize=10)
    fig.tight_layout()
    return fig


def _views(ds: _Data, out: Path) -> tuple[str, list[str]]:
    counts: dict[tuple[float, float], Counter] = defaultdict(Counter)
    for row in ds.rows:
        counts[view_of(row)]["neutral" if row["expression"] == NEUTRAL else "pain"] += 1
    views = sorted(counts, key=lambda v: (v[1], v[0]))
    labels = [f"yaw {y:g}°\npitch {p:g}°" for y, p in views]
    fig = Figure(figsize=(max(4.5, 1.3 * len(views) + 1.5), 3.4))
    ax = fig.add_subplot()
    neutral = np.array([counts[v]["neutral"] for v in views])
    pain = np.array([counts[v]["pain"] for v in views])
    ax.bar(labels, neutral, color="#999", label="neutral")
    ax.bar(labels, pain, bottom=neutral, color="C3", label="pain")
    ax.set(ylabel="images", title=f"Images per camera view ({len(ds.rows)} images)")
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    name = _save(fig, out, "views.png")
    table = [[f"{y:g}", f"{p:g}", str(counts[(y, p)]["neutral"]), str(counts[(y, p)]["pain"])] for y, p in views]
    body = (pages.figure(name, "Images per camera view (yaw > 0 turns the camera to the subject's left).")
            + pages.table(("Yaw (°)", "Pitch (°)", "Neutral images", "Pain images"), table))
    return pages.section("Views", body, anchor="views"), [name]


# ---------------------------------------------------------------- checks


@dataclass
class _Checks:
    rows: int
    identities: int
    problems: list[str]
    by_rule: dict[str, list[str]]  # rule title -> its problems
    files_checked: bool


def _checks(data: Path, check_files: bool) -> _Checks:
    report = validate(data, check_files=check_files)
    by_rule: dict[str, list[str]] = {title: [] for title, _, _ in RULES}
    for problem in report.problems:
        by_rule.setdefault(_rule_of(problem), []).append(problem)
    return _Checks(report.rows, report.identities, report.problems, by_rule, check_files)


def _rule_of(problem: str) -> str:
    message = _LOCATION.sub("", problem)  # the sample_id in the location could hold any phrase
    for title, _, phrases in RULES:
        if any(p in message for p in phrases):
            return title
    return "Other"


def _checks_section(checks: _Checks) -> str:
    what = {title: text for title, text, _ in RULES} | {"Other": "Problems under no rule above"}
    table = []
    for title, problems in checks.by_rule.items():
        result = "pass" if not problems else f"FAIL: {len(problems)} problem(s)"
        if title == FILES_RULE and not problems and not checks.files_checked:
            result = "not checked"
        shown = problems[:FIRST_PROBLEMS] + ([f"... and {len(problems) - FIRST_PROBLEMS} more"]
                                             if len(problems) > FIRST_PROBLEMS else [])
        table.append([title, what[title], result, "\n".join(shown)])
    verdict = (f"All checks pass: {checks.rows} images of {checks.identities} identities." if not checks.problems
               else f"{len(checks.problems)} problem(s) found; run 'pain3d validate DATA' for the full list.")
    how = "every file opened and decoded" if checks.files_checked else "manifest only: files not opened"
    body = (pages.paragraph(f"{verdict} The rules are those of docs/dataset-format.md, as 'pain3d validate' checks "
                            f"them ({how}).")
            + pages.table(("Check", "Rule", "Result", "First problems"), table, result_col=2))
    return pages.section("Checks", body, anchor="checks")


# ---------------------------------------------------------------- summary, settings and the page


def _summary(ds: _Data, checks: _Checks) -> str:
    rows = ds.rows
    identities = len({r["identity"] for r in rows})
    expressions = len({r["expression"] for r in rows})
    views = len({view_of(r) for r in rows})
    items = [f"{len(rows)} images of {identities} identities, {expressions} expressions, {views} views",
             f"{len(ds.cells)} demographic cells",
             "checks: all pass" if not checks.problems else f"checks: {len(checks.problems)} problem(s), see Checks"]
    if ds.plan:
        items.append(f"resolution {ds.plan['job']['render']['resolution']} px")
    if ds.unusable:
        items.append(f"{ds.unusable} manifest line(s) too broken to plot, left out (see Checks)")
    return pages.bullets(items)


def _settings(ds: _Data) -> str:
    header = ds.header or {}
    made = [["dataset.json", ", ".join(f"{k} = {v}" for k, v in header.items()) or "missing or unreadable"]]
    if ds.plan:
        made.append(["plan.json", f"format_version {ds.plan['format_version']}, made by pain3d "
                                  f"{ds.plan.get('pain3d_version', '?')}"])
        job = pages.folded("The resolved job in plan.json: every setting the dataset was generated with (as TOML)",
                           job_toml(ds.plan["job"]))
    else:
        made.append(["plan.json", ds.plan_error or "missing"])
        job = pages.paragraph("No readable plan: the generation settings are unknown.")
    software = [["pain3d", __version__], ["Python", platform.python_version()]]
    software += [[name, _installed(name)] for name in SOFTWARE]
    body = (pages.table(("File", "Recorded"), made) + job
            + pages.heading("Software where this report was made") + pages.table(("Package", "Version"), software))
    return pages.section("Generation settings and software", body, anchor="settings")


def _installed(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _page(ds: _Data, sections: list[str]) -> str:
    name = (ds.plan or {}).get("job", {}).get("name") or (ds.header or {}).get("job_name") or ds.root.name
    return pages.page(f"Pain3D dataset report: {name}", sections)
