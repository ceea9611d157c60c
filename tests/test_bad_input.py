"""Bad input, as a careless or hostile user gives it: every command and every setting, each in its
own `python -m torchlab` process. Each must end in one line on stderr that starts
`torchlab: error:`, with its documented exit code (2 bad input, 3 the host cannot do it), no
traceback, nothing on stdout, and soon: a special file (/dev/zero, a FIFO) never hangs it.

The processes run a few at a time (they are independent); each case is then its own test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from upkit import REPO

BOUND_S = 20.0  # a case that takes longer has hung, or waited on something it should not
KILL_S = 60.0


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    code: int = 2
    words: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        shown = " ".join(self.args) + "".join(f" [{k}={v}]" for k, v in self.env)
        return shown.replace("{w}", "W")[:120]


def case(*args: str, env: dict[str, str] | None = None, code: int = 2, words: tuple[str, ...] = ()) -> Case:
    return Case(tuple(args), tuple((env or {}).items()), code, words)


# --- 1. each setting, from the environment, with values its rule refuses --------------------------

BAD_SETTINGS: dict[str, list[str]] = {
    "TORCHLAB_REGISTRY": ["::bad", "UPPER/torchlab", "reg istry/x", "127.0.0.1:5000/x@sha256:abc", "127.0.0.1:5000/x:tag",
                          "-leading/x", "a//b", "127.0.0.1:port/x"],
    "TORCHLAB_BASE_IMAGE": ["UPPER:case", "debian:", ":latest", "a b", "debian@sha256:xyz", "debian:bad tag", "-x",
                            "debian:" + "t" * 200],
    "TORCHLAB_INDEX_URL": ["pypi.org/simple", "ftp://x/simple", "https://", "http://host:port/", "https://a b/simple",
                           "simple"],
    "TORCHLAB_DATA_DIR": ["{w}/afile", "{w}/afile/sub", "{w}/fifo"],
    "TORCHLAB_LABS_DIR": ["{w}/nowhere", "{w}/afile", "{w}/fifo"],
    "TORCHLAB_WHEELHOUSE": ["{w}/nowhere", "{w}/afile", "{w}/fifo"],
    "TORCHLAB_CA_BUNDLE": ["{w}/nowhere.pem", "{w}/emptydir", "/dev/null", "{w}/fifo"],
}
COMMANDS = [("config", "show"), ("status",), ("images", "plan", "--variant", "cpu"), ("up", "module-0"), ("labs",),
            ("down", "--all"), ("labs", "init", "module-0"), ("smoke", "module-0"), ("logs", "module-0"),
            ("doctor", "--json"), ("images", "build", "--variant", "cpu"), ("shell", "module-0")]


def setting_cases() -> list[Case]:
    """Each bad value with two commands (a different pair each time), so that every command meets
    every setting's check somewhere in the table."""
    cases, turn = [], 0
    for variable, values in BAD_SETTINGS.items():
        for value in values:
            for _ in range(2):
                command = COMMANDS[turn % len(COMMANDS)]
                turn += 1
                cases.append(case(*command, env={variable: value}, words=(f"env {variable}", "expected")))
    return cases


# --- 2. the config file: unreadable, special, huge, binary, malformed, or holding bad values ---------

CONFIG_FILES = {
    "binary.toml": ("not UTF-8",), "utf16-without-bom.toml": ("binary",), "nul.toml": ("binary",),
    "not-toml.toml": ("not valid TOML",), "unknown.toml": ("unknown setting 'colour'",),
    "number.toml": ("registry must be a string",), "emptydir": ("not a regular file",), "fifo": ("not a regular file",),
    "/dev/zero": ("not a regular file",), "big.toml": ("larger than 4 MB",),
    "bad-registry.toml": ("registry ::bad (from config file", "expected"),
    "bad-data-dir.toml": ("data folder", "(from config file", "not a folder but a file"),
    "bad-base-image.toml": ("base image Debian:12 (from config file", "expected"),
}


