"""The docs cannot rot: every command they show is run here.

Fenced blocks in README.md and docs/*.md carry a tag after the language:

- ```` ```sh run ````: run by bash (`set -euo pipefail`) in a scratch folder that looks like a
  checkout (the repository's top-level entries linked in), with `.venv/bin` on PATH. The blocks
  of one page run in order in the same folder, so each builds on the ones before.
- ```` ```python run ````: run by this Python in the same folder, in order with the sh blocks.
- ```` ```python blender ````: Blender's Python console. A page's blender blocks run together,
  in order, as one script under the `bpy` module (Blender's user folders point into the scratch).
- ```` ```sh synopsis ````: a command's general form, with placeholders. Each command in it must
  also appear in some `run` block, so every command the docs show is run.
- ```` ```sh norun ````: only the quick-start `make` targets (`make test` is this suite).
- ```` ```toml job ```` / ```` ```toml train ````: loaded and checked as a job file / training config.

Tiny settings: an HTML comment just above a block, `<!-- tiny: "OLD" => "NEW" -->`, replaces
OLD by NEW before it runs (OLD must be there). Readers see the real command; the suite runs it
on tiny settings. A `blender` command on PATH stands in for a Blender binary (none newer than
3.4 is packaged here): it runs `blender -b [--factory-startup] -P SCRIPT -- ARGS` as
`python SCRIPT ARGS` under the bpy module, which is Blender. Pages with `--launcher slurm` run
inside a throwaway single-node SLURM cluster.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pain3d.jobs import load_job
from tests.blender.harness import blender_user_env
from tests.conftest import REPO
from tests.slurm_cluster import SlurmCluster, slurm_available

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
GUIDES = ["guide-artists.md", "guide-render-nodes.md", "guide-researchers.md"]
SHELLS = ("sh", "bash", "shell", "console")
SHELL_TAGS = ("run", "synopsis", "norun")
NORUN = {"make demo", "make test"}  # the quick start: `make test` runs this suite, `make demo` is timed by hand
FENCE = re.compile(r"^```(\S*)\s*(.*)$")
TINY = re.compile(r'^<!-- tiny: "(.*)" => "(.*)" -->$')
BLOCK_TIMEOUT = 900

BLENDER_SHIM = f"""#!{sys.executable}
# Stands in for a Blender 4.2+ binary: `blender -b [--factory-startup] -P SCRIPT -- ARGS`.
import os, runpy, sys
argv = sys.argv[1:]
ok = "-b" in argv and "-P" in argv and set(argv[:argv.index("-P")]) <= {{"-b", "--factory-startup"}}
if not ok:
    sys.exit("blender (test stand-in): only `blender -b [--factory-startup] -P SCRIPT -- ARGS` is supported")
script = argv[argv.index("-P") + 1]
rest = argv[argv.index("--") + 1:] if "--" in argv else []
import bpy  # noqa: F401  the bpy module is Blender
sys.argv = [script, *rest]
runpy.run_path(script, run_name="__main__")
"""


@dataclass
class Block:
    page: Path
    line: int
    lang: str
    tags: list[str]
    text: str
    tiny: list[tuple[str, str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.page.name}:{self.line}"

    def runnable_text(self) -> str:
        text = self.text
        for old, new in self.tiny:
            assert old in text, f"{self.where}: tiny setting {old!r} is not in the block"
            text = text.replace(old, new)
        return text


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a page, with their tags and tiny settings."""
    out, lines, i = [], page.read_text(encoding="utf-8").splitlines(), 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        tiny, j = [], i - 1
        while j >= 0 and TINY.match(lines[j]):
            tiny.insert(0, TINY.match(lines[j]).groups())
            j -= 1
        end = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("```"))
        out.append(Block(page, i + 1, match.group(1), match.group(2).split(), "\n".join(lines[i + 1:end]) + "\n",
                         tiny))
        i = end + 1
    return out


