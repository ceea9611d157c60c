"""`torchlab classroom` on the real engine, as a TA runs it (an unprivileged user in the docker group
where the tests run as root): a real JupyterHub with DockerSpawner and configurable-http-proxy,
three seats of module-1 from the session's CPU lab image, each answering through the proxy with its
own token and refusing the others', each proven by its smoke checks; the protections of `up` in
every seat; seats that cannot reach each other; and the faults: a seat killed, the hub killed, the
port taken, two `up` at once, no Docker engine. All traffic stays on this machine (loopback and
the class's own bridge network).

One class serves the module (it takes a minute to start); the tests that change it run in order.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import stat
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from torchlab import engine
from torchlab.classroom.hub import cullers_of, running_hub, stop_hub, stop_leftovers
from torchlab.classroom.state import class_paths, read_hub_record
from torchlab.decide.runspec import short_hash
from torchlab.runtimes.ports import free_port

from conftest import missing, need_module
from test_up_docker import lab_settings  # noqa: F401 - the session's CPU lab image, built as `up`'s tests build it
from upkit import Torchlab, learner_home, make_torchlab, remove_home, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]
SEATS = ("seat-01", "seat-02", "seat-03")


@dataclass
class Class:
    torchlab: Torchlab
    doc: dict
    port: int

    @property
    def hub_url(self) -> str:
        return self.doc["hub_url"]

    def token(self, seat: str) -> str:
        return next(s["token"] for s in self.doc["seats"] if s["name"] == seat)

    def password(self, seat: str) -> str:
        return next(s["password"] for s in self.doc["seats"] if s["name"] == seat)

    @property
    def state_dir(self) -> Path:
        return self.torchlab.data_dir / "classroom"

    def container(self, seat: str) -> str:
        return f"torchlab-seat-{short_hash(str(self.torchlab.data_dir))}-{seat}"

    def hub_pid(self) -> int:
        return json.loads((self.state_dir / "hub" / "hub.json").read_text())["pid"]


def need_the_hub() -> None:
    need_module("jupyterhub", "pip install 'torchlab[classroom]'")
    need_module("dockerspawner", "pip install 'torchlab[classroom]'")
    need_module("jupyterhub_idle_culler", "pip install 'torchlab[classroom]'")
    if shutil.which("configurable-http-proxy") is None:
        missing("configurable-http-proxy is not installed (npm install -g configurable-http-proxy; .ci/run does)")


def seat_uid(torchlab: Torchlab) -> int:
    if torchlab.uid is not None:
        return torchlab.uid
    return 1000 if os.geteuid() == 0 else os.geteuid()


def tear_down(client, torchlab: Torchlab) -> None:
    """`classroom down`, then whatever a failed test left: the hub's processes, containers, volumes."""
    torchlab.run("classroom", "down", timeout=300)
    paths = class_paths(torchlab.data_dir)
    hub, dead = running_hub(paths), read_hub_record(paths)
    if hub is not None:
        stop_hub(hub)
    if dead is not None:
        stop_leftovers(paths, dead)
    for state in engine.find_containers(client, {"torchlab.classroom": str(torchlab.data_dir)}):
        with contextlib.suppress(*engine.ENGINE_ERRORS):
            client.containers.get(state.id).remove(force=True)
    prefix = f"torchlab-seat-{short_hash(str(torchlab.data_dir))}"
    for volume in client.volumes.list(filters={"name": prefix}):
        with contextlib.suppress(*engine.ENGINE_ERRORS):
            volume.remove(force=True)
    remove_home(torchlab.home)


@pytest.fixture(scope="module")
def classroom(docker_engine, lab_settings):  # noqa: F811 - the fixture imported above
    need_the_hub()
    torchlab = make_torchlab("torchlab-class-", with_docker=True, **lab_settings["settings"])
    port = free_port()
    try:
        done, doc = torchlab.json("classroom", "up", "module-1", "--seats", str(len(SEATS)), "--port", str(port),
                                  timeout=1200)
        assert done.returncode == 0, done.stderr[-4000:]
        assert "Traceback" not in done.stderr
        yield Class(torchlab, doc, port)
    finally:
        tear_down(docker_engine, torchlab)


