"""The evaluation report of `pain3d eval`: metrics with identity-bootstrap intervals, and the page.

Public API
----------
- ``Predictions``: one entry per image (arrays); ``to_csv`` / ``from_csv`` for predictions.csv.
- ``evaluate(test, val=None, n_boot=1000, seed=0, level=0.95) -> dict``: every number of the
  report, JSON-ready (undefined values are None). Top-level keys:

  ``format``, ``format_version``, ``split``, ``n_images``, ``n_identities``, ``bootstrap``
  ({n, seed, level, unit}); ``pspi`` ({mae, rmse, pearson_r, icc_3_1}); ``aus`` ({AU: {mae}});
  ``pain`` ({"pspi_ge_1": {auroc, f1, decision_threshold, threshold_source, val_f1, n_pos, n_neg,
  calibration: {ece, edges, count, mean_prob, frac_pos}}, ...}); ``explainability``
  ({attention_auc, pointing_game, n_images}); ``groups`` ({"view" | "age_band" | "sex" |
  "ethnicity": [{group, n_images, n_identities, metrics: {mae, ..., attention_auc}}]});
  ``notes`` (list of strings). Each metric is ``{"value": v, "ci": [lo, hi]}``.

  F1 uses, for each PSPI threshold, the decision threshold that maximises F1 on ``val`` (whose
  split names ``threshold_source``: "val", or "train folds" in ``pain3d cv``); without
  usable validation predictions it is chosen on the test split and ``threshold_source`` says
  "test" (with a note: that F1 is optimistic).
- ``write_report(results, predictions, out_dir, overlays=None) -> dict[str, Path]``: writes
  report.json, report.md, report.html, predictions.csv and the PNG plots beside them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from pain3d import facs, pages
from pain3d.errors import Pain3DError
from pain3d.facs import PSPI_AUS, PSPI_MAX
from pain3d.fileio import atomic_write_bytes, atomic_write_text

from .metrics import (auroc, best_f1_threshold, bootstrap_cis, calibration_bins, f1_at, icc_3_1, mae,
                      pearson_r, rmse)

REPORT_FORMAT = "pain3d-eval-report"
REPORT_FORMAT_VERSION = 1
TITLE = "Pain3D evaluation report"
PAIN_THRESHOLDS = facs.PAIN_THRESHOLDS
GROUP_FIELDS = ("view", "age_band", "sex", "ethnicity")
GROUP_TITLES = {"view": "view (camera yaw, degrees)", "age_band": "age band (years)", "sex": "sex",
                "ethnicity": "ethnicity group"}
CALIBRATION_BINS = 10

Overlay = tuple[np.ndarray, np.ndarray, np.ndarray, str]  # image, heatmap, attention, title
MetricFns = dict[str, Callable[[np.ndarray], float]]


# ---------------------------------------------------------------- predictions


@dataclass
class Predictions:
    """Model outputs and labels, one entry per image (every field an array of length n).

    ``view`` is the camera yaw in degrees; ``aus_*`` are (n, 6) in PSPI_AUS order; ``pain_prob``
    is (n, 3): P(PSPI >= 1, 2, 3). ``attention_auc`` and ``pointing_hit`` are per-image
    explainability scores (metrics.attention_heatmap_auc / pointing_game), nan where there is none
    (neutral faces, or no attention maps); None means all nan.
    """

    sample_id: np.ndarray
    identity: np.ndarray
    split: np.ndarray
    view: np.ndarray
    age_band: np.ndarray
    sex: np.ndarray
    ethnicity: np.ndarray
    pspi_true: np.ndarray
    pspi_pred: np.ndarray
    aus_true: np.ndarray
    aus_pred: np.ndarray
    pain_prob: np.ndarray
    attention_auc: np.ndarray | None = None
    pointing_hit: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.sample_id)
        for name in ("sample_id", "split", "age_band", "sex", "ethnicity"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=str).reshape(n))
        self.identity = np.asarray(self.identity, dtype=np.int64).reshape(n)
        for name in ("view", "pspi_true", "pspi_pred", "attention_auc", "pointing_hit"):
            value = getattr(self, name)
            setattr(self, name, np.full(n, np.nan) if value is None else np.asarray(value, np.float64).reshape(n))
        self.aus_true = np.asarray(self.aus_true, np.float64).reshape(n, len(PSPI_AUS))
        self.aus_pred = np.asarray(self.aus_pred, np.float64).reshape(n, len(PSPI_AUS))
        self.pain_prob = np.asarray(self.pain_prob, np.float64).reshape(n, len(PAIN_THRESHOLDS))

    def __len__(self) -> int:
        return len(self.sample_id)

    def subset(self, index: np.ndarray) -> Predictions:
        """The entries at ``index`` (a boolean mask or integer indices)."""
        return Predictions(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def to_csv(self, path: str | Path) -> None:
        """Write one row per image (atomic). Columns: see ``csv_columns()``."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(csv_columns())
        for i in range(len(self)):
            writer.writerow([_cell(v) for v in self._row(i)])
        atomic_write_text(path, buf.getvalue())

    def _row(self, i: int) -> list[Any]:
        return [self.sample_id[i], self.identity[i], self.split[i], self.view[i], self.age_band[i], self.sex[i],
                self.ethnicity[i], self.pspi_true[i], self.pspi_pred[i], *self.aus_true[i], *self.aus_pred[i],
                *self.pain_prob[i], self.attention_auc[i], self.pointing_hit[i]]

    @classmethod
    def from_csv(cls, path: str | Path) -> Predictions:
        """Read a file written by ``to_csv``; a bad file is a one-line Pain3DError."""
        path = Path(path)
        try:
            with path.open(newline="", encoding="utf-8") as f:
                rows = list(csv.reader(f))
        except OSError as e:
            raise Pain3DError(f"{path}: cannot read the predictions file ({e.strerror})") from None
        columns = csv_columns()
        if not rows or rows[0] != columns:
            raise Pain3DError(f"{path}: not a predictions file; the header must be {','.join(columns)}")
        table = [_parse_row(path, lineno, row, columns) for lineno, row in enumerate(rows[1:], start=2)]
        return cls._from_table(table)

    @classmethod
    def _from_table(cls, table: list[list[Any]]) -> Predictions:
        cols = list(zip(*table)) if table else [()] * len(csv_columns())
        k = len(PSPI_AUS)
        a = 9  # first AU column
        return cls(*cols[:9], aus_true=np.array(cols[a:a + k]).T.reshape(-1, k),
                   aus_pred=np.array(cols[a + k:a + 2 * k]).T.reshape(-1, k),
                   pain_prob=np.array(cols[a + 2 * k:a + 2 * k + 3]).T.reshape(-1, 3),
                   attention_auc=cols[-2], pointing_hit=cols[-1])


