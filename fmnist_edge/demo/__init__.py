"""The closet demo in the browser: a localhost server for the page, LiteRT.js and one model.

    fmnist-edge demo                      # the zoo's res-s-photo on http://127.0.0.1:8000/
    fmnist-edge demo --zoo NAME           # another zoo model (one that carries a batch-1 file)
    fmnist-edge demo runs/vgg/export --port 8080

Everything the page needs ships inside the package, so the demo runs from any install, the
deploy-only one included. The server maps three URL spaces to three folders and serves nothing else:
    /            page/ (the page, its script and the JavaScript conversion of docs/preprocessing.md)
    /litertjs/   litertjs/ (LiteRT.js 2.5.3 from npm: its module, its wasm files, its licence;
                 scripts/vendor-litertjs.sh copies them from web_demo/node_modules)
    /model/      the model: an export folder (model.json and the batch-1 int8 .tflite the page loads), or
                 a zoo model's batch-1 file with a model.json made from zoo.json. The page, like the
                 Android app, loads model.json's uint8 batch-1 file that looks most often (`page_model`):
                 tflite-int8-mirror-b1, each picture and its mirror, when the export has it
so the page works offline and never asks anything outside localhost. A path that resolves outside
those folders (through a symlink or "..") is not found, folders are never listed, and a request whose
Host header is not a loopback name with the server's own port is refused (403), so a page of another
site that rebinds its DNS name to 127.0.0.1 cannot read what the demo serves.

`headless_chromium()` and `open_page()` open the page in Debian's Chromium through Playwright for the browser
test and the latency benchmark (Playwright is a development dependency; the system browser is used, never a
downloaded one).
"""
from __future__ import annotations

import contextlib
import errno
import functools
import http.server
import json
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from ..errors import FmnistEdgeError

HERE = Path(__file__).resolve().parent
PAGE = HERE / "page"
LITERTJS = HERE / "litertjs"
DEFAULT_ZOO_MODEL = "res-s-photo"  # the zoo's recommended model, best on camera pictures
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")  # what a browser on this machine sends as Host
CHROMIUM = Path("/usr/bin/chromium")
# Headless Chromium on a machine with no way out: no background traffic, no first-run work.
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def page_model(record: dict) -> dict | None:
    """The entry of an export's model.json that the page and the Android app load: uint8 pixels in, the
    batch fixed at 1 (LiteRT.js 2.5 and the app's CompiledModel need it), and of those the one that looks at
    each picture most often ("views": 2 for a mirror file; 1 when absent), the first listed on a tie. None
    when model.json lists no such file. app.js and ModelContract.kt apply the same rule."""
    formats = record.get("formats") if isinstance(record, dict) else None
    best = None
    for entry in (formats.values() if isinstance(formats, dict) else ()):
        io = entry.get("io") if isinstance(entry, dict) else None
        try:
            usable = io["input"]["dtype"] == "uint8" and io["input"]["shape"][0] == 1 and isinstance(entry["file"], str)
        except (KeyError, IndexError, TypeError):
            continue
        if usable and (best is None or entry.get("views", 1) > best.get("views", 1)):
            best = entry
    return best


