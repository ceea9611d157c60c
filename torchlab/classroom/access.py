"""Where learners reach the hub: its address and port, and whether it speaks TLS. On 127.0.0.1 (the
default) nothing leaves this machine; on any other address the learners' passwords and tokens
cross the network, so torchlab wants TLS files (--tls-cert, --tls-key) or an explicit
--insecure-http, and then says so in a warning."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from dataclasses import dataclass


from torchlab.errors import USAGE, UserError
from torchlab.runtimes.ports import who_listens

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8000
WILDCARDS = ("0.0.0.0", "::")


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def url_host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@dataclass(frozen=True)
class Access:
    listen: str = LOOPBACK
    port: int = DEFAULT_PORT
    tls_cert: str | None = None
    tls_key: str | None = None
    insecure_http: bool = False

    @property
    def tls(self) -> tuple[str, str] | None:
        return (self.tls_cert, self.tls_key) if self.tls_cert and self.tls_key else None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def bind_url(self) -> str:
        return f"{self.scheme}://{url_host(self.listen)}:{self.port}"

    @property
    def hub_url(self) -> str:
        """What learners open: the listen address, or this host's name when it listens on all."""
        host = socket.gethostname() if self.listen in WILDCARDS else self.listen
        return f"{self.scheme}://{url_host(host)}:{self.port}"

    @property
    def check_url(self) -> str:
        """Where torchlab itself asks the proxy (loopback when the hub listens on every address)."""
        host = LOOPBACK if self.listen in WILDCARDS else self.listen
        return f"{self.scheme}://{url_host(host)}:{self.port}"

    def check_port(self) -> None:
        """The proxy's port must be free (on the listen address, and on every address)."""
        host = "0.0.0.0" if self.listen in WILDCARDS else self.listen
        state = server_port_state(self.port, host)
        if state == "privileged":
            raise UserError(f"--port {self.port}: a privileged port (below 1024) that only root may listen on; "
                            "expected a port from 1024 to 65535", USAGE)
        if state == "free":
            return
        found = who_listens(self.port)
        held = f" by {found}" if found else ""
        raise UserError(f"--port {self.port}: {host}:{self.port} is in use{held}; choose another port with --port",
                        USAGE)


def server_port_state(port: int, host: str) -> str:
    """"free", "taken" or "privileged", as a server binding it would find: with SO_REUSEADDR (as
    the proxy binds), so the closing connections of a proxy just stopped do not count as taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return "privileged" if exc.errno in (errno.EACCES, errno.EPERM) else "taken"
    if host == LOOPBACK:  # something listening on every address takes the port from us too
        return server_port_state(port, "0.0.0.0")
    return "free"


def readable_file(option: str, path: str) -> None:
    if not os.path.isfile(path) or not os.access(path, os.R_OK):
        raise UserError(f"{option} {path}: expected a readable PEM file", USAGE)


def check_access(access: Access) -> str | None:
    """A UserError for a network hub without TLS (and without --insecure-http); the warning to say
    when --insecure-http was given; None when all is well."""
    if access.listen != "localhost":
        try:
            ipaddress.ip_address(access.listen)
        except ValueError:
            raise UserError(f"--listen {access.listen}: expected an IP address of this host, such as 127.0.0.1 "
                            "or 0.0.0.0", USAGE) from None
    if not 1 <= access.port <= 65535:
        raise UserError(f"--port {access.port}: expected a port from 1024 to 65535", USAGE)
    if bool(access.tls_cert) != bool(access.tls_key):
        raise UserError("--tls-cert and --tls-key: expected both (the certificate and its key), or neither", USAGE)
    for option, path in (("--tls-cert", access.tls_cert), ("--tls-key", access.tls_key)):
        if path:
            readable_file(option, path)
    if is_loopback(access.listen) or access.tls:
        return None
    if not access.insecure_http:
        raise UserError(f"--listen {access.listen}: learners' passwords and tokens would cross the network in clear "
                        "text; give --tls-cert FILE and --tls-key FILE, or --insecure-http to accept that", USAGE)
    return (f"warning: --insecure-http: the hub listens on {access.listen}:{access.port} without TLS; "
            "passwords and tokens cross the network in clear text")