def config_cases() -> list[Case]:
    cases = []
    for index, (name, words) in enumerate(CONFIG_FILES.items()):
        path = name if name.startswith("/") else f"{{w}}/{name}"
        env = {"TORCHLAB_CONFIG": path, **({"TORCHLAB_DATA_DIR": ""} if "data-dir" in name else {})}
        for command in (COMMANDS[index % 4], ("config", "show", "--json")):
            cases.append(case(*command, env=env, words=("config file", *words)))
    return cases


# --- 3. usage: unknown options and commands, missing arguments, values out of range ----------------

USAGE = [
    case("bogus"), case("--bogus"), case("doctor", "--bogus"), case("doctor", "--from"),
    case("labs", "show"), case("labs", "bogus"), case("labs", "init"), case("labs", "upgrade"), case("labs", "--bogus"),
    case("up"), case("up", "module-0", "--runtime", "bogus"), case("up", "module-0", "--variant", "gpu"),
    case("up", "module-0", "--port", "abc"), case("up", "module-0", "--port", "0"),
    case("up", "module-0", "--port", "65536"), case("up", "module-0", "--port", "-1"),
    case("up", "module-0", "--port", "1e3"), case("up", "module-0", "extra"),
    case("down", words=("name one lab",)), case("down", "module-0", "--all", words=("name one lab",)),
    case("status", "--bogus"), case("status", "extra"), case("logs"), case("logs", "module-0", "--bogus"), case("shell"),
    case("smoke", "module-0", "--device", "tpu"), case("smoke"), case("bench", "--device", "tpu"),
    case("bench", "--compare", "a.json"), case("bench", "--quick", "--bogus"),
    case("bench", "--compare", "{w}/bench-ok.json", "{w}/bench-ok.json", "--lab", "module-0", words=("--compare",)),
    case("images", "bogus"), case("images", "build", "--variant", "cuda-x"), case("images", "plan", "--variant", "bogus"),
    case("images", "pull", "--variant", "rocm-"), case("images", "plan", "--variant", ""),
    case("config", "bogus"), case("config", "show", "--bogus"),
    case("classroom", "bogus"), case("classroom", "up", "module-0"), case("classroom", "up", "module-0", "--seats", "0"),
    case("classroom", "up", "module-0", "--seats", "abc"), case("classroom", "up", "module-0", "--seats", "100000"),
    case("classroom", "up", "module-0", "--seats", "2", "--gpus", "x"),
    case("classroom", "up", "module-0", "--seats", "2", "--port", "70000"),
    case("classroom", "up", "module-0", "--seats", "2", "--listen", "0.0.0.0", words=("--tls-cert",)),
    case("classroom", "up", "module-0", "--seats", "2", "--listen", "nohost", words=("expected an IP address",)),
    case("classroom", "up", "module-0", "--seats", "2", "--tls-cert", "{w}/afile", words=("expected both",)),
    case("classroom", "up", "module-0", "--seats", "2", "--listen", "0.0.0.0", "--tls-cert", "{w}/fifo",
         "--tls-key", "{w}/fifo", words=("--tls-cert", "expected a readable PEM file")),
    case("classroom", "export", "module-0"), case("classroom", "export", "module-0", "--kubernetes", "{w}/k", "--gpu", "tpu"),
    case("classroom", "export", "module-0", "--kubernetes", "{w}/k", words=("--registry",)),
    case("classroom", "export", "module-0", "--kubernetes", "{w}/k", "--registry", "::bad", words=("--registry ::bad", "expected")),
    case("classroom", "export", "module-0", "--kubernetes", "{w}/afile", "--registry", "127.0.0.1:5000/c",
         words=("--kubernetes", "not a folder")),
    case("classroom", "seats", words=("no class is set up here",)),
    case("export", "bogus"), case("export", "devcontainer"), case("export", "devcontainer", "module-0", "--variant", "tpu"),
    case("export", "devcontainer", "module-0", "--dir", "", words=("--dir '': empty",)),
    case("export", "devcontainer", "module-0", "--dir", "{w}/afile", words=("--dir", "not a folder")),
    case("export", "devcontainer", "module-0", "--dir", "{w}/afile/sub", words=("--dir", "is a file")),
]