def csv_columns() -> list[str]:
    """The header of predictions.csv."""
    return (["sample_id", "identity", "split", "view", "age_band", "sex", "ethnicity", "pspi_true", "pspi_pred"]
            + [f"{au}_true" for au in PSPI_AUS] + [f"{au}_pred" for au in PSPI_AUS]
            + [f"p_pspi_ge_{t}" for t in PAIN_THRESHOLDS] + ["attention_auc", "pointing_hit"])


_TEXT_COLUMNS = {"sample_id", "split", "age_band", "sex", "ethnicity"}


def _cell(value: Any) -> str:
    return repr(float(value)) if isinstance(value, (float, np.floating)) else str(value)


def _parse_row(path: Path, lineno: int, row: list[str], columns: list[str]) -> list[Any]:
    if len(row) != len(columns):
        raise Pain3DError(f"{path}:{lineno}: {len(row)} values; expected {len(columns)}")
    return [_parse_cell(path, lineno, name, value) for name, value in zip(columns, row)]


def _parse_cell(path: Path, lineno: int, name: str, value: str) -> Any:
    if name in _TEXT_COLUMNS:
        return value
    try:
        return int(value) if name == "identity" else float(value)
    except ValueError:
        kind = "an integer" if name == "identity" else "a number"
        raise Pain3DError(f"{path}:{lineno}: {name} = {value!r} is not {kind}") from None


# ---------------------------------------------------------------- evaluation


