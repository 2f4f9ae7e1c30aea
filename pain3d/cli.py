"""The `pain3d` command line: one entry point, one subcommand per part of the pipeline."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from . import __version__
from .errors import EXIT_USER_ERROR, Pain3DError

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
    from .jobs import load_job
    from .plan import make_plan, write_plan

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
    from . import generate as gen
    from .dataset import validate as validate_dataset
    from .jobs import load_job

    job = load_job(config)
    renderer = gen.Renderer(blender)
    renderer.check()
    plan = gen.prepare(job, out)
    workers = workers or gen.default_workers()
    _texture(out, None, None, workers, renderer)
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
    from .generate import Renderer
    from .plan import read_plan
    from .shards import parse_identities

    count = len(read_plan(data)["identities"])
    _texture(data, backend, parse_identities(identities, count), workers, Renderer(blender))


def _texture(data: Path, backend: str | None, identities: list[int] | None, workers: int, renderer) -> None:
    from texturing.textures import texture_plan

    started = time.perf_counter()
    done = texture_plan(data, backend, identities, workers, renderer, report=lambda line: click.echo(line, err=True))
    click.echo(f"textures ({done['backend']}): {done['made']} made, {done['skipped']} up to date "
               f"in {time.perf_counter() - started:.1f} s", err=True)


@main.command()
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--no-files", is_flag=True, help="Check the manifest only; do not open images.")
def validate(data: Path, no_files: bool) -> None:
    """Check a dataset (or a plan not yet rendered) against the dataset contract."""
    from . import dataset, plan as plan_mod

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
    from .shards import merge as merge_shards

    click.echo(f"merged {merge_shards(data)} rows into {data / 'manifest.jsonl'}")


@main.command("export")
@click.option("--layout", required=True, type=click.Choice(["3dpain", "imagefolder"]), help="Target layout.")
@click.option("--prefix", default="pain3d", show_default=True, help="Subject prefix of 3DPain names.")
@click.argument("data", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
def export_cmd(layout: str, prefix: str, data: Path, out: Path) -> None:
    """Export DATA to OUT in the 3DPain release layout or as a Hugging Face imagefolder."""
    from .export import export

    click.echo(f"exported {export(data, out, layout, prefix)} images to {out} ({layout})")


@main.group()
def addon() -> None:
    """The Blender extension."""


@addon.command("build")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder for the zip.")
def addon_build(out: Path) -> None:
    """Write the installable extension zip (Blender 4.2 LTS to 5.0)."""
    from .extension import build

    click.echo(f"wrote {build(out)}")


@main.command()
@click.argument("names", nargs=-1)
def bench(names: tuple[str, ...]) -> None:
    """Run benchmarks from benchmarks/ (all, or the NAMES given, e.g. `plan`)."""
    import json
    import runpy

    from .paths import assets_dir

    folder = assets_dir().parent / "benchmarks"
    available = sorted(p.stem.removeprefix("bench_") for p in folder.glob("bench_*.py"))
    for name in names:
        if name not in available:
            raise Pain3DError(f"benchmark {name!r} does not exist; allowed: {', '.join(available)}")
    for name in names or available:
        result = runpy.run_path(str(folder / f"bench_{name}.py"))["run"]()
        click.echo(json.dumps(result))


@main.command("job-reference")
def job_reference() -> None:
    """Print the job-file reference (every key, default and allowed range) as Markdown."""
    from .jobs import schema_markdown

    click.echo(schema_markdown())


if __name__ == "__main__":
    main()