# --- HTTP as a learner's browser or script speaks it -----------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 302 is an answer to look at, not to follow
        return None


def get(url: str, token: str | None = None, opener=None, method: str = "GET", timeout: float = 10) -> int | None:
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with (opener or urllib.request.build_opener(NoRedirect)).open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def login(hub_url: str, name: str, password: str):
    """POST the hub's login form (with its _xsrf) through the proxy: (status, a browser with its cookies)."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect)
    page = browser.open(f"{hub_url}/hub/login", timeout=10).read().decode()
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": name, "password": password, "_xsrf": xsrf}).encode()
    try:
        with browser.open(urllib.request.Request(f"{hub_url}/hub/login", data=form), timeout=30) as response:
            return response.status, browser
    except urllib.error.HTTPError as exc:
        return exc.code, browser


def status_doc(torchlab: Torchlab) -> dict:
    done, doc = torchlab.json("classroom", "status", timeout=120)
    assert done.returncode == 0, done.stderr
    return doc


def seat_row(doc: dict, seat: str) -> dict:
    return next(row for row in doc["seats"] if row["name"] == seat)


def in_seat(client, container: str, code: str) -> tuple[int, str]:
    """Run Python in the seat's container, as its user (what a learner can do from a notebook)."""
    state = engine.get_container(client, container)
    exit_code, out, err = engine.exec_in_container(client, container, ["/opt/torchlab/venv/bin/python", "-c", code],
                                                   state.user, "/tmp")
    return exit_code, out + err


# --- Done when: three seats, each through the proxy with its own token only ------------------------


def test_every_seat_answers_through_the_proxy_with_its_own_token_and_passed_its_smoke(classroom):
    doc = classroom.doc
    assert (doc["schema"], doc["lab"], doc["hub_url"]) == ("torchlab.classroom/1", "module-1",
                                                           f"http://127.0.0.1:{classroom.port}")
    assert [seat["name"] for seat in doc["seats"]] == list(SEATS)
    for seat in doc["seats"]:
        assert seat["state"] == "running" and seat["gpu"] == "none"
        assert seat["smoke"]["status"] == "passed" and seat["smoke"]["device"] == "cpu"
        assert {check["status"] for check in seat["smoke"]["checks"]} <= {"pass", "skip"}
        assert seat["url"] == f"{classroom.hub_url}/user/{seat['name']}/lab"
    assert len({seat["token"] for seat in doc["seats"]}) == len({seat["password"] for seat in doc["seats"]}) == len(SEATS)
    for owner in SEATS:
        for seat in SEATS:
            expected = 200 if owner == seat else 403
            assert get(f"{classroom.hub_url}/user/{seat}/api/status", classroom.token(owner)) == expected, (owner, seat)
            assert get(f"{classroom.hub_url}/user/{seat}/api/contents/", classroom.token(owner)) == expected, (owner, seat)
        assert get(f"{classroom.hub_url}/user/{owner}/api/status") == 403


def test_status_shows_each_seats_user_gpu_state_activity_and_smoke(classroom):
    record = read_hub_record(class_paths(classroom.torchlab.data_dir))
    assert len(cullers_of(record)) == 1  # the idle culler runs, as a service of this hub
    doc = status_doc(classroom.torchlab)
    assert doc["class"]["hub"] == "running" and doc["class"]["lab"] == "module-1"
    uid = seat_uid(classroom.torchlab)
    for seat in SEATS:
        row = seat_row(doc, seat)
        assert (row["user"], row["gpu"], row["state"], row["container"], row["smoke"]) == (
            f"{uid}:{uid}", "none", "running", "running", "passed")
        assert row["last_activity"]


def test_the_logins_are_shown_again_from_private_files_and_the_hub_keeps_only_hashes(classroom):
    done, doc = classroom.torchlab.json("classroom", "seats")
    assert done.returncode == 0
    assert [(s["name"], s["password"], s["token"]) for s in doc["seats"]] == [
        (s["name"], s["password"], s["token"]) for s in classroom.doc["seats"]]
    hub = classroom.state_dir / "hub"
    assert stat.S_IMODE(hub.stat().st_mode) == 0o700
    for name in ("logins.json", "seat-passwords.json", "service-token", "hub.json"):
        assert stat.S_IMODE((hub / name).stat().st_mode) == 0o600, name
    hashes = (hub / "seat-passwords.json").read_text()
    config = (hub / "jupyterhub_config.py").read_text()
    for seat in classroom.doc["seats"]:
        assert seat["password"] not in hashes and seat["password"] not in config and seat["token"] not in config


