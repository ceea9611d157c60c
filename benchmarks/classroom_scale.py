"""How many CPU seats one machine holds: `torchlab classroom up LAB --seats N --gpus none`, every
seat spawned through the real JupyterHub, each answering through the proxy with its own token
(and refusing a neighbour's), each passing its smoke checks; then what each seat costs.

Run by hand (the engine, the base image, the wheelhouse and configurable-http-proxy as .ci/run
provides them):
    python benchmarks/classroom_scale.py [--seats 6] [--lab module-1] [--base-image torchlab-ci/debian:bookworm]
        [--wheelhouse $PIP_FIND_LINKS] [--ca-bundle $PIP_CERT] [--keep]
and record the figures with the machine in docs/PERFORMANCE.md.

Figures: the whole `classroom up` (image reused), each seat's spawn time as JupyterHub measures it
("User NAME took S seconds to start": from the spawn request until its server answered), the memory
of each seat's container once its smoke checks have run (the engine's figure, page cache left
out), the hub, its proxy and its culler (their resident memory), and the host's memory and load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

from torchlab import engine
from torchlab.decide.runspec import short_hash

SPAWN_LINE = re.compile(r"User (\S+) took ([0-9.]+) seconds to start")


def torchlab_env(data_dir: Path, args: argparse.Namespace) -> dict[str, str]:
    env = {**os.environ, "TORCHLAB_DATA_DIR": str(data_dir), "TORCHLAB_CONFIG": str(data_dir.parent / "none.toml"),
           "NO_COLOR": "1"}
    for name, value in (("TORCHLAB_BASE_IMAGE", args.base_image), ("TORCHLAB_WHEELHOUSE", args.wheelhouse),
                        ("TORCHLAB_CA_BUNDLE", args.ca_bundle)):
        if value:
            env[name] = value
    return env


def status(url: str, token: str) -> int | None:
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def check_seats(doc: dict) -> None:
    """Every seat answers with its own token, refuses its neighbour's, and passed its smoke checks."""
    seats = doc["seats"]
    for number, seat in enumerate(seats):
        url = f"{doc['hub_url']}/user/{seat['name']}/api/status"
        neighbour = seats[(number + 1) % len(seats)]["token"]
        if status(url, seat["token"]) != 200 or (len(seats) > 1 and status(url, neighbour) != 403):
            sys.exit(f"{seat['name']} does not answer with its own token only")
        if seat["smoke"].get("status") != "passed":
            sys.exit(f"{seat['name']}: smoke {seat['smoke'].get('status')}: {seat['smoke'].get('detail')}")


def seat_memory(client, data_dir: Path, names: list[str]) -> dict[str, int]:
    """Each seat container's memory in bytes, as `docker stats` counts it (usage less page cache)."""
    prefix = f"torchlab-seat-{short_hash(str(data_dir))}"
    found = {}
    for name in names:
        stats = client.containers.get(f"{prefix}-{name}").stats(stream=False)["memory_stats"]
        cache = (stats.get("stats") or {}).get("cache", 0) or (stats.get("stats") or {}).get("inactive_file", 0)
        found[name] = int(stats["usage"]) - int(cache)
    return found


def hub_memory(data_dir: Path) -> dict[str, int]:
    """Resident memory of the hub and of the proxy and culler it started (their own sessions)."""
    record = json.loads((data_dir / "classroom" / "hub" / "hub.json").read_text())
    hub = psutil.Process(record["pid"])
    found = {"hub": hub.memory_info().rss}
    for process in psutil.process_iter(["cmdline"]):
        command = " ".join(process.info["cmdline"] or [])
        if "configurable-http-proxy" in command and doc_port(record) in command:
            found["proxy"] = process.memory_info().rss
        elif "jupyterhub_idle_culler" in command and process.environ().get("JUPYTERHUB_API_URL", "").startswith(record["api_url"]):
            found["culler"] = process.memory_info().rss
    return found


def doc_port(record: dict) -> str:
    return f"--port {record['hub_url'].rsplit(':', 1)[1]}"


def spawn_times(data_dir: Path) -> dict[str, float]:
    text = (data_dir / "classroom" / "hub.log").read_text(errors="replace")
    return {name: float(seconds) for name, seconds in SPAWN_LINE.findall(text)}


def mib(value: float) -> float:
    return round(value / 2**20, 1)


def run(args: argparse.Namespace, root: Path) -> dict:
    data_dir = root / "data"
    env = torchlab_env(data_dir, args)
    command = [sys.executable, "-m", "torchlab", "classroom", "up", args.lab, "--seats", str(args.seats),
               "--gpus", "none", "--port", str(args.port), "--json"]
    used_before = psutil.virtual_memory().used
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"classroom up failed (exit {done.returncode}): {done.stderr[-3000:]}")
    doc = json.loads(done.stdout)
    check_seats(doc)
    names = [seat["name"] for seat in doc["seats"]]
    client = engine.connect(timeout=120)
    try:
        memory = seat_memory(client, data_dir, names)
    finally:
        client.close()
    spawns = spawn_times(data_dir)
    return {
        "machine": {"cpus": psutil.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
                    "platform": platform.platform()},
        "seats": args.seats, "lab": args.lab, "classroom_up_s": round(seconds, 1),
        "image_built": "building torchlab/" in done.stderr,
        "spawn_s": {"median": round(statistics.median(spawns.values()), 1), "max": round(max(spawns.values()), 1),
                    "each": spawns},
        "seat_memory_mib": {"median": mib(statistics.median(memory.values())), "max": mib(max(memory.values())),
                            "each": {name: mib(value) for name, value in memory.items()}},
        "hub_memory_mib": {name: mib(value) for name, value in hub_memory(data_dir).items()},
        "host_memory_used_delta_mib": mib(psutil.virtual_memory().used - used_before),
        "load_average_1m": os.getloadavg()[0],
    }


def tear_down(args: argparse.Namespace, root: Path) -> None:
    data_dir = root / "data"
    subprocess.run([sys.executable, "-m", "torchlab", "classroom", "down"], env=torchlab_env(data_dir, args),
                   capture_output=True, check=False)
    client = engine.connect(timeout=120)
    try:
        for volume in client.volumes.list(filters={"name": f"torchlab-seat-{short_hash(str(data_dir))}"}):
            volume.remove(force=True)
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seats", type=int, default=6)
    parser.add_argument("--lab", default="module-1")
    parser.add_argument("--port", type=int, default=18765)
    parser.add_argument("--base-image", default=os.environ.get("TORCHLAB_BASE_IMAGE", "torchlab-ci/debian:bookworm"))
    parser.add_argument("--wheelhouse", default=os.environ.get("TORCHLAB_WHEELHOUSE") or os.environ.get("PIP_FIND_LINKS"))
    parser.add_argument("--ca-bundle", default=os.environ.get("TORCHLAB_CA_BUNDLE") or os.environ.get("PIP_CERT"))
    parser.add_argument("--keep", action="store_true", help="Leave the class running (then `classroom down` it).")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="torchlab-classroom-scale-"))
    try:
        print(json.dumps(run(args, root), indent=2))
    finally:
        if not args.keep:
            tear_down(args, root)
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