def evaluate(test: Predictions, val: Predictions | None = None, n_boot: int = 1000, seed: int = 0,
             level: float = 0.95) -> dict:
    """Every number of the report (see the module docstring for the keys).

    Confidence intervals are percentile bootstraps over identities (metrics.bootstrap_cis) with
    ``n_boot`` resamples from ``seed``; every section reuses the same seed, hence the same resamples.
    """
    if len(test) == 0:
        raise Pain3DError("no test predictions to evaluate")
    thresholds, notes = _decision_thresholds(test, val)
    boot = (n_boot, seed, level)
    return {
        "format": REPORT_FORMAT,
        "format_version": REPORT_FORMAT_VERSION,
        "split": ",".join(sorted(set(test.split.tolist()))),
        "n_images": len(test),
        "n_identities": int(np.unique(test.identity).size),
        "bootstrap": {"n": n_boot, "seed": seed, "level": level, "unit": "identity"},
        "pspi": _summarise(_pspi_fns(test), test, *boot),
        "aus": {au: {"mae": s} for au, s in _summarise(_au_fns(test), test, *boot).items()},
        "pain": _pain_section(test, thresholds, boot),
        "explainability": _explain_section(test, boot),
        "groups": {name: _group_section(test, name, thresholds, boot) for name in GROUP_FIELDS},
        "notes": notes,
    }


def _decision_thresholds(test: Predictions, val: Predictions | None) -> tuple[dict[int, dict], list[str]]:
    """Per PSPI threshold: the F1-best decision threshold on val, else on test (flagged)."""
    chosen, notes = {}, []
    for j, t in enumerate(PAIN_THRESHOLDS):
        thr, f1 = (best_f1_threshold(val.pain_prob[:, j], val.pspi_true >= t) if val is not None and len(val)
                   else (math.nan, math.nan))
        source = ",".join(sorted(set(val.split.tolist()))) if val is not None else "val"  # "train folds" in cv
        if not math.isfinite(thr):
            why = "no validation predictions" if val is None or not len(val) else "no positive in the validation split"
            thr, _ = best_f1_threshold(test.pain_prob[:, j], test.pspi_true >= t)
            source, f1 = "test", math.nan
            notes.append(f"PSPI >= {t}: F1 decision threshold chosen on the test split ({why}); that F1 is optimistic.")
        chosen[t] = {"decision_threshold": thr, "threshold_source": source, "val_f1": f1}
    return chosen, notes


def _summarise(fns: MetricFns, p: Predictions, n_boot: int, seed: int, level: float) -> dict[str, dict]:
    everything = np.arange(len(p))
    cis = bootstrap_cis(fns, p.identity, n_boot, seed, level)
    return {name: _stat(fn(everything), cis[name]) for name, fn in fns.items()}


def _stat(value: float, ci: tuple[float, float]) -> dict:
    return {"value": _num(value), "ci": [_num(ci[0]), _num(ci[1])]}


def _num(x: Any) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _nanmean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


def _pspi_fns(p: Predictions) -> MetricFns:
    t, y = p.pspi_true, p.pspi_pred
    return {"mae": lambda i: mae(t[i], y[i]), "rmse": lambda i: rmse(t[i], y[i]),
            "pearson_r": lambda i: pearson_r(t[i], y[i]),
            "icc_3_1": lambda i: icc_3_1(np.column_stack([t[i], y[i]]))}


def _au_fns(p: Predictions) -> MetricFns:
    return {au: (lambda i, j=j: mae(p.aus_true[i, j], p.aus_pred[i, j])) for j, au in enumerate(PSPI_AUS)}


def _pain_fns(p: Predictions, t: int, threshold: float) -> MetricFns:
    j = PAIN_THRESHOLDS.index(t)
    s, y = p.pain_prob[:, j], p.pspi_true >= t
    return {"auroc": lambda i: auroc(s[i], y[i]), "f1": lambda i: f1_at(s[i], y[i], threshold)}


def _explain_fns(p: Predictions) -> MetricFns:
    return {"attention_auc": lambda i: _nanmean(p.attention_auc[i]),
            "pointing_game": lambda i: _nanmean(p.pointing_hit[i])}


def _pain_section(p: Predictions, thresholds: dict[int, dict], boot: tuple) -> dict:
    out = {}
    for j, t in enumerate(PAIN_THRESHOLDS):
        y = p.pspi_true >= t
        cal = calibration_bins(p.pain_prob[:, j], y, CALIBRATION_BINS)
        out[f"pspi_ge_{t}"] = {
            **_summarise(_pain_fns(p, t, thresholds[t]["decision_threshold"]), p, *boot),
            **{k: _num(v) if k != "threshold_source" else v for k, v in thresholds[t].items()},
            "n_pos": int(y.sum()), "n_neg": int((~y).sum()),
            "calibration": {"ece": _num(cal["ece"]), "edges": cal["edges"].tolist(), "count": cal["count"].tolist(),
                            "mean_prob": [_num(v) for v in cal["mean_prob"]],
                            "frac_pos": [_num(v) for v in cal["frac_pos"]]},
        }
    return out