def check_demo_files(export_dir: str | Path) -> Path:
    """The export folder the page will load, after checking that everything the page needs is there."""
    export_dir = Path(export_dir)
    if export_dir.is_file():
        raise FmnistEdgeError(f"{export_dir}: give the export folder (with model.json), not a file")
    if not (export_dir / "model.json").is_file():
        raise FmnistEdgeError(f"{export_dir}: no model.json there (an export folder, e.g. runs/NAME/export)")
    try:
        record = json.loads((export_dir / "model.json").read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FmnistEdgeError(f"{export_dir / 'model.json'}: not a readable export record ({exc})") from None
    entry = page_model(record)
    if entry is None:
        raise FmnistEdgeError(f"{export_dir}: model.json lists no uint8 batch-1 model; the page needs one: "
                              "fmnist-edge export RUN --format tflite-int8-b1 (or tflite-int8-mirror-b1)")
    name = entry["file"]
    if Path(name).name != name or not (export_dir / name).is_file():
        raise FmnistEdgeError(f"{export_dir}: no {name} there, which model.json lists as the page's model")
    if not (LITERTJS / "core" / "wasm" / "litert_wasm_internal.wasm").is_file():
        raise FmnistEdgeError(f"{LITERTJS}: LiteRT.js is missing from this install; reinstall fmnist-edge")
    return export_dir


@contextlib.contextmanager
def zoo_export(name: str) -> Iterator[Path]:
    """A temporary export folder for the zoo model `name`: its batch-1 file (sha256 checked) and a model.json
    holding what the page reads (labels, input polarity, the file's input and output contract)."""
    from .. import zoo

    model = zoo.get(name)
    page = model.record.get("page")
    if not page:
        with_page = [m.name for m in zoo.list_models() if m.record.get("page")]
        raise FmnistEdgeError(f"zoo model {name} has no batch-1 file for the page (LiteRT.js needs one); zoo models "
                              f"with one: {', '.join(with_page)}; or export a run with --format tflite-int8-b1 and "
                              f"give its export folder")
    source = model.verified_path(page["file"], page["sha256"])
    with tempfile.TemporaryDirectory(prefix="fmnist-edge-demo-") as folder:
        export = Path(folder)
        served = page.get("export_file", page["file"])  # the name its export gave it, as an export folder has it
        shutil.copyfile(source, export / served)
        entry = {"file": served, "io": page["io"], "sha256": page["sha256"], "size_bytes": page["size_bytes"],
                 **{key: page[key] for key in ("views", "accuracy") if key in page}}
        record = {"model": model.record["model"], "zoo": name, "labels": model.record["labels"],
                  "input": model.record["input"], "formats": {page.get("export_format", "tflite-int8-b1"): entry}}
        (export / "model.json").write_text(json.dumps(record, indent=2) + "\n")
        yield export


class _Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".js": "text/javascript", ".wasm": "application/wasm", ".tflite": "application/octet-stream",
                      ".json": "application/json"}

    def __init__(self, *args, export_dir: Path, **kwargs):
        self.export_dir = export_dir
        super().__init__(*args, directory=str(PAGE), **kwargs)

    def send_head(self):
        allowed = {f"{name}:{self.server.server_address[1]}" for name in LOOPBACK_NAMES}
        if self.headers.get("Host", "").strip().lower() not in allowed:
            self.send_error(403, "Host must be a loopback name with this server's port")
            return None
        return super().send_head()

    def translate_path(self, path: str) -> str:
        # The parent resolves "..", query strings and escapes against `directory` (page/), never leaving it;
        # what lands in page/model/ or page/litertjs/ is then looked up in the export folder or LiteRT.js's
        # folder instead. Symlinks are then resolved, and a target outside the folder it was asked from
        # becomes a path that cannot exist (a file below /dev/null), which the parent answers with 404.
        local = Path(super().translate_path(path))
        root, target = PAGE, local
        for prefix, folder in ((PAGE / "model", self.export_dir), (PAGE / "litertjs", LITERTJS)):
            if local.is_relative_to(prefix):
                root, target = folder, folder / local.relative_to(prefix)
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
def serving(export_dir: str | Path | None = None, port: int = 0, host: str = "127.0.0.1",
            zoo: str | None = None) -> Iterator[str]:
    """Serve the page in a background thread; yields its address (port 0 = any free port).

    Args:
        export_dir: an export folder to serve as the page's model; None: the zoo model `zoo`.
        zoo: a zoo model's name (default: DEFAULT_ZOO_MODEL); only without `export_dir`.
    """
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise FmnistEdgeError(f"the demo serves loopback only (127.0.0.1, localhost or ::1); got {host!r}")
    if export_dir is not None and zoo is not None:
        raise FmnistEdgeError("give an export folder or --zoo NAME, not both")
    with contextlib.ExitStack() as stack:
        if export_dir is None:
            export_dir = stack.enter_context(zoo_export(zoo or DEFAULT_ZOO_MODEL))
        export_dir = check_demo_files(export_dir).resolve()
        try:
            server = _Server((host, port), functools.partial(_Handler, export_dir=export_dir))
        except OSError as exc:
            in_use = " (in use: give another --port, or 0 for any free one)" if exc.errno == errno.EADDRINUSE else ""
            raise FmnistEdgeError(f"cannot serve on {host}:{port}: {exc.strerror}{in_use}") from None
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
