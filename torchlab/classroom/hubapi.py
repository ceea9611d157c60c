"""The hub's REST API (JupyterHub's /hub/api), spoken with urllib: torchlab acts as a service
with its own token and only the scopes it needs (hubconfig.SERVICE_SCOPES). And a seat's own
server, asked through the proxy with that seat's token, as a learner's browser or script would."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 30.0


class HubApiError(Exception):
    """The hub refused a request, or did not answer; status is None when it did not answer."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def tls_context(cafile: str | None) -> ssl.SSLContext | None:
    """For a hub on https with the TA's own certificate: trust that certificate too."""
    if cafile is None:
        return None
    context = ssl.create_default_context()
    context.load_verify_locations(cafile)
    context.check_hostname = False
    return context


def request(url: str, token: str | None = None, method: str = "GET", body: Any = None,
            timeout: float = TIMEOUT_S, context: ssl.SSLContext | None = None) -> tuple[int, bytes]:
    """(status, body) of one HTTP request; HubApiError(status None) when nothing answers."""
    data = json.dumps(body).encode("utf-8") if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"token {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as response:  # noqa: S310 - our hub
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        raise HubApiError(f"{method} {url}: no answer ({getattr(exc, 'reason', exc)})") from None


def status_of(url: str, token: str | None = None, context: ssl.SSLContext | None = None, timeout: float = 10.0) -> int | None:
    """The HTTP status of a GET, or None when nothing answers."""
    try:
        return request(url, token, timeout=timeout, context=context)[0]
    except HubApiError:
        return None


def hub_answers(api_url: str) -> bool:
    """The hub's API says its version (no token needed for that)."""
    return status_of(api_url.rstrip("/") + "/", timeout=2.0) == 200


def seat_url(hub_url: str, seat: str) -> str:
    return f"{hub_url.rstrip('/')}/user/{urllib.parse.quote(seat)}/"


def seat_status(hub_url: str, seat: str, token: str | None, context: ssl.SSLContext | None = None) -> int | None:
    """GET <hub>/user/<seat>/api/status through the proxy: 200 when the seat's server takes the token."""
    return status_of(seat_url(hub_url, seat) + "api/status", token, context)


@dataclass(frozen=True)
class HubApi:
    url: str  # http://<hub>/hub/api
    token: str

    def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200, 201, 202, 204)) -> Any:
        status, data = request(f"{self.url.rstrip('/')}{path}", self.token, method, body)
        if status not in ok:
            raise HubApiError(f"{method} {path}: {status} {hub_message(data)}", status)
        return json.loads(data) if data.strip() else None

    def user(self, name: str) -> dict[str, Any] | None:
        try:
            return self.call("GET", f"/users/{name}")
        except HubApiError as exc:
            if exc.status == 404:
                return None
            raise

    def users(self) -> list[dict[str, Any]]:
        return self.call("GET", "/users")

    def ensure_users(self, names: list[str]) -> None:
        missing = [name for name in names if self.user(name) is None]
        if missing:
            self.call("POST", "/users", {"usernames": missing})

    def new_token(self, name: str, note: str) -> str:
        return self.call("POST", f"/users/{name}/tokens", {"note": note})["token"]

    def start_server(self, name: str) -> None:
        self.call("POST", f"/users/{name}/server", ok=(201, 202, 400))  # 400: already running or pending

    def stop_server(self, name: str) -> None:
        self.call("DELETE", f"/users/{name}/server", ok=(202, 204, 400))  # 400: not running


def hub_message(data: bytes) -> str:
    try:
        return str(json.loads(data).get("message", "")) or data.decode(errors="replace")[:200]
    except (ValueError, AttributeError):
        return data.decode(errors="replace")[:200]


def server_state(user: dict[str, Any] | None) -> str:
    """running | starting | stopping | stopped, as the hub says of the seat's server."""
    server = ((user or {}).get("servers") or {}).get("")
    if not server:
        return "stopped"
    if server.get("pending") == "stop":
        return "stopping"
    if server.get("ready"):
        return "running"
    return "starting"


def wait_for_servers(api: HubApi, names: list[str], timeout_s: float) -> dict[str, str]:
    """Poll until every seat's server is running, or has stopped (a failed spawn); their states."""
    deadline = time.monotonic() + timeout_s
    states = {name: "starting" for name in names}
    while time.monotonic() < deadline:
        states = {name: server_state(api.user(name)) for name in names}
        if all(state in ("running", "stopped") for state in states.values()):
            return states
        time.sleep(0.5)
    return states