def _explain_section(p: Predictions, boot: tuple) -> dict:
    return {**_summarise(_explain_fns(p), p, *boot), "n_images": int(np.isfinite(p.attention_auc).sum())}


def _group_fns(p: Predictions, thresholds: dict[int, dict]) -> MetricFns:
    fns = _pspi_fns(p)
    for t in PAIN_THRESHOLDS:
        for name, fn in _pain_fns(p, t, thresholds[t]["decision_threshold"]).items():
            fns[f"{name}_ge_{t}"] = fn
    fns["attention_auc"] = _explain_fns(p)["attention_auc"]
    return fns


def _group_section(p: Predictions, name: str, thresholds: dict[int, dict], boot: tuple) -> list[dict]:
    values = getattr(p, name)
    out = []
    for value in sorted(np.unique(values).tolist(), key=_group_order):
        sub = p.subset(values == value)
        out.append({"group": _group_label(value), "n_images": len(sub),
                    "n_identities": int(np.unique(sub.identity).size),
                    "metrics": _summarise(_group_fns(sub, thresholds), sub, *boot)})
    return out


def _group_order(value: Any) -> tuple:
    """Numbers by value, age bands ("18-34") by their lower age, other labels alphabetically."""
    if isinstance(value, float):
        return (0, value, "")
    lead = re.match(r"\d+", value)
    return (0, int(lead.group()), value) if lead else (1, 0, value)


def _group_label(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return value or "unknown"


# ---------------------------------------------------------------- the page


def write_report(results: dict, predictions: Predictions, out_dir: str | Path,
                 overlays: Sequence[Overlay] | None = None) -> dict[str, Path]:
    """Write the report folder and return {what: path}.

    Files: report.json (the ``evaluate`` dict), report.md and report.html (headline table first,
    then the detail tables and the plots), predictions.csv, and the PNGs the pages show:
    scatter.png (predicted vs true PSPI), calibration.png, groups_{field}.png (per-group bars with
    CI error bars) and, when ``overlays`` are given, overlays.png (image, heatmap, attention per row;
    the attention may be a coarser grid than the image).
    """
    out = Path(out_dir)
    paths = {"json": out / "report.json", "predictions": out / "predictions.csv"}
    atomic_write_text(paths["json"], json.dumps(results, indent=2, allow_nan=False) + "\n")
    predictions.to_csv(paths["predictions"])
    paths |= _write_plots(results, predictions, out, overlays)
    sections = _sections(results, {k: v.name for k, v in paths.items()})
    paths["markdown"] = out / "report.md"
    paths["html"] = out / "report.html"
    atomic_write_text(paths["markdown"], _to_markdown(sections))
    atomic_write_text(paths["html"], _to_html(sections))
    return paths


def _write_plots(results: dict, p: Predictions, out: Path, overlays: Sequence[Overlay] | None) -> dict[str, Path]:
    figures = {"scatter": _scatter_figure(results, p), "calibration": _calibration_figure(results)}
    level = results["bootstrap"]["level"]
    figures |= {f"groups_{name}": _groups_figure(name, results["groups"][name], level) for name in GROUP_FIELDS}
    if overlays:
        figures["overlays"] = _overlay_figure(overlays)
    return {name: _save(fig, out / f"{name}.png") for name, fig in figures.items()}


def _save(fig: Figure, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    atomic_write_bytes(path, buf.getvalue())
    return path


def _scatter_figure(results: dict, p: Predictions) -> Figure:
    fig = Figure(figsize=(6, 5.6))
    ax = fig.add_subplot()
    # True PSPI takes few distinct values: a seeded jitter keeps the points visible, not random.
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(p))
    for k, view in enumerate(sorted(np.unique(p.view).tolist())):
        sel = p.view == view
        ax.scatter(p.pspi_true[sel] + jitter[sel], p.pspi_pred[sel], s=9, alpha=0.45, color=f"C{k}",
                   label=f"yaw {view:g}°", linewidths=0)
    lo = min(-0.5, float(np.nanmin(p.pspi_pred)) - 0.5)
    hi = max(PSPI_MAX + 0.5, float(np.nanmax(p.pspi_pred)) + 0.5)
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="perfect (y = x)")
    ax.set(xlim=(-0.5, PSPI_MAX + 0.5), ylim=(lo, hi), xlabel="True PSPI (0-16)", ylabel="Predicted PSPI",
           title=f"Predicted vs true PSPI  ({len(p)} images)\n"
                 f"MAE {_fmt(results['pspi']['mae']['value'])}, r {_fmt(results['pspi']['pearson_r']['value'])}, "
                 f"ICC(3,1) {_fmt(results['pspi']['icc_3_1']['value'])}")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, title="view (x jittered ±0.15)", title_fontsize=8)
    return fig


