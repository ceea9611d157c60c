"""Is JupyterLab answering? Asked over HTTP on 127.0.0.1 with the lab's token, as a browser would."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

POLL_S = 0.05  # asking the port is cheap (refused at once until the server listens)
WATCH_S = 1.0  # asking the runtime whether the server has gone is not (an engine round trip)


def http_status(url: str, token: str | None = None, timeout: float = 1.0) -> int | None:
    """The HTTP status of a GET (with the token as Jupyter's Authorization header); None: no answer."""
    headers = {"Authorization": f"token {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own http URL
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError):
        return None


def api_status_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/api/status"


def answers(port: int, token: str | None, timeout: float = 1.0) -> bool:
    """JupyterLab takes the token: /api/status says 200 with it."""
    return http_status(api_status_url(port), token, timeout) == 200


def wait_until_answers(
    port: int, token: str | None, timeout_s: float, why_not: Callable[[], str | None]
) -> None:
    """Poll until JupyterLab answers; raise TimeoutError, or RuntimeError with why_not()'s reason
    once it says the server has gone (the container exited, the process died; asked about once a second)."""
    deadline = time.monotonic() + timeout_s
    watch = time.monotonic() + WATCH_S
    while time.monotonic() < deadline:
        if answers(port, token, timeout=2.0):
            return
        if time.monotonic() >= watch:
            reason = why_not()
            if reason:
                raise RuntimeError(reason)
            watch = time.monotonic() + WATCH_S
        time.sleep(POLL_S)
    raise TimeoutError(f"JupyterLab did not answer on 127.0.0.1:{port} within {timeout_s:g} s")
