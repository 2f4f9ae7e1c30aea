"""`pain3d generate` interrupted: no shard process outlives the launcher (its lock would refuse the
resume)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pain3d.farm import launch


class SleepingRenderer(launch.Renderer):
    """A shard that would render for a minute and writes its pid first."""

    def command(self, data: Path, shard: str) -> list[str]:
        pid_file = data / f"pid-{shard.replace('/', '-')}"
        return [sys.executable, "-c", f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
                "time.sleep(60)"]


def test_ctrl_c_stops_every_running_shard(tmp_path):
    calls = []

    def progress(_done: int) -> None:
        calls.append(1)
        if len(list(tmp_path.glob("pid-*"))) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        launch.run_local(tmp_path, shards=3, workers=2, renderer=SleepingRenderer(), progress=progress)
    for pid_file in tmp_path.glob("pid-*"):
        pid = int(pid_file.read_text())
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), pid
