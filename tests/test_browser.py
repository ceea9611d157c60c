"""JupyterLab in a real browser, end to end: headless Chromium (Debian's /usr/bin/chromium, driven
by Playwright; no browser is downloaded) opens the URL `torchlab up module-1 --json` prints, as a
learner's browser would. JupyterLab opens on the lab's first notebook (no launcher, no news prompt),
its kernel named for the lab and its torch; the lab's notebooks are listed, a cell runs on the lab's
kernel, and the same server without the token shows only its login page.

`up` runs as in tests/test_up_docker.py (its fixtures: the session's CPU lab image, an
unprivileged learner). A screenshot is saved into TORCHLAB_TEST_ARTIFACTS when set, else into
pytest's tmp_path, and its path is printed (`pytest -s` or `-rP` shows it).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import urllib.parse
from pathlib import Path

import pytest

from conftest import missing
from test_up_docker import lab_settings, learner, up_ok  # noqa: F401  (fixtures, reused)
from upkit import REPO

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package `chromium`
# Headless (Playwright adds --headless and a fresh --user-data-dir); --no-sandbox because the
# tests run as root in CI; nothing that would reach out of this closed network.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 60_000  # every wait is bounded
LAB = "module-1"


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Checked before the session's lab image is made: a missing browser says so at once."""
    if not os.access(CHROMIUM, os.X_OK):
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401, PLC0415
    except ImportError:
        missing("playwright is not installed (pip install -e \".[dev]\"; no `playwright install` is needed)")
    return CHROMIUM


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    folder = os.environ.get("TORCHLAB_TEST_ARTIFACTS")
    if not folder:
        return tmp_path
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def browser(executable: Path):
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_FLAGS,
                                          timeout=WAIT_MS)
        try:
            yield launched
        finally:
            launched.close()


def screenshot(page, folder: Path, name: str, record_property) -> Path:
    path = folder / name
    page.screenshot(path=str(path), full_page=False)
    print(f"screenshot: {path}")
    record_property(name, str(path))
    return path