# --- 4. labs that are not there, and labs that are not running ------------------------------------

LABS = [
    case("labs", "show", "nope", words=("unknown lab",)), case("labs", "init", "nope", words=("unknown lab",)),
    case("labs", "upgrade", "nope", words=("unknown lab",)), case("up", "nope", words=("unknown lab",)),
    case("down", "nope", words=("unknown lab",)), case("logs", "nope", words=("unknown lab",)),
    case("shell", "nope", words=("unknown lab",)), case("smoke", "nope", words=("unknown lab",)),
    case("up", "", words=("unknown lab",)), case("labs", "show", "", words=("unknown lab",)),
    case("classroom", "up", "nope", "--seats", "2", words=("unknown lab",)),
    case("classroom", "export", "nope", "--kubernetes", "{w}/k", "--registry", "127.0.0.1:5000/c", words=("unknown lab",)),
    case("export", "devcontainer", "nope", words=("unknown lab",)),
    case("up", "module 0", words=("unknown lab",)), case("up", "../etc", words=("unknown lab",)),
    case("labs", "show", "modul-1", words=("did you mean module-1",)),
    case("logs", "module-0", words=("not running",)), case("shell", "module-0", words=("not running",)),
    case("bench", "--lab", "module-0", words=("no running lab",)),
]

# --- 5. flags that name files and folders ----------------------------------------------------------

PATHS = [
    case("labs", "--labs-dir", "", words=("--labs-dir '': empty",)),
    case("labs", "--labs-dir", "{w}/nowhere", words=("labs folder", "not found")),
    case("labs", "--labs-dir", "{w}/afile", words=("not a folder",)),
    case("labs", "--labs-dir", "{w}/emptydir", words=("no labs in it",)),
    case("labs", "--labs-dir", "{w}/fifo", words=("not a folder",)),
    case("labs", "--labs-dir", "{w}/broken-labs", words=("lab.toml", "expected")),
    case("labs", "show", "module-0", "--labs-dir", "{w}/nowhere", words=("not found",)),
    case("up", "module-0", env={"TORCHLAB_LABS_DIR": "{w}/emptydir"}, words=("no labs in it",)),
    case("labs", env={"TORCHLAB_LABS_DIR": "{w}/emptydir"}, words=("no labs in it",)),
    case("smoke", "module-0", "--labs-dir", "", words=("empty",)),
    case("labs", "init", "module-0", "--dir", "", words=("--dir '': empty",)),
    case("labs", "init", "module-0", "--dir", "{w}/afile", words=("not a folder",)),
    case("labs", "init", "module-0", "--dir", "{w}/afile/sub", words=("is a file",)),
    case("labs", "init", "module-0", "--dir", "/proc/torchlab", words=("/proc",)),
    case("labs", "init", "module-0", "--dir", "{w}/notempty", words=("not empty and not a torchlab workspace",)),
    case("labs", "upgrade", "module-0", "--dir", "{w}/emptydir", words=("not a torchlab workspace",)),
    case("labs", "upgrade", "module-0", "--dir", "", words=("empty",)),
    case("doctor", "--from", "", words=("--from '': empty",)),
    case("doctor", "--from", "{w}/nowhere", words=("cannot read it",)),
    case("doctor", "--from", "{w}/emptydir", words=("a folder, not a regular file",)),
    case("doctor", "--from", "/dev/zero", words=("a character device",)),
    case("doctor", "--from", "{w}/fifo", words=("FIFO",)),
    case("doctor", "--from", "{w}/binary.toml", words=("not UTF-8",)),
    case("doctor", "--from", "{w}/big.toml", words=("larger than",)),
    case("doctor", "--from", "{w}/empty.json", words=("empty",)),
    case("doctor", "--from", "{w}/not-json.json", words=("invalid JSON",)),
    case("doctor", "--from", "{w}/wrong-schema.json", words=("schema",)),
    case("doctor", "--from", "{w}/weird.txt", words=("collect_env",)),
    case("doctor", "--from", "{w}/array.json", words=("not a `torchlab doctor --json` report",)),
    case("doctor", "--from", "{w}/nul.toml", words=("binary",)),
    case("bench", "--compare", "{w}/nowhere", "{w}/nowhere", words=("cannot read it",)),
    case("bench", "--compare", "/dev/zero", "/dev/zero", words=("character device",)),
    case("bench", "--compare", "{w}/fifo", "{w}/fifo", words=("FIFO",)),
    case("bench", "--compare", "{w}/not-json.json", "{w}/bench-ok.json", words=("not a JSON document",)),
    case("bench", "--compare", "{w}/wrong-schema.json", "{w}/bench-ok.json", words=("schema 'torchlab.doctor/1' is not",)),
    case("bench", "--compare", "{w}/bench-results-text.json", "{w}/bench-ok.json", words=('"results" is not a list',)),
    case("bench", "--compare", "{w}/bench-no-kind.json", "{w}/bench-ok.json", words=('has no "kind"',)),
    case("bench", "--compare", "{w}/bench-text-value.json", "{w}/bench-ok.json", words=("results[0].value",)),
    case("bench", "--compare", "{w}/bench-no-device.json", "{w}/bench-ok.json", words=('"device"',)),
    case("bench", "--compare", "", "{w}/bench-ok.json", words=("empty",)),
    case("bench", "--plot", "", words=("--plot '': empty",)),
    case("bench", "--plot", "{w}/emptydir", words=("--plot",)),
]