def commands(text: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, comments, heredocs and output dropped."""
    joined, out, heredoc = text.replace("\\\n", " "), [], None
    for line in joined.splitlines():
        if heredoc:
            heredoc = None if line.strip() == heredoc else heredoc
            continue
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        marker = re.search(r"<<-?\s*'?(\w+)'?", line)
        heredoc = marker.group(1) if marker else None
        out.extend(part.strip() for part in re.split(r"&&|\|\||;\s|\s\|\s", line) if part.strip())
    return out


def command_name(command: str) -> str:
    """`pain3d train ...` -> "pain3d train"; `python farm/render.py ...` -> "python farm/render.py"."""
    try:
        words = shlex.split(command)
    except ValueError:  # a quote cut by splitting at a pipe inside it
        words = command.split()
    words = [w for w in words if "=" not in w or w.startswith("-")]
    if words[:1] == ["timeout"]:  # timeout [-s SIGNAL] [-k DURATION] DURATION COMMAND...
        i = 1
        while i < len(words) and words[i].startswith("-"):
            i += 2 if words[i] in ("-s", "--signal", "-k", "--kill-after") else 1
        words = words[i + 1:]
    if not words:
        return ""
    if words[0] in ("pain3d", "python", "make") and len(words) > 1:
        second = next((w for w in words[1:] if not w.startswith("-")), "")
        return f"{words[0]} {second}".strip()
    return words[0]


ALL_BLOCKS = [b for page in PAGES for b in blocks(page)]
RUN_BLOCKS = [b for b in ALL_BLOCKS if b.tags[:1] == ["run"] and b.lang in SHELLS]


def test_every_shell_block_is_tagged():
    untagged = [b.where for b in ALL_BLOCKS if b.lang in SHELLS and b.tags[:1] not in ([t] for t in SHELL_TAGS)]
    assert not untagged, f"shell blocks without run/synopsis/norun: {untagged}"


def test_norun_blocks_are_only_the_quick_start():
    for block in ALL_BLOCKS:
        if block.lang in SHELLS and block.tags[:1] == ["norun"]:
            assert set(commands(block.text)) <= NORUN, block.where


def test_commands_sit_in_tagged_blocks():
    """Indented code would escape the checks: commands are shown in fenced, tagged blocks only."""
    for page in PAGES:
        inside = False
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            inside = not inside if line.startswith("```") else inside
            assert inside or not re.match(r"^ {4,}(pain3d|blender|python|torchrun|make|sbatch) ", line), \
                f"{page.name}:{n}: an indented command; put it in a fenced run or synopsis block"


def test_every_synopsis_command_is_run_somewhere():
    ran = {command_name(c) for b in RUN_BLOCKS for c in commands(b.text)}
    for block in ALL_BLOCKS:
        if block.lang in SHELLS and block.tags[:1] == ["synopsis"]:
            for command in commands(block.text):
                assert command_name(command) in ran, f"{block.where}: {command_name(command)!r} is run by no doc block"


def test_guides_are_linked_from_the_readme():
    readme = (REPO / "README.md").read_text()
    for guide in GUIDES:
        assert f"(docs/{guide})" in readme, guide
        assert any(b.tags[:1] in (["run"], ["blender"]) for b in blocks(REPO / "docs" / guide)), guide


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.lang == "toml" and b.tags[:1] == ["job"]],
                         ids=lambda b: b.where)
def test_job_examples_load(block, tmp_path):
    path = tmp_path / "job.toml"
    path.write_text(block.text)
    load_job(path)


@pytest.mark.parametrize("block", [b for b in ALL_BLOCKS if b.lang == "toml" and b.tags[:1] == ["train"]],
                         ids=lambda b: b.where)
def test_training_config_examples_load(block, tmp_path):
    from pain3d.training.config import load_config

    path = tmp_path / "train.toml"
    path.write_text(block.text)
    assert load_config(path)["model"]


def scratch_checkout(root: Path) -> Path:
    """A folder that looks like a checkout: the repository's top-level entries linked in."""
    work = root / "work"
    work.mkdir()
    for entry in REPO.iterdir():
        if entry.name != ".git" and not entry.name.startswith(("demo_data", ".pytest")):
            (work / entry.name).symlink_to(entry)
    return work


def environment(root: Path) -> dict[str, str]:
    shims = root / "bin"
    shims.mkdir()
    (shims / "blender").write_text(BLENDER_SHIM)
    (shims / "blender").chmod(0o755)
    path = os.pathsep.join([str(shims), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return {**os.environ, **blender_user_env(root / "blender-home"), "PATH": path, "PYTHONUNBUFFERED": "1",
            "PYTHONWARNINGS": "ignore"}


def run_block(argv: list[str], where: str, work: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT)
    assert proc.returncode == 0, f"{where} failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"


CONSOLE_DRIVER = """
import json, sys, traceback
namespace = {"__name__": "__main__"}
for line in sys.stdin:
    try:
        exec(compile(json.loads(line), "<doc block>", "exec"), namespace)
        status = "ok"
    except BaseException:
        traceback.print_exc(file=sys.stdout)
        status = "error"
    print("\\nDOC-BLOCK-DONE " + status, flush=True)
"""


class BlenderConsole:
    """One Blender session (the bpy module) that stays open while the page goes on, like the
    artist's Blender beside a terminal: each blender block runs in it as in the Python console."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work, self.env, self.proc = work, env, None

    def run(self, block: Block) -> None:
        if self.proc is None:
            (self.work / ".doc-console.py").write_text(CONSOLE_DRIVER)
            self.proc = subprocess.Popen([sys.executable, ".doc-console.py"], cwd=self.work, env=self.env, text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.proc.stdin.write(json.dumps(block.runnable_text()) + "\n")
        self.proc.stdin.flush()
        watchdog = threading.Timer(BLOCK_TIMEOUT, self.proc.kill)
        watchdog.start()
        output = []
        try:
            for line in self.proc.stdout:
                if line.startswith("DOC-BLOCK-DONE "):
                    assert line.split()[1] == "ok", f"{block.where} failed:\n{''.join(output)[-4000:]}"
                    return
                output.append(line)
        finally:
            watchdog.cancel()
        raise AssertionError(f"{block.where}: Blender exited:\n{''.join(output)[-4000:]}")

    def close(self) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=120)


def run_page(page: Path, root: Path, env: dict[str, str]) -> None:
    """Run a page's blocks in order in one scratch checkout (module docs)."""
    work = scratch_checkout(root)
    console = BlenderConsole(work, env)
    try:
        for block in blocks(page):
            if block.lang == "python" and block.tags[:1] == ["blender"]:
                console.run(block)
            elif block.tags[:1] == ["run"] and block.lang in SHELLS + ("python",):
                script = work / f".doc-block-{block.line}.{'py' if block.lang == 'python' else 'sh'}"
                script.write_text(block.runnable_text())
                shell = ["bash", "-euo", "pipefail", script.name]
                run_block([sys.executable, script.name] if block.lang == "python" else shell, block.where, work, env)
    finally:
        console.close()


@pytest.mark.parametrize("guide", GUIDES)
def test_guide_runs(guide, tmp_path):
    page = REPO / "docs" / guide
    env = environment(tmp_path)
    if "--launcher slurm" not in page.read_text():
        run_page(page, tmp_path, env)
        return
    if not slurm_available():
        pytest.skip("slurm-wlm and munge are not installed")
    with SlurmCluster(tmp_path / "cluster") as cluster:
        run_page(page, tmp_path, {**env, "SLURM_CONF": cluster.env["SLURM_CONF"]})
