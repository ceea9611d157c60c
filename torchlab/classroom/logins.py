"""Per-seat passwords: made at random, kept only as salted PBKDF2 hashes where the hub reads them,
checked in constant time. Never one shared password."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

ROUNDS = 200_000  # PBKDF2-SHA256; a login costs the hub ~0.1 s of CPU
PASSWORD_BYTES = 12  # 16 URL-safe characters


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def _digest(password: str, salt: bytes, rounds: int) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, rounds).hex()


def hash_password(password: str, salt: bytes | None = None, rounds: int = ROUNDS) -> dict[str, Any]:
    salt = salt if salt is not None else secrets.token_bytes(16)
    return {"scheme": "pbkdf2-sha256", "rounds": rounds, "salt": salt.hex(), "hash": _digest(password, salt, rounds)}


def password_matches(password: str, record: dict[str, Any]) -> bool:
    """The password is the one the record was made from (a malformed record matches nothing)."""
    try:
        if record.get("scheme") != "pbkdf2-sha256":
            return False
        expected = _digest(password, bytes.fromhex(record["salt"]), int(record["rounds"]))
    except (KeyError, TypeError, ValueError):
        return False
    return hmac.compare_digest(expected, str(record.get("hash", "")))