def _calibration_figure(results: dict) -> Figure:
    fig = Figure(figsize=(6, 6.4))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1.2]})
    top.plot([0, 1], [0, 1], "k--", lw=1, label="perfectly calibrated")
    for k, t in enumerate(PAIN_THRESHOLDS):
        cal = results["pain"][f"pspi_ge_{t}"]["calibration"]
        mean_prob, frac = _floats(cal["mean_prob"]), _floats(cal["frac_pos"])
        centres = (np.array(cal["edges"][:-1]) + np.array(cal["edges"][1:])) / 2
        top.plot(mean_prob, frac, "o-", color=f"C{k}", ms=4, label=f"PSPI ≥ {t}  (ECE {_fmt(cal['ece'])})")
        bottom.plot(centres, cal["count"], "o-", color=f"C{k}", ms=3)
    top.set(xlim=(0, 1), ylim=(-0.02, 1.02), ylabel="Observed fraction with PSPI ≥ t",
            title=f"Calibration of the pain probabilities ({CALIBRATION_BINS} equal-width bins)")
    top.grid(alpha=0.3)
    top.legend(loc="upper left", fontsize=8)
    bottom.set(xlabel="Predicted probability P(PSPI ≥ t)", ylabel="Images per bin")
    bottom.set_yscale("symlog", linthresh=1)
    bottom.set_ylim(bottom=0)
    bottom.grid(alpha=0.3)
    return fig


def _floats(values: list) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=np.float64)


def _groups_figure(name: str, groups: list[dict], level: float) -> Figure:
    panels = [(["mae"], "PSPI MAE"), (["icc_3_1"], "PSPI ICC(3,1)"),
              ([f"auroc_ge_{t}" for t in PAIN_THRESHOLDS], "AUROC")]
    fig = Figure(figsize=(max(6.0, 1.1 * len(groups) + 2.5), 8.4))
    axes = fig.subplots(len(panels), 1, sharex=True)
    x = np.arange(len(groups))
    for ax, (keys, ylabel) in zip(axes, panels):
        bar_w = 0.8 / len(keys)
        for k, key in enumerate(keys):
            value, err = _bars([g["metrics"][key] for g in groups])
            pos = x + (k - (len(keys) - 1) / 2) * bar_w
            ax.bar(pos, np.nan_to_num(value), bar_w, color=f"C{k}", label=f"PSPI ≥ {PAIN_THRESHOLDS[k]}")
            has_ci = np.isfinite(err).all(axis=0)
            # yerr as lists: matplotlib 3.10 warns on a (2, 1) array (a single group)
            ax.errorbar(pos[has_ci], value[has_ci], yerr=err[:, has_ci].tolist(), fmt="none", ecolor="black",
                        capsize=3)
            for at in pos[np.isnan(value)]:
                ax.text(at, 0, "n/a", ha="center", va="bottom", fontsize=7)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
    axes[2].set_ylim(0, 1.05)
    axes[2].legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, frameon=False)
    axes[-1].set_xticks(x, [f"{g['group']}\n{g['n_images']} img\n{g['n_identities']} id" for g in groups], fontsize=8)
    axes[0].set_title(f"By {GROUP_TITLES[name]}: point estimates with {level:.0%} bootstrap CIs over identities\n"
                      "(MAE: lower is better; ICC and AUROC: higher is better)", fontsize=10)
    return fig


