"""A Docker engine of the fault suite's own: its own socket, data-root, exec-root and pid file under
a temporary folder, in a network namespace of its own (no bridge, no iptables), so that stopping it
(as the tests do, under a running lab) harms no other engine and no other test. It holds one image:
the base image from the main engine, tagged with the name the lab image has (`up --no-jupyter` runs
only `sleep` in it).

Why the namespace: a dockerd started with --bridge=none deletes the host's docker0 (the main
engine's bridge) as it starts; in a namespace of its own there is no docker0 for it to delete.
The suite checks that docker0 is still there afterwards (tests/faults/test_engine_faults.py)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from conftest import missing

START_S = 60


def has_link(name: str) -> bool:
    """The host (this network namespace) has a network interface of that name."""
    return Path("/sys/class/net", name).exists()


@dataclass
class SpareEngine:
    root: Path
    process: subprocess.Popen | None = field(default=None)

    @property
    def host(self) -> str:
        return f"unix://{self.root}/docker.sock"

    def docker(self, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "-H", self.host, *args], capture_output=True, check=check, timeout=300, **kwargs)

    def answers(self) -> bool:
        return self.docker("version", check=False).returncode == 0

    def start(self) -> None:
        argv = ["unshare", "--net", "dockerd", "--host", self.host, "--data-root", str(self.root / "data"),
                "--exec-root", str(self.root / "exec"), "--pidfile", str(self.root / "docker.pid"), "--bridge=none",
                "--iptables=false", "--ip-masq=false", "--group", "root"]
        with open(self.root / "dockerd.log", "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline:
            if self.answers():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(f"the spare dockerd did not start: {(self.root / 'dockerd.log').read_text()[-2000:]}")

    def stop(self) -> None:
        """SIGTERM to the dockerd this object started (its own process, never one found by name)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        self.process = None

    def remove(self) -> None:
        self.stop()
        subprocess.run(["umount", "-R", str(self.root / "exec")], capture_output=True, check=False)
        subprocess.run(["rm", "-rf", str(self.root)], check=False, timeout=120)


def start_spare_engine() -> SpareEngine:
    if os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("dockerd", "docker", "unshare")):
        missing("a second dockerd of the suite's own (needs root, dockerd and unshare(1), as CI has)")
    engine = SpareEngine(Path(tempfile.mkdtemp(prefix="tl-engine-", dir="/tmp")))
    engine.start()
    return engine


def load_image(engine: SpareEngine, image: str, as_name: str) -> None:
    """docker save (main engine) | docker load (spare engine), then tag it as_name there."""
    saver = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    engine.docker("load", stdin=saver.stdout)
    assert saver.wait(timeout=300) == 0
    engine.docker("tag", image, as_name)
