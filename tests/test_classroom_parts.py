"""The classroom's pure parts, from real recorded outputs: GPUs spread over seats (whole devices
round-robin, MIG instances), per-seat password hashes and the hub's own authenticator checking
them, the hub configuration JupyterHub reads, who may listen where, and the one-line refusals of
`torchlab classroom` that need no engine. The real hub and seats: tests/test_classroom_docker.py."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from torchlab.classroom.access import Access, check_access
from torchlab.classroom.gpus import (
    NO_GPU, GpuSlot, assign, docker_gpu, gpu_slots, parse_gpus_option, seat_names,
)
from torchlab.classroom.hubconfig import HubFiles, HubPlan, hub_settings, render_config
from torchlab.classroom.logins import hash_password, new_password, password_matches
from torchlab.classroom.seatimage import seat_image_name, seat_recipe
from torchlab.cli import app
from torchlab.decide.runspec import LabTarget, build_runspec
from torchlab.errors import UserError
from torchlab.facts import AmdFacts, HostFacts, OSFacts
from torchlab.probe.amd import amd_gpu_from_kfd
from torchlab.probe.nvidia import parse_smi_xml
from torchlab.probe.nvidia_smi import parse_smi_csv, parse_smi_list, parse_smi_table

from conftest import need_module, one_line_error
from recorded import fixture_text

LINUX = OSFacts("Linux", "Ubuntu 22.04.5 LTS", "22.04", "ubuntu", arch="x86_64")


def nvidia_host(parse, fixture: str) -> HostFacts:
    return HostFacts(os=LINUX, nvidia=parse(fixture_text(fixture)))


def eight_h100() -> HostFacts:
    return nvidia_host(parse_smi_table, "nvidia-smi_8xH100-SXM_565.57.01.txt")


def mi210_host() -> HostFacts:
    gpu = amd_gpu_from_kfd(2, fixture_text("kfd-properties_MI210_node2-gpu-gfx90a.txt"), 0)
    return HostFacts(os=LINUX, amd=AmdFacts(source="kfd", gpus=(gpu,)))


# --- GPUs over seats -----------------------------------------------------------------------------


def test_seat_names_sort_as_they_read():
    assert seat_names(3) == ("seat-01", "seat-02", "seat-03")
    assert seat_names(120)[-1] == "seat-120" and seat_names(120)[8] == "seat-009"


@pytest.mark.parametrize("text,expected", [("all", "all"), ("NONE", "none"), ("0", (0,)), ("3, 1,1", (1, 3))])
def test_the_gpus_option(text, expected):
    assert parse_gpus_option(text) == expected


@pytest.mark.parametrize("text", ["", "first", "0,-1", "1;2"])
def test_a_bad_gpus_option_is_one_line(text):
    with pytest.raises(UserError) as caught:
        parse_gpus_option(text)
    assert caught.value.exit_code == 2 and caught.value.format_message().startswith(f"--gpus {text}: expected")


def test_twelve_seats_share_four_of_eight_h100s_round_robin():
    slots = gpu_slots(eight_h100(), (0, 1, 2, 3))
    seats = assign(seat_names(12), slots)
    assert [seat.gpu.device for seat in seats] == ["0", "1", "2", "3"] * 3
    assert seats[5].gpu.name == "GPU 1 (NVIDIA H100 80GB HBM3)" and seats[5].gpu.kind == "nvidia"


def test_a_gpu_the_host_lacks_is_refused_naming_the_ones_it_has():
    with pytest.raises(UserError) as caught:
        gpu_slots(nvidia_host(parse_smi_table, "nvidia-smi_2xRTX3090_560.35.03.txt"), (1, 2))
    assert caught.value.format_message() == (
        "--gpus 1,2: this host has no GPU 2 (its GPUs: 0, 1); expected all, none, or some of those")


def test_a_whole_gpu_is_requested_by_its_uuid():
    slots = gpu_slots(nvidia_host(parse_smi_xml, "nvidia-smi-q-x_RTX3090_525.147.05.xml"), "all")
    [slot] = slots
    host, env = docker_gpu(slot)
    assert host == {"device_requests": [{"device_ids": [slot.device], "capabilities": [["gpu"]]}]}
    assert slot.device.startswith("GPU-") and env == {"NVIDIA_DRIVER_CAPABILITIES": "compute,utility"}


@pytest.mark.parametrize("query,listing,profiles", [
    ("nvidia-smi-query-gpu_H100-MIG_590.48.01.csv", "nvidia-smi-L_H100-MIG_590.48.01.txt",
     ["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"]),
    ("nvidia-smi-query-gpu_H200-MIG_590.48.01.csv", "nvidia-smi-L_H200-MIG_590.48.01.txt",
     ["1c.3g.71gb", "2c.3g.71gb", "2g.35gb", "1g.18gb", "1g.18gb"]),
])
def test_a_gpu_with_mig_on_gives_each_seat_a_mig_instance(query, listing, profiles):
    mig = parse_smi_list(fixture_text(listing))
    assert [device.profile for device in mig] == profiles and {device.gpu_index for device in mig} == {0}
    host = nvidia_host(parse_smi_csv, query)
    host = replace(host, nvidia=replace(host.nvidia, mig_devices=mig))
    seats = assign(seat_names(len(profiles) + 1), gpu_slots(host, "all"))
    assert [seat.gpu.kind for seat in seats] == ["nvidia-mig"] * (len(profiles) + 1)
    assert [seat.gpu.device for seat in seats] == [device.uuid for device in mig] + [mig[0].uuid]
    host, _ = docker_gpu(seats[1].gpu)
    assert host["device_requests"][0]["device_ids"] == [mig[1].uuid] and mig[1].uuid.startswith("MIG-")


def test_the_a30s_three_mig_instances_are_found_under_their_gpu():
    mig = parse_smi_list(fixture_text("nvidia-smi-L_A30-MIG_535.183.01.txt"))
    assert [(d.gpu_index, d.profile, d.uuid) for d in mig] == [
        (0, "2g.12gb", "MIG-1b8509c0-e60d-502d-8263-d434867998aa"),
        (0, "1g.6gb", "MIG-41b9eab5-8d48-5c52-9f07-82bc59af3901"),
        (0, "1g.6gb", "MIG-55dcd9bd-e6b1-549a-bcb4-0b0496bfee9c")]


def test_mig_on_without_instances_says_how_to_make_them():
    host = nvidia_host(parse_smi_csv, "nvidia-smi-query-gpu_H100-MIG_590.48.01.csv")
    with pytest.raises(UserError) as caught:
        gpu_slots(host, "all")
    assert "has MIG on but no MIG instances" in caught.value.format_message()
    assert "nvidia-smi mig -cgi" in caught.value.format_message()


def test_amd_gpus_are_spread_by_visible_device_with_the_rocm_devices():
    seats = assign(seat_names(2), gpu_slots(mi210_host(), "all"))
    assert [seat.gpu for seat in seats] == [GpuSlot("amd", "0", "GPU 0 (gfx90a)")] * 2
    host, env = docker_gpu(seats[0].gpu, (44, 992))
    assert host == {"devices": ["/dev/kfd:/dev/kfd:rwm", "/dev/dri:/dev/dri:rwm"], "group_add": ["44", "992"]}
    assert env == {"ROCR_VISIBLE_DEVICES": "0"}


def test_a_cpu_class_has_no_gpu_and_asks_for_none():
    assert assign(seat_names(2), gpu_slots(eight_h100(), "none")) == tuple(
        assign(seat_names(2), ()))
    assert {seat.gpu for seat in assign(seat_names(2), ())} == {NO_GPU}
    assert docker_gpu(NO_GPU) == ({}, {})


# --- logins -----------------------------------------------------------------------------------


def test_a_password_is_kept_only_as_a_salted_hash():
    password = new_password()
    record = hash_password(password)
    assert password not in json.dumps(record) and len(password) >= 16
    assert password_matches(password, record)
    assert not password_matches(password + "x", record)
    assert hash_password(password)["hash"] != record["hash"]  # a new salt each time
    assert not password_matches(password, {**record, "salt": "zz"}) and not password_matches(password, {})


def test_the_hubs_authenticator_takes_each_seats_own_password_only(tmp_path):
    need_module("jupyterhub", "pip install 'torchlab[classroom]'")
    from torchlab.classroom.hubside import SeatAuthenticator

    passwords = {"seat-01": new_password(), "seat-02": new_password()}
    store = tmp_path / "seat-passwords.json"
    store.write_text(json.dumps({name: hash_password(pw, rounds=1000) for name, pw in passwords.items()}))
    auth = SeatAuthenticator(passwords_file=str(store))
    login = lambda name, password: asyncio.run(auth.authenticate(None, {"username": name, "password": password}))  # noqa: E731
    assert login("seat-01", passwords["seat-01"]) == "seat-01"
    assert login("SEAT-02", passwords["seat-02"]) == "seat-02"  # JupyterHub's normalised name
    assert login("seat-01", passwords["seat-02"]) is None
    assert login("seat-03", passwords["seat-01"]) is None
    assert login("seat-01", "") is None


# --- the hub's configuration --------------------------------------------------------------------


def hub_plan(seats, tls=None) -> HubPlan:
    data = Path("/srv/torchlab")
    target = LabTarget("module-1", "1.0.1", "cuda-12.6", "cuda", data, data)
    spec = build_runspec(target, "torchlab/classroom-cuda-12.6:test", (1000, 1000), "", None, jupyter=False)
    files = HubFiles(*(f"/srv/torchlab/classroom/hub/{name}" for name in (
        "jupyterhub.sqlite", "cookie", "service-token", "seat-passwords.json", "hub.pid", "proxy.pid")))
    return HubPlan(lab="module-1", image=spec.image, seats=seats, protections=spec, files=files,
                   public_url="http://127.0.0.1:8000", hub_url="http://172.30.0.1:41234", proxy_api_port=41235,
                   proxy_command=("/usr/bin/configurable-http-proxy",), python="/usr/bin/python3",
                   network="torchlab-classroom-abc", prefix="torchlab-seat-abc", seats_dir="/srv/torchlab/classroom/seats",
                   labels={"torchlab.classroom": "/srv/torchlab"}, tls=tls)


def test_the_hub_config_carries_the_protections_of_up_and_no_secret():
    seats = assign(seat_names(3), gpu_slots(eight_h100(), (0, 1)))
    text = render_config(hub_plan(seats))
    compile(text, "jupyterhub_config.py", "exec")
    assert "'cap_drop': ['ALL']" in text and "'security_opt': ['no-new-privileges']" in text
    assert "'shm_size': '2g'" in text and "'privileged': False" in text and "'init': True" in text
    assert "'user': '1000:1000'" in text and "docker.sock" not in text
    assert "read_secret('/srv/torchlab/classroom/hub/service-token')" in text
    assert "'seat-01': {'device_requests': [{'device_ids': ['0']" in text
    assert "'seat-03': {'device_requests': [{'device_ids': ['0']" in text
    assert "'seat-02': {'device_requests': [{'device_ids': ['1']" in text


def test_the_hub_settings_keep_seats_unpublished_and_adoptable():
    settings = hub_settings(hub_plan(assign(seat_names(2), ())))
    spawner, hub = settings["DockerSpawner"], settings["JupyterHub"]
    assert spawner["use_internal_ip"] is True and spawner["network_name"] == "torchlab-classroom-abc"
    assert spawner["volumes"] == {"torchlab-seat-abc-{raw_username}-home": "/home/learner",
                                  "/srv/torchlab/classroom/seats/{raw_username}": "/home/learner/work"}
    assert hub["cleanup_servers"] is False and hub["bind_url"] == "http://127.0.0.1:8000"
    assert settings["Authenticator"]["allowed_users"] == ["seat-01", "seat-02"]
    scopes = {role["name"]: role["scopes"] for role in hub["load_roles"]}
    assert "admin:servers" in scopes["torchlab-classroom"] and "access:servers" not in scopes["torchlab-classroom"]
    assert scopes["torchlab-idle-culler"] == ["list:users", "read:users:activity", "read:servers", "delete:servers"]


def test_the_hub_config_takes_tls_files():
    settings = hub_settings(hub_plan(assign(seat_names(1), ()), tls=("/etc/ssl/hub.pem", "/etc/ssl/hub.key")))
    assert (settings["JupyterHub"]["ssl_cert"], settings["JupyterHub"]["ssl_key"]) == ("/etc/ssl/hub.pem", "/etc/ssl/hub.key")


def test_the_seat_image_is_the_lab_image_with_the_hubs_single_user_server():
    recipe = seat_recipe("torchlab/lab-cpu:0.1.0-abc", "5.2.1")
    assert recipe.startswith("# The seat image") and "FROM torchlab/lab-cpu:0.1.0-abc\n" in recipe
    assert '"jupyterhub==5.2.1"' in recipe and recipe.rstrip().endswith('CMD ["jupyterhub-singleuser"]')
    name = seat_image_name("torchlab/lab-cpu:0.1.0-abc", "cpu", "5.2.1")
    assert name.startswith("torchlab/classroom-cpu:0.1.0-") and name != seat_image_name("torchlab/lab-cpu:0.1.0-abd", "cpu", "5.2.1")
    assert seat_image_name("x", "cuda-12.6", "5.2.1", "127.0.0.1:5000/course/").startswith("127.0.0.1:5000/course/classroom-cuda-12.6:")


# --- where the hub listens ------------------------------------------------------------------------


def test_loopback_needs_nothing_more():
    assert check_access(Access()) is None and check_access(Access("::1", 9000)) is None


def test_the_network_needs_tls_or_an_explicit_insecure_http(tmp_path):
    with pytest.raises(UserError) as caught:
        check_access(Access("0.0.0.0"))
    assert caught.value.exit_code == 2 and "give --tls-cert FILE and --tls-key FILE, or --insecure-http" in str(caught.value)
    warning = check_access(Access("0.0.0.0", insecure_http=True))
    assert warning and warning.startswith("warning: --insecure-http:") and "clear text" in warning
    cert, key = tmp_path / "hub.pem", tmp_path / "hub.key"
    cert.write_text("pem"), key.write_text("key")
    access = Access("192.0.2.10", 443, str(cert), str(key))
    assert check_access(access) is None and access.bind_url == "https://192.0.2.10:443"
    with pytest.raises(UserError, match="expected both"):
        check_access(Access("0.0.0.0", tls_cert=str(cert)))
    with pytest.raises(UserError, match="--tls-key .*: expected a readable PEM file"):
        check_access(Access("0.0.0.0", tls_cert=str(cert), tls_key=str(tmp_path / "missing.key")))
    with pytest.raises(UserError, match="--listen hub.example: expected an IP address"):
        check_access(Access("hub.example"))


# --- the commands' refusals, before anything starts --------------------------------------------------


@pytest.fixture
def cli(tmp_path, monkeypatch):
    for name in [key for key in os.environ if key.startswith("TORCHLAB_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TORCHLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TORCHLAB_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-engine.sock'}")
    return lambda *args: CliRunner().invoke(app, ["classroom", *args])


@pytest.mark.parametrize("args,words", [
    (["up", "module-1", "--seats", "0"], ["--seats 0: expected a number of seats from 1 to"]),
    (["up", "module-1", "--seats", "2", "--gpus", "first"], ["--gpus first: expected all, none"]),
    (["up", "module-1", "--seats", "2", "--listen", "0.0.0.0"], ["--listen 0.0.0.0:", "--insecure-http"]),
    (["up", "module-1", "--seats", "2", "--listen", "0.0.0.0", "--tls-cert", "/nonexistent.pem", "--tls-key",
      "/nonexistent.key"], ["--tls-cert /nonexistent.pem: expected a readable PEM file"]),
    (["up", "module-99", "--seats", "2"], ["module-99"]),
    (["seats"], ["no class is set up here"]),
])
def test_bad_input_is_one_line_and_exit_2(cli, args, words):
    one_line_error(cli(*args), *words)


def test_status_and_down_without_a_class_say_so(cli):
    done = cli("status", "--json")
    assert done.exit_code == 0 and json.loads(done.stdout) == {"schema": "torchlab.classroom-status/1", "class": None, "seats": []}
    done = cli("down")
    assert done.exit_code == 0 and "no class is set up here" in done.stderr