def _bars(stats: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Bar heights and asymmetric error bars (2, n); nan where undefined."""
    value = _floats([s["value"] for s in stats])
    lo = _floats([s["ci"][0] for s in stats])
    hi = _floats([s["ci"][1] for s in stats])
    return value, np.clip(np.vstack([value - lo, hi - value]), 0, None)


def _overlay_figure(overlays: Sequence[Overlay]) -> Figure:
    fig = Figure(figsize=(9, 3.1 * len(overlays)))
    axes = np.atleast_2d(fig.subplots(len(overlays), 3))
    for row, (image, heatmap, attention, title) in zip(axes, overlays):
        img = np.asarray(image)
        h, w = img.shape[:2]
        extent = (0, w, h, 0)  # stretch coarse maps (patch grids) over the whole image
        for ax in row:
            ax.imshow(img, cmap="gray" if img.ndim == 2 else None)
            ax.set_axis_off()
        row[1].imshow(_tint(heatmap, "inferno"), extent=extent)
        row[2].imshow(_tint(attention, "viridis"), extent=extent, interpolation="bilinear")
        row[0].set_title(title, fontsize=9, loc="left")
        row[1].set_title("ground-truth pain heatmap (normalised)", fontsize=9)
        row[2].set_title("the model's attention (normalised)", fontsize=9)
    return fig


def _tint(x: np.ndarray, cmap: str) -> np.ndarray:
    """An RGBA layer of a map scaled to [0, 1], opaque where it is high so the face shows elsewhere."""
    x = np.asarray(x, dtype=np.float64)
    span = float(x.max() - x.min())
    unit = (x - x.min()) / span if span > 0 else np.zeros_like(x)
    rgba = colormaps[cmap](unit)
    rgba[..., 3] = 0.85 * unit
    return rgba


# ---------------------------------------------------------------- markdown and HTML (pain3d.pages)


@dataclass
class _Section:
    title: str
    text: str = ""
    header: tuple[str, ...] = ()
    rows: list[list[str]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (file name, caption)


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def _ci(stat: dict) -> str:
    lo, hi = stat["ci"]
    return "n/a" if lo is None or hi is None else f"[{_fmt(lo)}, {_fmt(hi)}]"


def _with_ci(stat: dict) -> str:
    return f"{_fmt(stat['value'])} {_ci(stat)}" if stat["ci"][0] is not None else _fmt(stat["value"])


def _sections(r: dict, files: dict[str, str]) -> list[_Section]:
    b = r["bootstrap"]
    intro = (f"Split `{r['split']}`: {r['n_images']} images of {r['n_identities']} identities. "
             f"Intervals: {b['level']:.0%} percentile bootstrap over identities "
             f"({b['n']} resamples, seed {b['seed']}); "
             "n/a = undefined (too few images or identities, or one class only).")
    sections = [_headline(r, intro), _pain_detail(r), _au_table(r),
                _Section("Plots", images=[(files["scatter"], "Predicted vs true PSPI"),
                                          (files["calibration"], "Calibration of the pain probabilities")])]
    sections += [_group_table(r, name, files[f"groups_{name}"]) for name in GROUP_FIELDS]
    sections.append(_explain(r, files.get("overlays")))
    if r["notes"]:
        sections.append(_Section("Notes", text="\n".join(f"- {n}" for n in r["notes"])))
    return sections


def _headline(r: dict, intro: str) -> _Section:
    names = {"mae": "PSPI MAE", "rmse": "PSPI RMSE", "pearson_r": "PSPI Pearson r", "icc_3_1": "PSPI ICC(3,1)"}
    rows = [[label, _fmt(r["pspi"][k]["value"]), _ci(r["pspi"][k])] for k, label in names.items()]
    for t in PAIN_THRESHOLDS:
        pain = r["pain"][f"pspi_ge_{t}"]
        rows.append([f"AUROC, PSPI ≥ {t}", _fmt(pain["auroc"]["value"]), _ci(pain["auroc"])])
    for t in PAIN_THRESHOLDS:
        pain = r["pain"][f"pspi_ge_{t}"]
        rows.append([f"F1, PSPI ≥ {t} (threshold from {pain['threshold_source']})",
                     _fmt(pain["f1"]["value"]), _ci(pain["f1"])])
    e = r["explainability"]
    rows.append(["Attention-heatmap AUC", _fmt(e["attention_auc"]["value"]), _ci(e["attention_auc"])])
    rows.append(["Pointing game", _fmt(e["pointing_game"]["value"]), _ci(e["pointing_game"])])
    return _Section("Headline metrics", text=intro, header=("Metric", "Value", f"{r['bootstrap']['level']:.0%} CI"),
                    rows=rows)


def _pain_detail(r: dict) -> _Section:
    rows = []
    for t in PAIN_THRESHOLDS:
        p = r["pain"][f"pspi_ge_{t}"]
        rows.append([f"PSPI ≥ {t}", str(p["n_pos"]), str(p["n_neg"]), _with_ci(p["auroc"]), _with_ci(p["f1"]),
                     _fmt(p["decision_threshold"]), p["threshold_source"], _fmt(p["val_f1"]),
                     _fmt(p["calibration"]["ece"])])
    return _Section("Pain detection", text="F1 uses the decision threshold on P(PSPI ≥ t) that maximises F1 "
                    "on the validation split (in pain3d cv: the training folds). ECE: expected calibration error.",
                    header=("Task", "Pain", "No pain", "AUROC", "F1", "Threshold", "Chosen on", "Val F1", "ECE"),
                    rows=rows)


def _au_table(r: dict) -> _Section:
    rows = [[au, _fmt(r["aus"][au]["mae"]["value"]), _ci(r["aus"][au]["mae"])] for au in PSPI_AUS]
    return _Section("Action units", text="Mean absolute error of each AU intensity (0-5; AU43 0-1).",
                    header=("AU", "MAE", "CI"), rows=rows)


_GROUP_COLUMNS = [("mae", "MAE"), ("rmse", "RMSE"), ("pearson_r", "r"), ("icc_3_1", "ICC(3,1)")] + \
    [(f"auroc_ge_{t}", f"AUROC ≥{t}") for t in PAIN_THRESHOLDS] + \
    [(f"f1_ge_{t}", f"F1 ≥{t}") for t in PAIN_THRESHOLDS] + [("attention_auc", "Attention AUC")]


def _group_table(r: dict, name: str, image: str) -> _Section:
    rows = [[g["group"], str(g["n_images"]), str(g["n_identities"])]
            + [_with_ci(g["metrics"][k]) for k, _ in _GROUP_COLUMNS] for g in r["groups"][name]]
    header = ("Group", "Images", "Identities", *(title for _, title in _GROUP_COLUMNS))
    return _Section(f"By {GROUP_TITLES[name]}", header=header,
                    rows=rows, images=[(image, f"Metrics by {GROUP_TITLES[name]}")])


def _explain(r: dict, overlays: str | None) -> _Section:
    e = r["explainability"]
    text = (f"Over {e['n_images']} images with a pain heatmap. Attention AUC: AUROC of the student's attention at "
            "separating the heatmap's top region from the rest of the face (0.5 = chance, 1 = perfect); "
            f"pointing game: share of images whose attention peak lies in that region. "
            f"Attention AUC {_with_ci(e['attention_auc'])}; pointing game {_with_ci(e['pointing_game'])}.")
    images = [(overlays, "Heatmap and attention overlays")] if overlays else []
    return _Section("Explainability", text=text, images=images)


def _to_markdown(sections: list[_Section]) -> str:
    lines = [f"# {TITLE}", ""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        if s.text:
            lines += [s.text, ""]
        if s.header:
            lines += ["| " + " | ".join(s.header) + " |", "|" + "---|" * len(s.header)]
            lines += ["| " + " | ".join(row) + " |" for row in s.rows] + [""]
        lines += [f"![{caption}]({name})" for name, caption in s.images] + ([""] if s.images else [])
    return "\n".join(lines)


def _to_html(sections: list[_Section]) -> str:
    return pages.page(TITLE, [pages.section(s.title, _html_body(s)) for s in sections])


def _html_body(s: _Section) -> str:
    parts = [_html_text(s.text)] if s.text else []
    parts += [pages.table(s.header, s.rows)] if s.header else []
    parts += [pages.figure(name, caption) for name, caption in s.images]
    return "\n".join(parts)


def _html_text(text: str) -> str:
    """A section's text: a bulleted list when every line is a "- " item (as in Markdown), else a paragraph."""
    lines = text.split("\n")
    if all(line.startswith("- ") for line in lines):
        return pages.bullets([line[2:] for line in lines])
    return pages.paragraph(text)