def test_each_seat_logs_in_with_its_own_password_only(classroom):
    assert login(classroom.hub_url, "seat-01", classroom.password("seat-01"))[0] == 302
    assert login(classroom.hub_url, "seat-01", classroom.password("seat-02"))[0] == 403
    assert login(classroom.hub_url, "seat-01", "")[0] == 403
    assert login(classroom.hub_url, "ta", classroom.password("seat-01"))[0] == 403


# --- security ------------------------------------------------------------------------------------------


def test_the_hub_api_needs_a_token_and_a_seats_token_reaches_only_its_seat(classroom):
    api = f"{classroom.hub_url}/hub/api"
    assert get(f"{api}/") == 200  # the version, for anyone
    assert get(f"{api}/users") == 403 and get(f"{api}/users", "not-a-token") == 403
    mine = classroom.token("seat-01")
    assert get(f"{api}/users/seat-01", mine) == 200
    assert get(f"{api}/users/seat-02", mine) in (403, 404)
    assert get(f"{api}/users/seat-02/server", mine, method="POST") in (403, 404)
    assert get(f"{api}/users/seat-02/server", mine, method="DELETE") in (403, 404)
    assert get(f"{api}/users/seat-02/tokens", mine, method="POST") in (403, 404)


def test_the_seats_keep_the_protections_of_up_and_publish_nothing(docker_engine, classroom):
    uid = seat_uid(classroom.torchlab)
    networks = set()
    for seat in SEATS:
        attrs = docker_engine.api.inspect_container(classroom.container(seat))
        host = attrs["HostConfig"]
        assert attrs["Config"]["User"] == f"{uid}:{uid}" and uid != 0
        assert host["Privileged"] is False and host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
        assert host["ShmSize"] == 2 * 1024**3 and host["Init"] is True
        assert not host.get("PortBindings") and all(not bound for bound in attrs["NetworkSettings"]["Ports"].values())
        mounts = {(m["Type"], m.get("Name") or m["Source"], m["Destination"]) for m in attrs["Mounts"]}
        assert mounts == {("bind", str(classroom.state_dir / "seats" / seat), "/home/learner/work"),
                          ("volume", f"{classroom.container(seat)}-home", "/home/learner")}
        assert not any("docker.sock" in m["Source"] for m in attrs["Mounts"])
        networks |= set(attrs["NetworkSettings"]["Networks"])
    [network] = networks
    assert docker_engine.api.inspect_network(network)["Options"]["com.docker.network.bridge.enable_icc"] == "false"


REACH = """
import json, os, socket, urllib.error, urllib.request
out = {}
try:
    socket.create_connection((%r, 8888), timeout=3).close()
    out["other_seat"] = "connected"
except OSError as exc:
    out["other_seat"] = type(exc).__name__
api = os.environ["JUPYTERHUB_API_URL"]
for path in ("/user", "/users/seat-02"):
    request = urllib.request.Request(api + path, headers={"Authorization": "token %s"})
    try:
        out[path] = urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as exc:
        out[path] = exc.code
print(json.dumps(out))
"""


def test_a_seat_cannot_reach_another_seat_over_the_network(docker_engine, classroom):
    other = engine.container_ip(docker_engine, classroom.container("seat-02"), next(iter(
        docker_engine.api.inspect_container(classroom.container("seat-02"))["NetworkSettings"]["Networks"])))
    code, out = in_seat(docker_engine, classroom.container("seat-01"), REACH % (other, classroom.token("seat-01")))
    assert code == 0, out
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["other_seat"] in ("timeout", "TimeoutError", "ConnectionRefusedError"), seen  # inter-container traffic is off
    assert seen["/user"] == 200  # the hub is reachable, and takes the seat's own token
    assert seen["/users/seat-02"] in (403, 404)  # ... for its own seat only
    host = get(f"http://{other}:8888/user/seat-02/api/status", classroom.token("seat-01"))
    assert host == 403  # from the host, the server itself refuses a token not its seat's