def first_code_line(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    source = next("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return source.splitlines()[0]


def test_jupyterlab_in_a_browser_lists_the_lab_runs_a_cell_and_refuses_without_the_token(
        chromium, learner, artifacts, record_property):
    from playwright.sync_api import Error as PlaywrightError  # noqa: PLC0415
    from playwright.sync_api import expect  # noqa: PLC0415

    doc = up_ok(learner)  # `torchlab up module-1 --json`, as the learner
    url = doc["url"]
    parts = urllib.parse.urlsplit(url)
    assert parts.path == "/" and re.fullmatch(r"token=[0-9a-f]{16,}", parts.query), url
    origin = f"{parts.scheme}://{parts.netloc}"
    workspace = Path(doc["workspace"])
    notebooks = sorted(p.name for p in workspace.glob("*.ipynb"))
    shipped = sorted(p.name for p in (REPO / "labs" / LAB / "workspace").glob("*.ipynb"))
    assert notebooks == shipped and notebooks, (notebooks, shipped)
    visible = sorted(p.name for p in workspace.iterdir() if not p.name.startswith("."))

    with browser(chromium) as chrome:
        page = chrome.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.set_default_timeout(WAIT_MS)
        try:
            # With the token: JupyterLab loads and its file browser lists the workspace.
            opened = page.goto(url, timeout=WAIT_MS)
            listing = page.locator(".jp-FileBrowser .jp-DirListing-content")
            for name in notebooks:
                expect(listing.get_by_text(name, exact=True)).to_be_visible(timeout=WAIT_MS)
            listed = page.locator(".jp-FileBrowser .jp-DirListing-item .jp-DirListing-itemText").all_inner_texts()
            assert sorted(n.strip() for n in listed) == visible

            # The lab opens on its first notebook by itself (not on a launcher), its kernel starts.
            assert opened is not None and urllib.parse.urlsplit(opened.url).path == f"/lab/tree/{notebooks[0]}", opened
            panel = page.locator(".jp-NotebookPanel").filter(has=page.locator(".jp-Notebook"))
            expect(panel).to_have_count(1, timeout=WAIT_MS)
            expect(page.get_by_role("main").get_by_role("tab", name=notebooks[0], exact=True, selected=True)).to_be_visible()
            expect(page.get_by_role("main").get_by_role("tab", name="Launcher")).to_have_count(0)
            code = panel.locator(".jp-Notebook .jp-CodeCell .cm-content")
            code.first.scroll_into_view_if_needed(timeout=WAIT_MS)  # editors render their text once in view
            expect(code.first).to_contain_text(first_code_line(workspace / notebooks[0]), timeout=WAIT_MS)
            # The status bar says Idle only once the kernel is connected and idle (the toolbar's
            # indicator starts as idle before a kernel exists, and a cell run then is dropped).
            # The kernel's name says the lab, its torch and device.
            kernel_idle = re.compile(rf"{LAB} · torch \d+\.\d+\.\d+ · {doc['device']} \| Idle")
            expect(page.locator(".jp-StatusBar-Widget")).to_contain_text(kernel_idle, timeout=WAIT_MS)

            # A new code cell runs on the lab's kernel: Shift+Enter, then its output.
            panel.locator(".jp-NotebookPanel-toolbar [data-command='notebook:insert-cell-below']").click()
            cells = panel.locator(".jp-Notebook .jp-Cell")
            index = cells.evaluate_all("cells => cells.findIndex(c => c.classList.contains('jp-mod-active'))")
            cell = cells.nth(index)
            expect(cell).to_have_class(re.compile(r"\bjp-CodeCell\b"))
            cell.locator(".cm-content").click()
            page.keyboard.type("print(6*7)")
            expect(cell.locator(".cm-content")).to_have_text("print(6*7)")  # closing brackets typed over
            page.keyboard.press("Shift+Enter")
            expect(cell.locator(".jp-OutputArea-output")).to_have_text("42", timeout=WAIT_MS)
            expect(cell.locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]:"), timeout=WAIT_MS)
            expect(page.locator(".jp-StatusBar-Widget")).to_contain_text(kernel_idle, timeout=WAIT_MS)
            expect(page.get_by_text("official Jupyter news")).to_have_count(0)  # no news prompt, seconds in
            screenshot(page, artifacts, f"browser-{LAB}-notebook.png", record_property)

            # Without the token (a fresh browser: no cookie), or with a wrong one: the login page only.
            stranger = chrome.new_context(viewport={"width": 1400, "height": 900})
            for attempt in (f"{origin}/lab", f"{origin}/lab?token=0123456789abcdef"):
                page = stranger.new_page()
                page.set_default_timeout(WAIT_MS)
                page.goto(attempt, timeout=WAIT_MS)
                assert urllib.parse.urlsplit(page.url).path == "/login", (attempt, page.url)
                expect(page.locator("input[type=password]").first).to_be_visible()
                expect(page.locator(".jp-DirListing-item")).to_have_count(0)
                # jupyter_server's login page links its logo to the default URL (the lab's first page):
                # that link names the file and nothing else does.
                header = f'href="/lab/tree/{urllib.parse.quote(notebooks[0])}"'
                assert not any(name in page.content().replace(header, "") for name in notebooks)
            screenshot(page, artifacts, f"browser-{LAB}-no-token.png", record_property)
            for api in ("/api/contents", "/api/sessions", "/api/status"):
                assert stranger.request.get(origin + api).status == 403, api
        except BaseException:
            with contextlib.suppress(PlaywrightError):
                screenshot(page, artifacts, f"browser-{LAB}-failed.png", record_property)
            raise

        # `down`: the lab is gone and its URL no longer answers.
        down = learner.run("down", LAB, timeout=180)
        assert down.returncode == 0, down.stderr[-2000:]
        _, status = learner.json("status")
        assert status["labs"] == []
        with pytest.raises(PlaywrightError):
            chrome.new_page().goto(url, timeout=WAIT_MS)
