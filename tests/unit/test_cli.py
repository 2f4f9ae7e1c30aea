"""The `pain3d` command: version, help, plan determinism, and clean failures."""

import json
import subprocess
import sys

from pain3d import __version__
from tests.conftest import run_cli


def test_version_and_help():
    version = run_cli("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"pain3d, version {__version__}"
    helped = run_cli("--help")
    assert helped.returncode == 0
    for command in ("plan", "validate", "job-reference"):
        assert command in helped.stdout


def test_plan_minimal_job_twice_is_byte_identical(minimal_job, tmp_path):
    first = run_cli("plan", "--config", str(minimal_job), "--out", str(tmp_path / "a"))
    second = run_cli("plan", "--config", str(minimal_job), "--out", str(tmp_path / "b"))
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    assert "planned 6 identities, 24 expressions, 72 images" in first.stdout
    a = (tmp_path / "a" / "plan.json").read_bytes()
    assert a == (tmp_path / "b" / "plan.json").read_bytes()
    plan = json.loads(a)
    assert len(plan["identities"]) == 6 and plan["job"]["seed"] == 7
    for ident in plan["identities"]:
        assert {"index", "seed", "age", "sex", "ethnicity", "skin_tone", "split", "expressions"} <= set(ident)
        assert len(ident["expressions"]) == 4
    assert [v["yaw"] for v in plan["views"]] == [-30.0, 0.0, 30.0]
    checked = run_cli("validate", str(tmp_path / "a"))
    assert checked.returncode == 0 and "valid plan: 6 identities" in checked.stdout


def test_replanning_replaces_plan_atomically(minimal_job, tmp_path):
    out = tmp_path / "DATA"
    assert run_cli("plan", "--config", str(minimal_job), "--out", str(out)).returncode == 0
    before = (out / "plan.json").read_bytes()
    assert run_cli("plan", "--config", str(minimal_job), "--out", str(out)).returncode == 0
    assert (out / "plan.json").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["plan.json"]  # no temporary files left


def test_unwritable_or_bad_out(minimal_job, tmp_path):
    afile = tmp_path / "file"
    afile.write_text("x")
    result = run_cli("plan", "--config", str(minimal_job), "--out", str(afile))
    assert result.returncode == 2 and result.stderr.strip().endswith("exists and is not a folder")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    result = run_cli("plan", "--config", str(minimal_job), "--out", str(ro / "sub"))
    if result.returncode != 0:  # root can write anywhere; the message is checked where the OS refuses
        assert result.returncode == 2 and "--out" in result.stderr and result.stderr.count("\n") == 1


def test_usage_errors_are_one_line():
    for args in (["plan"], ["nosuchcommand"], ["validate"]):
        result = run_cli(*args)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("pain3d: error: ")


def test_validate_rejects_corrupt_plan(tmp_path):
    (tmp_path / "plan.json").write_text("{not json")
    result = run_cli("validate", str(tmp_path))
    assert result.returncode == 2 and "not a readable plan" in result.stderr


def test_core_imports_neither_bpy_nor_torch():
    code = ("import sys, pain3d.facs, pain3d.sampling, pain3d.jobs, pain3d.plan, pain3d.dataset, pain3d.app.cli;"
            "bad = [m for m in ('bpy', 'torch', 'timm') if m in sys.modules]; print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_commands_name_the_extra_they_need(tmp_path):
    """Without matplotlib (a plain `pip install pain3d`), `pain3d report` says which extra to install."""
    code = ("import sys; sys.modules['matplotlib'] = None; from pain3d.app.cli import main; "
            f"main(['report', {str(tmp_path)!r}], prog_name='pain3d')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr == ("pain3d: error: this command needs matplotlib, which is not installed; "
                             "allowed: pip install 'pain3d[report]'\n")
