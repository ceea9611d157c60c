"""Ports on 127.0.0.1: is one free, which one is, and who holds a taken one (when we can tell)."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable

import psutil

from torchlab.errors import USAGE, UserError

LOOPBACK = "127.0.0.1"


def port_state(port: int, host: str = LOOPBACK) -> str:
    """"free", "taken", or "privileged" (below the first port this user may bind, 1024 as a rule)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if os.name != "nt":
            # As a server binds (JupyterLab's tornado does): a port whose last connection is in
            # TIME_WAIT, after a lab stopped, is free to it. On Windows the option would let a
            # socket take a port another listens on, so it stays off there.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return "privileged" if exc.errno in (errno.EACCES, errno.EPERM) else "taken"
    # Something listening on every address (0.0.0.0) also takes it from us in practice.
    return "free" if host == "0.0.0.0" else port_state(port, "0.0.0.0")


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    return port_state(port, host) == "free"


def free_port() -> int:
    """A port the kernel calls free now (a tiny race remains until the server binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def who_listens(port: int) -> str | None:
    """'python3 (pid 1234)' for the process listening on the port; None when the OS will not say."""
    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            try:
                return f"{psutil.Process(conn.pid).name()} (pid {conn.pid})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return None


def check_free(port: int, holder: Callable[[int], str | None] = who_listens, binds_itself: bool = False) -> None:
    """--port asked for a taken port: a UserError naming who holds it, when that can be told. A
    privileged port is refused when this user's process would bind it (binds_itself: native labs);
    the Docker engine binds published ports itself, so for a container it only needs to be free."""
    state = port_state(port)
    if state == "free":
        return
    if state == "privileged":
        if binds_itself:
            raise UserError(f"--port {port}: a privileged port (below 1024) that only root may listen on; "
                            "expected a port from 1024 to 65535, or leave --port out", USAGE)
        return  # this user cannot test it; the engine binds it as root and says if it is taken
    found = holder(port)
    held = f" by {found}" if found else ""
    raise UserError(f"--port {port}: 127.0.0.1:{port} is in use{held}; choose another port, or leave --port out", USAGE)
