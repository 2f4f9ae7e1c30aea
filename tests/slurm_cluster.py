"""A throwaway single-node SLURM cluster for tests (Debian's slurm-wlm and munge).

`SlurmCluster(root)` writes a private munge key, a slurm.conf with its own ports, state and
spool folders under `root`, starts munged, slurmctld and slurmd, and stops them on exit.
Nothing outside `root` is touched; commands get `SLURM_CONF` through `env`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

REQUIRED = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")


def slurm_available() -> bool:
    return all(shutil.which(cmd) for cmd in REQUIRED)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


class SlurmCluster:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.conf = self.root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def __enter__(self) -> "SlurmCluster":
        for sub in ("state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        key = self.root / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        self.conf.write_text(self._config())
        self._run(["munged", "--force", f"--socket={self.root / 'munge.sock'}", f"--key-file={key}",
                   f"--pid-file={self.root / 'munged.pid'}", f"--log-file={self.root / 'log' / 'munge.log'}",
                   f"--seed-file={self.root / 'munge.seed'}"])
        self._run(["slurmctld", "-f", str(self.conf)])
        self._run(["slurmd", "-f", str(self.conf)])
        self._wait_idle()
        return self

    def __exit__(self, *exc) -> None:
        pids = []
        for name in ("slurmd", "slurmctld", "munged"):
            pid_file = self.root / f"{name}.pid"
            if pid_file.exists():
                pids.append(int(pid_file.read_text().split()[0]))
                _signal(pids[-1], signal.SIGTERM)
        deadline = time.time() + 15
        while any(_alive(pid) for pid in pids) and time.time() < deadline:
            time.sleep(0.2)
        for pid in pids:
            _signal(pid, signal.SIGKILL)

    def run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(args, env=self.env, capture_output=True, text=True, **kwargs)

    def _run(self, args: list[str]) -> None:
        subprocess.run(args, env=self.env, check=True, capture_output=True)

    def _wait_idle(self, timeout: float = 30.0) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            state = self.run(["sinfo", "-h", "-o", "%T"]).stdout.strip()
            if state.startswith("idle"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"SLURM node did not become idle: {state!r}; see {self.root / 'log'}")

    def _config(self) -> str:
        host = socket.gethostname()
        r = self.root
        return "\n".join([
            "ClusterName=pain3dtest", f"SlurmctldHost={host}", "SlurmUser=root", "SlurmdUser=root",
            "AuthType=auth/munge", f"AuthInfo=socket={r / 'munge.sock'}", "CredType=cred/munge",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none", "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core",
            f"StateSaveLocation={r / 'state'}", f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'slurmctld.pid'}", f"SlurmdPidFile={r / 'slurmd.pid'}",
            f"SlurmctldPort={_free_port()}", f"SlurmdPort={_free_port()}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}", f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
            "ReturnToService=2", "MpiDefault=none", "JobCompType=jobcomp/none",
            "AccountingStorageType=accounting_storage/none",
            f"NodeName={host} CPUs={os.cpu_count()} RealMemory=2000 State=UNKNOWN",
            "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP", "",
        ])