# --- faults ---------------------------------------------------------------------------------------------


def test_a_killed_seat_is_noticed_and_its_next_login_respawns_it_with_the_work_intact(docker_engine, classroom):
    name = classroom.container("seat-01")
    code, out = in_seat(docker_engine, name, "import pathlib; pathlib.Path('/home/learner/work/mine.txt').write_text('kept');"
                                             "pathlib.Path('/home/learner/.mine').write_text('kept home')")
    assert code == 0, out
    before = engine.get_container(docker_engine, name).id
    docker_engine.containers.get(name).kill()
    noticed = wait_until(lambda: seat_row(status_doc(classroom.torchlab), "seat-01")["state"] == "stopped", timeout=90, step=3)
    assert noticed, "the hub did not notice the killed seat"
    assert get(f"{classroom.hub_url}/user/seat-01/api/status", classroom.token("seat-01")) != 200

    status, browser = login(classroom.hub_url, "seat-01", classroom.password("seat-01"))
    assert status == 302
    assert get(f"{classroom.hub_url}/hub/spawn", opener=browser) == 302  # the login's next step: spawn
    assert wait_until(lambda: get(f"{classroom.hub_url}/user/seat-01/api/status", classroom.token("seat-01")) == 200,
                      timeout=180, step=1), "seat-01 did not come back"
    after = engine.get_container(docker_engine, name)
    assert after.id != before and after.status == "running"
    code, out = in_seat(docker_engine, name, "import pathlib; print(pathlib.Path('/home/learner/work/mine.txt').read_text(),"
                                             "pathlib.Path('/home/learner/.mine').read_text())")
    assert (code, out.strip()) == (0, "kept kept home")
    assert seat_row(status_doc(classroom.torchlab), "seat-01")["smoke"].startswith("stale")


def proxies_on(port: int) -> list[int]:
    return [p.pid for p in psutil.process_iter(["cmdline"])
            if "configurable-http-proxy" in " ".join(p.info["cmdline"] or []) and str(port) in (p.info["cmdline"] or [])]