def all_cases() -> list[Case]:
    return setting_cases() + config_cases() + USAGE + LABS + PATHS


CASES = all_cases()


# --- the world the cases point at ------------------------------------------------------------------

BENCH_OK = '{"schema": "torchlab.bench/1", "device": {"name": "cpu", "kind": "cpu"}, "results": []}'
FILES: dict[str, bytes] = {
    "afile": b"a file\n",
    "binary.toml": b"\xff\xfe\xfa binary \x80\x81",
    "utf16-without-bom.toml": 'registry = "x"'.encode("utf-16-le"),
    "nul.toml": b'registry = "x"\x00\n',
    "not-toml.toml": b"registry = \n[[\n",
    "unknown.toml": b'colour = "blue"\n',
    "number.toml": b"registry = 3\n",
    "bad-registry.toml": b'registry = "::bad"\n',
    "bad-base-image.toml": b'base_image = "Debian:12"\n',
    "empty.json": b"",
    "not-json.json": b'{"schema": "torchlab.doctor/1", oops',
    "wrong-schema.json": b'{"schema": "torchlab.doctor/1", "results": []}',
    "weird.txt": b"hello, this is no report\n",
    "array.json": b"[1, 2, 3]",
    "bench-ok.json": BENCH_OK.encode(),
    "bench-results-text.json": b'{"schema": "torchlab.bench/1", "device": {}, "results": "fast"}',
    "bench-no-kind.json": b'{"schema": "torchlab.bench/1", "device": {}, "results": [{"value": 1}]}',
    "bench-text-value.json": b'{"schema": "torchlab.bench/1", "device": {}, "results": [{"kind": "matmul", "value": "x"}]}',
    "bench-no-device.json": b'{"schema": "torchlab.bench/1", "device": "cpu", "results": []}',
    "notempty/thesis.tex": b"precious",
    "broken-labs/module-9/lab.toml": b'id = "module-9"\ntitle = 3\n',
}


def make_world(root: Path) -> None:
    for name, data in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "bad-data-dir.toml").write_text(f'data_dir = "{root / "afile"}"\n', encoding="utf-8")
    (root / "big.toml").write_bytes(b"# " + b"x" * (5 * 1024 * 1024) + b"\n")
    (root / "emptydir").mkdir()
    (root / "broken-labs" / "module-9" / "workspace").mkdir()
    os.mkfifo(root / "fifo")
    (root / "home").mkdir()


