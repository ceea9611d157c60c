"""The wheelhouse served to a build over HTTP from this host, for the build's duration only.

The legacy builder that docker-py drives makes a layer of every COPY: a wheelhouse copied into
the build would be one (191 MB of torch wheel), and installing torch in a stage of its own costs
a copy of its venv into the image (530 MB). Served, the torch step reads the wheels where they
lie and installs torch straight into the image's venv.

The build runs on the host's network and reaches the server as spec.WHEELHOUSE_URL, a fixed name
and port; the name maps (the build's extra hosts) to a loopback address of this server's own, so
two builds at once never meet, and the URL the layer cache keys on never changes. The wheels'
sha256 goes in as a build argument instead: the cache follows their bytes, as a COPY's does.
Only the wheels named are served, read-only, to loopback only.
"""

from __future__ import annotations

import hashlib
import html
import http.server
import random
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from torchlab.images.spec import WHEELHOUSE_PORT, Wheel

BIND_TRIES = 8
CHUNK = 1 << 20


def sha256_of(wheels: tuple[Wheel, ...]) -> str:
    """One hex digest over every wheel's name and bytes (~0.2 s for torch's 191 MB wheel)."""
    total = hashlib.sha256()
    for wheel in sorted(wheels, key=lambda w: w.name):
        one = hashlib.sha256()
        with wheel.path.open("rb") as source:
            while chunk := source.read(CHUNK):
                one.update(chunk)
        total.update(f"{wheel.name} {one.hexdigest()}\n".encode("utf-8"))
    return total.hexdigest()


def index_page(wheels: tuple[Wheel, ...]) -> bytes:
    """A flat index (pip's and uv's --find-links): one link per wheel."""
    links = "".join(f'<a href="{urllib.parse.quote(w.name)}">{html.escape(w.name)}</a>\n' for w in wheels)
    return f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n".encode("utf-8")


def handler_for(wheels: tuple[Wheel, ...]) -> type[http.server.BaseHTTPRequestHandler]:
    by_name = {w.name: w for w in wheels}
    page = index_page(wheels)

    class WheelHandler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self._answer(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(send_body=False)

        def _answer(self, send_body: bool) -> None:
            name = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path.lstrip("/"))
            if name == "":
                self._send(200, "text/html; charset=utf-8", len(page))
                if send_body:
                    self.wfile.write(page)
                return
            wheel = by_name.get(name)
            if wheel is None:
                self.send_error(404)
                return
            self._send(200, "application/octet-stream", wheel.size)
            if send_body:
                with wheel.path.open("rb") as source:
                    shutil.copyfileobj(source, self.wfile, CHUNK)

        def _send(self, status: int, kind: str, length: int) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
            pass  # the build's own output says what was installed

    return WheelHandler


def loopback_address(pick: random.Random) -> str:
    """An address of 127.0.0.0/8 that nothing else here uses (not 127.0.0.x, 127.0.1.1)."""
    return f"127.{pick.randint(100, 254)}.{pick.randint(0, 255)}.{pick.randint(1, 254)}"


@contextmanager
def serve(wheels: tuple[Wheel, ...]) -> Iterator[str]:
    """Serve the wheels at WHEELHOUSE_PORT on a loopback address of their own, while the block
    runs; yields the address (what spec.WHEELHOUSE_HOST must map to)."""
    pick = random.Random()
    server = None
    for attempt in range(BIND_TRIES):
        try:
            server = http.server.ThreadingHTTPServer((loopback_address(pick), WHEELHOUSE_PORT), handler_for(wheels))
            break
        except OSError:
            if attempt == BIND_TRIES - 1:
                raise
    assert server is not None
    server.daemon_threads = True
    # Polled every 0.05 s: shutdown() waits for a poll, and the build waits for shutdown().
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="torchlab-wheelhouse", daemon=True)
    thread.start()
    try:
        yield str(server.server_address[0])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