def test_a_killed_hub_is_started_again_and_adopts_the_running_seats(docker_engine, classroom):
    ids = {seat: engine.get_container(docker_engine, classroom.container(seat)).id for seat in SEATS}
    os.kill(classroom.hub_pid(), signal.SIGKILL)
    assert wait_until(lambda: seat_row(status_doc(classroom.torchlab), "seat-02")["state"] == "unknown", timeout=30)

    done, doc = classroom.torchlab.json("classroom", "up", "module-1", "--seats", str(len(SEATS)), "--port",
                                        str(classroom.port), timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "starting it again" in done.stderr and doc["already_running"] is False
    assert {seat: engine.get_container(docker_engine, classroom.container(seat)).id for seat in SEATS} == ids
    labelled = engine.find_containers(docker_engine, {"torchlab.classroom": str(classroom.torchlab.data_dir)})
    assert sorted(state.name for state in labelled) == sorted(classroom.container(seat) for seat in SEATS)
    assert [(s["state"], s["smoke"]["status"]) for s in doc["seats"]] == [("running", "passed")] * len(SEATS)
    assert [s["token"] for s in doc["seats"]] == [classroom.token(seat) for seat in SEATS]  # the same logins
    for owner in SEATS:
        for seat in SEATS:
            expected = 200 if owner == seat else 403
            assert get(f"{classroom.hub_url}/user/{seat}/api/status", classroom.token(owner)) == expected
    assert len(proxies_on(classroom.port)) == 1  # the killed hub's proxy was stopped, not left beside the new one


def test_up_again_proves_the_running_class_and_spawns_nothing(docker_engine, classroom):
    ids = {seat: engine.get_container(docker_engine, classroom.container(seat)).id for seat in SEATS}
    done, doc = classroom.torchlab.json("classroom", "up", "module-1", "--seats", str(len(SEATS)), "--port",
                                        str(classroom.port), timeout=600)
    assert done.returncode == 0 and doc["already_running"] is True, done.stderr[-2000:]
    assert {seat: engine.get_container(docker_engine, classroom.container(seat)).id for seat in SEATS} == ids
    done = classroom.torchlab.run("classroom", "up", "module-2", "--seats", "3", timeout=120)
    assert done.returncode == 2 and "classroom down` first" in done.stderr


def test_a_taken_port_is_refused_and_nothing_starts(docker_engine, lab_settings):  # noqa: F811
    need_the_hub()
    torchlab = make_torchlab("torchlab-class-port-", with_docker=True, **lab_settings["settings"])
    try:
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            done = torchlab.run("classroom", "up", "module-1", "--seats", "1", "--port", str(port), timeout=300)
        assert done.returncode == 2, done.stderr
        assert f"--port {port}: 127.0.0.1:{port} is in use" in done.stderr and "Traceback" not in done.stderr
        assert not (torchlab.data_dir / "classroom" / "hub" / "hub.json").exists()
        assert engine.find_containers(docker_engine, {"torchlab.classroom": str(torchlab.data_dir)}) == []
    finally:
        tear_down(docker_engine, torchlab)


def test_no_docker_engine_is_said_with_its_fix_and_the_network_warning_comes_first(docker_engine):
    need_the_hub()
    home = learner_home("torchlab-class-noengine-")
    try:
        torchlab = Torchlab(home, extra_env={"DOCKER_HOST": f"unix://{home / 'none.sock'}"})
        done = torchlab.run("classroom", "up", "module-1", "--seats", "2", "--listen", "0.0.0.0", "--insecure-http",
                            "--port", str(free_port()), timeout=300)
        assert done.returncode == 3, done.stderr
        assert "The Docker daemon is not running" in done.stderr and "Traceback" not in done.stderr
        assert "warning: --insecure-http: the hub listens on 0.0.0.0" in done.stderr
        assert not (torchlab.data_dir / "classroom" / "hub").exists()
    finally:
        remove_home(home)


def test_two_ups_at_once_start_one_class(docker_engine, lab_settings):  # noqa: F811
    need_the_hub()
    torchlab = make_torchlab("torchlab-class-twice-", with_docker=True, **lab_settings["settings"])
    port = free_port()
    try:
        args = ("classroom", "up", "module-1", "--seats", "1", "--port", str(port), "--no-smoke", "--json")
        first, second = torchlab.start(*args), torchlab.start(*args)
        outputs = [process.communicate(timeout=900) for process in (first, second)]
        assert [first.returncode, second.returncode] == [0, 0], [err[-2000:] for _, err in outputs]
        docs = [json.loads(out) for out, _ in outputs]
        assert sorted(doc["already_running"] for doc in docs) == [False, True]
        assert docs[0]["seats"][0]["token"] == docs[1]["seats"][0]["token"]
        assert any("waiting for it" in err for _, err in outputs)
        assert len(engine.find_containers(docker_engine, {"torchlab.classroom": str(torchlab.data_dir)})) == 1
        assert len(proxies_on(port)) == 1
    finally:
        tear_down(docker_engine, torchlab)


# --- down (last: it ends the module's class) --------------------------------------------------------------


def test_down_stops_the_hub_and_the_seats_and_keeps_their_volumes_and_work(docker_engine, classroom):
    pid = classroom.hub_pid()
    done, doc = classroom.torchlab.json("classroom", "down", timeout=300)
    assert done.returncode == 0, done.stderr
    assert engine.find_containers(docker_engine, {"torchlab.classroom": str(classroom.torchlab.data_dir)}) == []
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert proxies_on(classroom.port) == []
    for seat in SEATS:
        assert docker_engine.volumes.get(f"{classroom.container(seat)}-home")
    assert (classroom.state_dir / "seats" / "seat-01" / "mine.txt").read_text() == "kept"
    assert not (classroom.state_dir / "hub").exists()  # the logins end with the class
    assert status_doc(classroom.torchlab)["class"] is None
    assert get(f"{classroom.hub_url}/hub/api/") is None
