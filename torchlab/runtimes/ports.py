"""Ports on 127.0.0.1: is one free, which one is, and who holds a taken one (when we can tell)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import psutil

from torchlab.errors import USAGE, UserError

LOOPBACK = "127.0.0.1"


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    # Something listening on every address (0.0.0.0) also takes it from us in practice.
    return host == "0.0.0.0" or port_is_free(port, "0.0.0.0")


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


def check_free(port: int, holder: Callable[[int], str | None] = who_listens) -> None:
    """--port asked for a taken port: a UserError naming who holds it, when that can be told."""
    if port_is_free(port):
        return
    found = holder(port)
    held = f" by {found}" if found else ""
    raise UserError(f"--port {port}: 127.0.0.1:{port} is in use{held}; choose another port, or leave --port out", USAGE)