def environment(root: Path, extra: tuple[tuple[str, str], ...]) -> dict[str, str]:
    # A machine without Docker (no engine, no docker command): nothing here may wait on an engine.
    env = {"PATH": str(Path(sys.executable).parent), "HOME": str(root / "home"), "NO_COLOR": "1", "COLUMNS": "200",
           "TORCHLAB_CONFIG": str(root / "no-config.toml"), "TORCHLAB_DATA_DIR": str(root / "data"),
           "DOCKER_HOST": f"unix://{root}/no-engine.sock"}
    env.update({key: value.replace("{w}", str(root)) for key, value in extra})
    return {key: value for key, value in env.items() if value}  # "": not set at all


@dataclass(frozen=True)
class Outcome:
    code: int | None
    stdout: str
    stderr: str
    seconds: float


def run_case(root: Path, item: Case) -> Outcome:
    argv = [sys.executable, "-m", "torchlab", *(arg.replace("{w}", str(root)) for arg in item.args)]
    started = time.monotonic()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace", env=environment(root, item.env),
                              cwd=str(root / "home"), timeout=KILL_S, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as exc:
        return Outcome(None, str(exc.stdout or ""), f"killed after {KILL_S:g} s: {exc.stderr or ''}", KILL_S)
    return Outcome(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


@pytest.fixture(scope="module")
def outcomes() -> dict[Case, Outcome]:
    """Every case, run three at a time (each waits mostly on Python's start-up)."""
    root = Path(tempfile.mkdtemp(prefix="torchlab-bad-input-"))
    make_world(root)
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            results = dict(zip(CASES, pool.map(lambda item: run_case(root, item), CASES)))
        yield results
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_the_table_is_large_and_covers_every_command_and_setting() -> None:
    assert len(CASES) >= 150 and len(set(CASES)) == len(CASES)
    commands = {item.args[0] for item in CASES if item.args and not item.args[0].startswith("-")}
    assert {"doctor", "labs", "up", "down", "status", "logs", "shell", "smoke", "bench", "images", "config"} <= commands
    variables = {key for item in CASES for key, _ in item.env}
    assert {f"TORCHLAB_{name.upper()}" for name in
            ("data_dir", "labs_dir", "registry", "base_image", "index_url", "wheelhouse", "ca_bundle", "config")} <= variables


@pytest.mark.parametrize("item", CASES, ids=[item.id for item in CASES])
def test_bad_input_is_one_line_with_its_exit_code(outcomes: dict[Case, Outcome], item: Case) -> None:
    got = outcomes[item]
    lines = got.stderr.strip().splitlines()
    assert "Traceback" not in got.stderr, got.stderr[-3000:]
    assert got.code == item.code, f"exit {got.code}: {got.stderr[-1500:]}"
    assert len(lines) == 1 and lines[0].startswith("torchlab: error: "), got.stderr[-1500:]
    assert got.stdout == ""
    assert got.seconds < BOUND_S, f"took {got.seconds:.1f} s"
    for word in item.words:
        assert word in lines[0], lines[0]


def first_unprivileged_port() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_unprivileged_port_start").read_text())
    except (OSError, ValueError):
        return 1024


def test_a_privileged_port_is_named_as_such_for_a_native_lab() -> None:
    """--port below the first unprivileged port, as a non-root user: not "in use" but a port only
    root may listen on; said before any environment is made."""
    first = first_unprivileged_port()
    if first <= 1:
        pytest.skip(f"this kernel lets every user listen on any port (ip_unprivileged_port_start={first})")
    from upkit import make_torchlab, remove_home  # noqa: PLC0415

    learner = make_torchlab("torchlab-port-", with_docker=False)
    try:
        if learner.uid is None and os.geteuid() == 0:
            pytest.skip("root listens anywhere, and there is no unprivileged user to run as (setpriv)")
        started = time.monotonic()
        done = learner.run("up", "module-0", "--runtime", "native", "--port", str(first - 1), timeout=120)
    finally:
        remove_home(learner.home)
    line = done.stderr.strip().splitlines()[-1]
    assert done.returncode == 2, done.stderr
    assert line.startswith(f"torchlab: error: --port {first - 1}: a privileged port") and "in use" not in line
    assert time.monotonic() - started < BOUND_S and "installing" not in done.stderr
