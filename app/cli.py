"""The `pain3d` command line: one entry point, one subcommand per part of the pipeline."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from pain3d import __version__
from pain3d.errors import EXIT_USER_ERROR, Pain3DError

EXIT_INVALID = 1  # `validate` found problems in a dataset


class Pain3DGroup(click.Group):
    """Turns user mistakes (ours and click's) into one line on stderr and exit code 2."""

    def main(self, args=None, prog_name=None, **extra):  # noqa: D102
        try:
            return super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except Pain3DError as err:
            _fail(str(err))
        except click.exceptions.NoArgsIsHelpError as err:
            click.echo(err.ctx.get_help() if err.ctx else "")
            sys.exit(0)
        except click.ClickException as err:
            _fail(err.format_message().replace("\n", " "))
        except click.exceptions.Abort:
            _fail("aborted")
        except KeyboardInterrupt:
            click.echo("pain3d: interrupted", err=True)
            sys.exit(130)


def _needs_extra(module: str, extra: str):
    """Import a module that needs an optional dependency, or say in one line which extra installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        missing = (err.name or "").split(".")[0]
        if missing in ("", "pain3d"):
            raise
        raise Pain3DError(f"this command needs {missing}, which is not installed; allowed: "
                          f"pip install 'pain3d[{extra}]'") from None


def _fail(message: str) -> None:
    click.echo(f"pain3d: error: {message}", err=True)
    sys.exit(EXIT_USER_ERROR)


@click.group(cls=Pain3DGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pain3d")
def main() -> None:
    """Pain3D: synthetic 3D pain-face datasets and pain-assessment models."""


@main.command()
@click.option("--config", "config", required=True, type=click.Path(path_type=Path), help="Job file (TOML).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Dataset folder to plan into.")
def plan(config: Path, out: Path) -> None:
    """Plan a job: sample identities and expressions into OUT/plan.json."""
    from pain3d.jobs import load_job
    from pain3d.plan import make_plan, write_plan

    job = load_job(config)
    started = time.perf_counter()
    planned = make_plan(job)
    path = write_plan(out, planned)
    n_ids = len(planned["identities"])
    n_expr = sum(len(i["expressions"]) for i in planned["identities"])
    n_img = n_expr * len(planned["views"])
    click.echo(f"planned {n_ids} identities, {n_expr} expressions, {n_img} images "
               f"in {time.perf_counter() - started:.2f} s -> {path}")


@main.command()
@click.option("--config", "config", required=True, type=click.Path(path_type=Path), help="Job file (TOML).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Dataset folder.")
@click.option("--workers", type=click.IntRange(1, 256), default=None,
              help="Blender processes at once (local launcher; default: half the CPU cores).")
@click.option("--shards", type=click.IntRange(1, 100000), default=None,
              help="Shards to split the identities into (default: workers, or identities for SLURM).")
@click.option("--launcher", type=click.Choice(["local", "slurm"]), default="local", show_default=True,
              help="Run the shards here, or as a SLURM job array.")
@click.option("--blender", default=None, help="Blender executable (default: this Python's bpy module).")
@click.option("--slurm-args", default="", help="Extra sbatch options, e.g. '--partition=gpu --time=2:00:00'.")
def generate(config: Path, out: Path, workers: int | None, shards: int | None, launcher: str, blender: str | None,
             slurm_args: str) -> None:
    """Plan, render and merge a job into OUT (resumes if OUT holds this job's earlier output)."""
    from pain3d.farm import launch as gen
    from pain3d.dataset import validate as validate_dataset
    from pain3d.jobs import load_job

    job = load_job(config)
    renderer = gen.Renderer(blender)
    renderer.check()
    plan = gen.prepare(job, out)
    workers = workers or gen.default_workers()
    # texturing is single-threaded numpy: on this machine it takes every core, not the Blender workers'
    _texture(out, None, None, max(workers, os.cpu_count() or 1) if launcher == "local" else workers, renderer)
    shards = min(shards or (workers if launcher == "local" else len(plan["identities"])), len(plan["identities"]))
    total = gen.total_images(plan)
    click.echo(f"{total} images of {len(plan['identities'])} identities in {shards} shards ({launcher})", err=True)
    with click.progressbar(length=total, label="rendering", show_eta=True, show_pos=True,
                           file=sys.stderr) as bar:
        def progress(done: int) -> None:
            bar.update(max(0, done - bar.pos))

        progress(gen.rendered_images(out, shards))
        if launcher == "local":
            failed = gen.run_local(out, shards, workers, renderer, progress)
        else:
            failed = gen.run_slurm(out, shards, renderer, progress, slurm_args)
            if len(failed) == shards:  # every task died before writing: the logs say why
                more = f" (and {shards - 1} more)" if shards > 1 else ""
                raise Pain3DError(f"{out}: nothing rendered; {failed[0]}{more}")
    rows, missing = gen.finish(out, plan)
    report = validate_dataset(out)
    problems = failed + missing + ([] if report.ok else [f"validation: {report.problems[0]}"])
    if problems:
        raise Pain3DError(f"{out}: {rows} images merged; " + "; ".join(problems))
    click.echo(f"generated {rows} images in {out} (valid)")


@main.command()
@click.option("--plan", "data", required=True, type=click.Path(path_type=Path),
              help="Dataset folder holding plan.json (from `pain3d plan`).")
@click.option("--backend", type=click.Choice(["procedural", "diffusion"]), default=None,
              help="Texture source (default: the job's texture.backend).")
@click.option("--identities", default="", help="Comma-separated identity indices (default: all).")
@click.option("--workers", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Processes for the procedural backend.")
@click.option("--blender", default=None, help="Blender for the diffusion backend's bundles (default: bpy module).")
def texture(data: Path, backend: str | None, identities: str, workers: int, blender: str | None) -> None:
    """Write each identity's skin and eye textures into DATA/textures (cached: done sets are skipped)."""
    from pain3d.farm.launch import Renderer
    from pain3d.plan import read_plan
    from pain3d.farm.shards import parse_identities

    count = len(read_plan(data)["identities"])
    _texture(data, backend, parse_identities(identities, count), workers, Renderer(blender))


def _texture(data: Path, backend: str | None, identities: list[int] | None, workers: int, renderer) -> None:
    from pain3d.texturing.textures import texture_plan

    started = time.perf_counter()
    done = texture_plan(data, backend, identities, workers, renderer, report=lambda line: click.echo(line, err=True))
    click.echo(f"textures ({done['backend']}): {done['made']} made, {done['skipped']} up to date "
               f"in {time.perf_counter() - started:.1f} s", err=True)


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--no-files", is_flag=True, help="Check the manifest only; do not open images.")
def validate(data: Path, no_files: bool) -> None:
    """Check a dataset (or a plan not yet rendered) against the dataset contract."""
    from pain3d import dataset, plan as plan_mod

    if not data.is_dir():
        raise Pain3DError(f"{data}: no such dataset folder")
    if not (data / dataset.MANIFEST_FILE).exists():
        if not (data / plan_mod.PLAN_FILE).exists():
            raise Pain3DError(f"{data}: neither {dataset.MANIFEST_FILE} nor {plan_mod.PLAN_FILE}; nothing to validate")
        _report_plan(data, plan_mod)
        return
    report = dataset.validate(data, check_files=not no_files)
    if report.ok:
        click.echo(f"valid: {report.rows} images of {report.identities} identities in {data}")
        return
    for problem in report.problems:
        click.echo(problem)
    click.echo(f"invalid: {len(report.problems)} problem(s) in {data}", err=True)
    sys.exit(EXIT_INVALID)


def _report_plan(data: Path, plan_mod) -> None:
    planned = plan_mod.read_plan(data)
    problems = plan_mod.check_plan(planned)
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"invalid plan: {len(problems)} problem(s) in {data}", err=True)
        sys.exit(EXIT_INVALID)
    n_expr = sum(len(i["expressions"]) for i in planned["identities"])
    click.echo(f"valid plan: {len(planned['identities'])} identities, {n_expr} expressions, "
               f"{len(planned['views'])} views; not rendered yet (no manifest.jsonl)")


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
def merge(data: Path) -> None:
    """Join the shard manifests of DATA into DATA/manifest.jsonl."""
    from pain3d.farm.shards import merge as merge_shards

    click.echo(f"merged {merge_shards(data)} rows into {data / 'manifest.jsonl'}")


@main.command("export")
@click.option("--layout", required=True, type=click.Choice(["3dpain", "imagefolder"]), help="Target layout.")
@click.option("--prefix", default="pain3d", show_default=True, help="Subject prefix of 3DPain names.")
@click.argument("data", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
def export_cmd(layout: str, prefix: str, data: Path, out: Path) -> None:
    """Export DATA to OUT in the 3DPain release layout or as a Hugging Face imagefolder."""
    from pain3d.app.export import export

    click.echo(f"exported {export(data, out, layout, prefix)} images to {out} ({layout})")


@main.group()
def addon() -> None:
    """The Blender extension."""


@addon.command("build")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder for the zip.")
def addon_build(out: Path) -> None:
    """Write the installable extension zip (Blender 4.2 LTS to 5.3)."""
    from pain3d.app.extension import build

    click.echo(f"wrote {build(out)}")


@main.command()
@click.argument("names", nargs=-1)
def bench(names: tuple[str, ...]) -> None:
    """Run benchmarks from benchmarks/ (all, or the NAMES given, e.g. `plan`)."""
    import json
    import runpy

    from pain3d.paths import assets_dir

    folder = assets_dir().parent / "benchmarks"
    available = sorted(p.stem.removeprefix("bench_") for p in folder.glob("bench_*.py"))
    for name in names:
        if name not in available:
            raise Pain3DError(f"benchmark {name!r} does not exist; allowed: {', '.join(available)}")
    for name in names or available:
        result = runpy.run_path(str(folder / f"bench_{name}.py"))["run"]()
        click.echo(json.dumps(result))


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--out", "out", type=click.Path(path_type=Path), default=None, help="Report folder (default: DATA/report).")
@click.option("--no-files", is_flag=True, help="Check the manifest only; do not open every image.")
def report(data: Path, out: Path | None, no_files: bool) -> None:
    """Write an HTML page about DATA: contact sheets, expression ladder, histograms, balance, checks."""
    write_report = _needs_extra("pain3d.app.dataset_report", "report").write_report
    page = write_report(data, out, progress=lambda step: click.echo(step, err=True), check_files=not no_files)
    click.echo(f"report: {page}")


@main.command("job-reference")
def job_reference() -> None:
    """Print the job-file reference (every key, default and allowed range) as Markdown."""
    from pain3d.jobs import schema_markdown

    click.echo(schema_markdown())


DATA_HELP = "Dataset folder: Pain3D (manifest.jsonl) or the 3DPain layout; or unbc:PATH, the UNBC-McMaster archive."


def _run_options(command):
    """The options `pain3d train` and `pain3d cv` share: config overrides (training/config.py OVERRIDES)."""
    options = [
        click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
                     help="Training config (TOML; default: the built-in defaults, see pain3d train-reference)."),
        click.option("--backbone", default=None, help="timm model name (model.backbone)."),
        click.option("--image-size", type=int, default=None, help="Input side in pixels (model.image_size)."),
        click.option("--batch-size", type=int, default=None, help="Images per process and batch (optim.batch_size)."),
        click.option("--epochs", type=int, default=None, help="Passes over the train split (optim.epochs)."),
        click.option("--max-steps", type=int, default=None,
                     help="Stop after this many optimiser steps (optim.max_steps)."),
        click.option("--seed", type=int, default=None, help="Seed (run.seed)."),
        click.option("--pretrained", type=click.Path(path_type=Path), default=None,
                     help="Local backbone weights, .safetensors or a timm checkpoint (model.pretrained)."),
        click.option("--init", type=click.Path(path_type=Path), default=None,
                     help="Fine-tune: start from this run's best weights or this model file (run.init)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@main.command()
@click.option("--data", required=True, type=click.Path(path_type=Path), help=DATA_HELP)
@click.option("--role", required=True, type=click.Choice(["teacher", "student", "baseline"]), help="What to train.")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Run folder (running again with the same folder resumes).")
@_run_options
@click.option("--teacher", type=click.Path(path_type=Path), default=None,
              help="Student: the teacher's run folder or model file (run.teacher).")
@click.option("--fold", type=int, default=None,
              help="unbc:PATH only: the fold whose subjects are tested, 0-based (data.fold of data.folds).")
def train(data: Path, role: str, config_path: Path | None, out: Path, **overrides) -> None:
    """Train a ViTPain teacher, student or baseline on DATA into OUT (torchrun runs it on several GPUs)."""
    import os

    from pain3d.training.config import load_config

    train_run = _needs_extra("pain3d.training.train", "train").train
    from pain3d.training.loader import UnbcSource, data_source

    if overrides["fold"] is not None and not isinstance(data_source(data), UnbcSource):
        raise Pain3DError(f"--fold {overrides['fold']}: {data} has fixed splits; allowed only with --data unbc:PATH")
    config = load_config(config_path, overrides)

    progress = train_run(data, role, config, out)
    if os.environ.get("RANK", "0") == "0":
        best = (f"best val PSPI MAE {progress.best_mae:.3f} at step {progress.best_step}"
                if progress.best_mae is not None else "no validation yet")
        click.echo(f"trained {role} to step {progress.step} ({best}) in {out}")


@main.command()
@click.option("--data", required=True, type=click.Path(path_type=Path),
              help="The UNBC-McMaster archive as distributed: unbc:PATH.")
@click.option("--role", type=click.Choice(["teacher", "student", "baseline"]), default="baseline", show_default=True,
              help="What to train (baseline: the archive has no pain heatmaps for a teacher).")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Folder for the fold runs and the summary (running again with it continues).")
@click.option("--folds", type=int, default=None, help="Subject-wise folds (data.folds; default 5).")
@_run_options
@click.option("--bootstrap", type=click.IntRange(0, 100000), default=1000, show_default=True,
              help="Subject-bootstrap resamples of each fold report's confidence intervals.")
def cv(data: Path, role: str, out: Path, config_path: Path | None, bootstrap: int, **overrides) -> None:
    """Cross-validate on DATA: train and test every subject-wise fold, then OUT/summary.json and summary.md."""
    from pain3d.training.config import load_config

    cv_module = _needs_extra("pain3d.training.cv", "train")
    summary = cv_module.cross_validate(data, role, load_config(config_path, overrides), out, bootstrap)
    click.echo(f"{cv_module.headline(summary)}; wrote {Path(out) / 'summary.md'} and summary.json")


ARCHITECTURE_HELP = ("Pain-in-3D checkpoints only: the training config whose [model] table is their architecture "
                     "(default: assets/train/vitpain_v4.toml).")


@main.command("eval")
@click.option("--run", "run", required=True, type=click.Path(path_type=Path),
              help="Run folder (from pain3d train), a model file (checkpoints/step-N.safetensors) or a checkpoint "
                   "of the released Pain-in-3D code.")
@click.option("--data", required=True, type=click.Path(path_type=Path), help="Dataset folder.")
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="test", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Report folder (default: RUN/eval-SPLIT).")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True,
              help="Which checkpoint of the run.")
@click.option("--batch-size", type=click.IntRange(1, 4096), default=64, show_default=True)
@click.option("--workers", type=click.IntRange(0, 64), default=2, show_default=True, help="DataLoader workers.")
@click.option("--bootstrap", type=click.IntRange(0, 100000), default=1000, show_default=True,
              help="Identity-bootstrap resamples of the confidence intervals.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--neutral-shots", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Neutral-reference models: average each prediction over K neutral images of the person.")
@click.option("--config", "architecture", type=click.Path(path_type=Path), default=None, help=ARCHITECTURE_HELP)
def eval_cmd(run: Path, data: Path, split: str, out: Path | None, checkpoint: str, batch_size: int, workers: int,
             bootstrap: int, seed: int, neutral_shots: int, architecture: Path | None) -> None:
    """Evaluate a run on a split of DATA: report.json, report.md, report.html, predictions.csv and plots."""
    evaluate_run = _needs_extra("pain3d.training.evaluate", "train").evaluate_run

    paths = evaluate_run(run, data, split, out, checkpoint, batch_size, workers, bootstrap, seed, neutral_shots,
                         architecture)
    click.echo(f"wrote {paths['html']} (and report.json, report.md, predictions.csv) in {paths['html'].parent}")


@main.command()
@click.option("--run", "run", required=True, type=click.Path(path_type=Path),
              help="Run folder, model file or Pain-in-3D checkpoint.")
@click.option("--checkpoint", type=click.Choice(["best", "last"]), default="best", show_default=True)
@click.option("--neutral", "neutrals", type=click.Path(path_type=Path), multiple=True,
              help="The person's neutral image, for models trained with a neutral reference; repeat it to "
                   "average the predictions over several.")
@click.option("--config", "architecture", type=click.Path(path_type=Path), default=None, help=ARCHITECTURE_HELP)
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
def predict(run: Path, checkpoint: str, neutrals: tuple[Path, ...], architecture: Path | None,
            images: tuple[Path, ...]) -> None:
    """Print PSPI, the six AU intensities and pain probabilities of IMAGES (one tab-separated row each)."""
    predict_images = _needs_extra("pain3d.training.evaluate", "train").predict_images

    rows = predict_images(run, list(images), list(neutrals), checkpoint, architecture=architecture)
    click.echo("\t".join(["image", *rows[0]]))
    for image, row in zip(images, rows):
        click.echo("\t".join([str(image), *(f"{v:.3f}" for v in row.values())]))


@main.command("train-reference")
def train_reference() -> None:
    """Print the training-config reference (every key, default and allowed range) as Markdown."""
    from pain3d.training.config import SCHEMA

    from pain3d.jobs import schema_markdown

    click.echo(schema_markdown(SCHEMA))


if __name__ == "__main__":
    main()
