"""Does a package index answer from this host? Asked before a build that needs PyTorch's wheel
index (a build PyPI does not carry), so that an index the build cannot reach is said in one line
with its fix instead of a failed layer minutes in."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from pathlib import Path
from typing import Optional

TIMEOUT_S = 10.0


def tls_context(ca_bundle: Optional[Path]) -> ssl.SSLContext:
    """The system's trust store (SSL_CERT_FILE honoured), plus the configured CA bundle."""
    context = ssl.create_default_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=str(ca_bundle))
    return context


def why_index_fails(url: str, project: str, ca_bundle: Optional[Path], timeout: float = TIMEOUT_S) -> Optional[str]:
    """None when the index's page for `project` (URL/project/) answers 200; else why not, in a few words."""
    page = f"{url.rstrip('/')}/{project}/"
    try:
        with urllib.request.urlopen(page, timeout=timeout, context=tls_context(ca_bundle)) as answer:  # noqa: S310
            return None if answer.status == 200 else f"HTTP {answer.status} for {page}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} for {page}"
    except urllib.error.URLError as exc:
        return str(exc.reason)
    except (OSError, ValueError) as exc:
        return str(exc) or type(exc).__name__
