"""The closet demo in the browser: a localhost server for web_demo/ and an exported model.

    fmnist-edge demo                      # shipped/vgg-a-photo/export on http://127.0.0.1:8000/
    fmnist-edge demo runs/vgg/export --port 8080

The server maps three URL spaces to three folders and serves nothing else:
    /                 web_demo/ (the page, its script and the JavaScript conversion)
    /node_modules/    web_demo/node_modules/ (LiteRT.js and its wasm files, from `make tools`)
    /model/           the export folder (model.json and the batch-1 int8 .tflite the page loads)
so the page works offline and never asks anything outside localhost. A path that resolves outside
those folders (through a symlink or "..") is not found, folders are never listed, and a request whose
Host header is not a loopback name with the server's own port is refused (403), so a page of another
site that rebinds its DNS name to 127.0.0.1 cannot read what the demo serves.

`headless_chromium()` and `open_page()` open the page in Debian's Chromium through Playwright for the browser test and
the latency benchmark (Playwright is a development dependency; the system browser is used, never a
downloaded one).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import os
import sys
import threading
from pathlib import Path
from typing import Iterator

from .errors import FmnistEdgeError

ROOT = Path(__file__).resolve().parent.parent
WEB_DEMO = ROOT / "web_demo"
DEFAULT_EXPORT = ROOT / "shipped" / "vgg-a-photo" / "export"
PAGE_MODEL_FILE = "model_int8_b1.tflite"  # LiteRT.js 2.5 needs the batch fixed at 1
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")  # what a browser on this machine sends as Host
CHROMIUM = Path("/usr/bin/chromium")
# Headless Chromium on a machine with no way out: no background traffic, no first-run work.
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def check_demo_files(export_dir: str | Path) -> Path:
    """The export folder the page will load, after checking that everything the page needs is there."""
    export_dir = Path(export_dir)
    if export_dir.is_file():
        raise FmnistEdgeError(f"{export_dir}: give the export folder (with model.json), not a file")
    if not (export_dir / "model.json").is_file():
        raise FmnistEdgeError(f"{export_dir}: no model.json there (an export folder, e.g. runs/NAME/export)")
    if not (export_dir / PAGE_MODEL_FILE).is_file():
        raise FmnistEdgeError(f"{export_dir}: no {PAGE_MODEL_FILE} there; the page needs it: fmnist-edge export RUN "
                              "--format tflite-int8 --format tflite-int8-b1")
    if not (WEB_DEMO / "node_modules" / "@litertjs" / "core" / "wasm").is_dir():
        raise FmnistEdgeError(f"{WEB_DEMO / 'node_modules'}: LiteRT.js is not installed; run `make tools`")
    return export_dir


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".wasm": "application/wasm", ".tflite": "application/octet-stream",
                      ".json": "application/json"}

    def __init__(self, *args, export_dir: Path, **kwargs):
        self.export_dir = export_dir
        super().__init__(*args, directory=str(WEB_DEMO), **kwargs)

    def send_head(self):
        allowed = {f"{name}:{self.server.server_address[1]}" for name in LOOPBACK_NAMES}
        if self.headers.get("Host", "").strip().lower() not in allowed:
            self.send_error(403, "Host must be a loopback name with this server's port")
            return None
        return super().send_head()

    def translate_path(self, path: str) -> str:
        # The parent resolves "..", query strings and escapes against `directory`, never leaving it;
        # what lands in web_demo/model/ is then looked up in the export folder instead. Symlinks are then
        # resolved, and a target outside the folder it was asked from becomes a path that cannot exist
        # (a file below /dev/null), which the parent answers with 404.
        local = Path(super().translate_path(path))
        root, target = WEB_DEMO, local
        if local.is_relative_to(WEB_DEMO / "model"):
            root, target = self.export_dir, self.export_dir / local.relative_to(WEB_DEMO / "model")
        if not Path(os.path.realpath(target)).is_relative_to(os.path.realpath(root)):
            return os.path.join(os.devnull, "outside")
        return str(target)

    def list_directory(self, path):
        self.send_error(404, "File not found")  # the page needs no listings: never show a folder's files
        return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a re-exported model is seen on reload
        # Cross-origin isolation: performance.now() then ticks in microseconds, not 100 us steps, so
        # the page's inference times mean something. Everything is same-origin, so nothing breaks.
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # quiet: the command prints its address only
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A browser that drops a connection mid-response (a reload, a closed tab) is not the page's
        # error; anything else gets one line, never socketserver's traceback on stderr.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            print(f"demo server: request from {client_address[0]} failed: {type(error).__name__}: {error}",
                  file=sys.stderr)


@contextlib.contextmanager
def serving(export_dir: str | Path = DEFAULT_EXPORT, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve the page in a background thread; yields its address (port 0 = any free port)."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise FmnistEdgeError(f"the demo serves loopback only (127.0.0.1, localhost or ::1); got {host!r}")
    export_dir = check_demo_files(export_dir).resolve()
    try:
        server = _Server((host, port), functools.partial(_Handler, export_dir=export_dir))
    except OSError as exc:
        raise FmnistEdgeError(f"cannot serve on {host}:{port}: {exc.strerror}") from None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def headless_chromium() -> Iterator:
    """Debian's Chromium, headless, through Playwright (never a browser Playwright downloads)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise FmnistEdgeError("the browser test needs Playwright: pip install -e '.[dev]'") from None
    if not CHROMIUM.exists():
        raise FmnistEdgeError(f"{CHROMIUM}: no Chromium; run `make tools` (installs Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_FLAGS))
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, address: str, blocked: list[str]):
    """A new tab on the page at `address`, its model loaded; every request that would leave localhost is
    refused and its URL appended to `blocked`."""
    page = browser.new_page(viewport={"width": 900, "height": 420})

    def only_localhost(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", only_localhost)
    page.goto(address)
    if not page.evaluate("window.closet.ready"):
        message = page.inner_text("#message")
        page.close()
        raise FmnistEdgeError(f"the page did not load its model: {message}")
    return page
