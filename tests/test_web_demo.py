"""The closet page (web_demo/) in a real headless Chromium, served by `fmnist-edge demo`'s server.

`make test` installs Chromium (Debian), Playwright and LiteRT.js (scripts/install-tools.sh); without
them these tests fail, never skip. The page runs the shipped batch-1 int8 model in LiteRT.js (wasm)
and converts pictures with web_demo/conversion.js, the JavaScript port of docs/preprocessing.md.
"""
import base64
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fmnist_edge.formats import runtime
from fmnist_edge.cli import cli
from fmnist_edge.data import load_dataset
from fmnist_edge.demo import LITERTJS, headless_chromium, open_page, page_model, serving
from fmnist_edge.errors import FmnistEdgeError

ROOT = Path(__file__).resolve().parent.parent
# The default page model is the zoo's res-s-photo: the batch-1 export of this shipped run that looks most
# often (page_model: its mirror file, each picture and its mirror).
DEFAULT_EXPORT = ROOT / "shipped" / "res-s-photo" / "export"
PAGE_MODEL_FILE = page_model(json.loads((DEFAULT_EXPORT / "model.json").read_text()))["file"]
GOLDEN = ROOT / "tests" / "golden" / "preprocess"
ARTIFACTS = Path(os.environ.get("FMNIST_EDGE_ARTIFACTS", ROOT / "build" / "test-artifacts"))
AGREEMENT_IMAGES = 500
MIN_AGREEMENT = 0.995


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as opened:
        yield opened


@pytest.fixture(scope="module")
def page(browser):
    blocked: list[str] = []
    with serving() as address:
        opened = open_page(browser, address, blocked)
        yield opened
        opened.close()
    assert blocked == [], f"the page asked for something outside localhost: {blocked[:3]}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.mark.slow
def test_browser_top1_matches_litert_on_official_test_images(page):
    images = load_dataset("fashion").x_test[:AGREEMENT_IMAGES]
    expected = runtime.load_model(DEFAULT_EXPORT / PAGE_MODEL_FILE).predict(images).argmax(1)
    got = np.array(page.evaluate("b => window.closet.top1(b)", _b64(images.tobytes())))
    assert got.shape == (AGREEMENT_IMAGES,)
    agreement = float((got == expected).mean())
    assert agreement >= MIN_AGREEMENT, f"browser and ai-edge-litert agree on {100 * agreement:.1f}% of test images"


@pytest.mark.slow
def test_javascript_conversion_reproduces_every_golden_vector(page):
    manifest = json.loads((GOLDEN / "manifest.json").read_text())
    assert len(manifest["cases"]) >= 20
    for case in manifest["cases"]:
        result = page.evaluate("b => window.closet.convert(b)", _b64((GOLDEN / case["picture"]).read_bytes()))
        if "expected" not in case:
            assert result.get("noGarment"), f"{case['picture']}: converted, but the spec finds no garment in it"
            assert result["error"] == case["message"]
            continue
        assert "image" in result, f"{case['picture']}: refused ({result.get('error')}), but the spec converts it"
        expected = np.loadtxt(GOLDEN / case["expected"], dtype=np.int64).ravel()
        worst = int(np.abs(np.array(result["image"]) - expected).max())
        assert worst == 0, f"{case['picture']}: differs by up to {worst} grey levels"
        assert result["inverted"] == case["inverted"], case["picture"]
        if not case.get("exact_size"):
            assert result["box"] == case["box"] and result["background"] == case["background"], case["picture"]
            assert result["threshold"] == case["threshold"] and result["reduction"] == case["reduction"], case["picture"]
            assert result["tilt"] == case["tilt"], case["picture"]


@pytest.mark.slow
def test_picked_picture_shows_its_input_and_top3_labels(page):
    page.set_input_files("#file", str(GOLDEN / "00_photo_0.png"))
    page.wait_for_selector("#result:not([hidden])", timeout=20_000)
    top3 = page.locator("#top3 li").all_inner_texts()
    assert len(top3) == 3
    labels = runtime.load_model(DEFAULT_EXPORT / PAGE_MODEL_FILE).labels
    assert all(text.split(" ")[0] in " ".join(labels) for text in top3)
    assert "ms (LiteRT.js, wasm)" in page.inner_text("#timing")
    assert page.locator("#message").is_hidden()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "web_demo.png"))


@pytest.mark.slow
def test_file_that_is_not_a_picture_gets_a_message(page, tmp_path):
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture at all")
    page.set_input_files("#file", str(notes))
    page.wait_for_selector("#message:not([hidden])", timeout=20_000)
    assert page.inner_text("#message") == "notes.png is not a picture this browser can read"
    assert page.locator("#result").is_hidden()


@pytest.mark.slow
def test_picture_without_a_garment_gets_a_message(page):
    page.set_input_files("#file", str(GOLDEN / "19_uniform.png"))
    page.wait_for_selector("#message:not([hidden])", timeout=20_000)
    assert page.inner_text("#message").startswith("no garment found:")


@pytest.mark.slow
def test_model_that_fails_to_load_names_the_file(browser, tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    shutil.copy(DEFAULT_EXPORT / "model.json", export / "model.json")
    (export / PAGE_MODEL_FILE).write_bytes(b"this is not a flatbuffer")
    with serving(export) as address, pytest.raises(FmnistEdgeError) as refused:
        open_page(browser, address, [])
    assert str(refused.value).startswith(f"the page did not load its model: Could not load {PAGE_MODEL_FILE}: "
                                         "LiteRT.js could not load it (")


def test_server_serves_only_the_page_its_packages_and_the_model():
    import urllib.error
    import urllib.request

    with serving() as address:
        assert b"importmap" in urllib.request.urlopen(address).read()
        model = urllib.request.urlopen(address + "model/" + PAGE_MODEL_FILE).read()
        assert model == (DEFAULT_EXPORT / PAGE_MODEL_FILE).read_bytes()
        wasm = urllib.request.urlopen(address + "litertjs/core/wasm/litert_wasm_internal.wasm")
        assert wasm.headers["Content-Type"] == "application/wasm"
        for outside in ("model/../../README.md", "model/%2e%2e/model.json", "../pyproject.toml",
                        "litertjs/../__init__.py", "node_modules/@litertjs/core/package.json"):
            with pytest.raises(urllib.error.HTTPError, match="404"):
                urllib.request.urlopen(address + outside)


def test_the_page_model_is_the_mirror_file_of_the_shipped_export():
    assert PAGE_MODEL_FILE == "model_int8_mirror_b1.tflite"


def test_demo_refuses_a_folder_without_the_page_model(tmp_path):
    (tmp_path / "model.json").write_text("{}")
    result = CliRunner().invoke(cli, ["demo", str(tmp_path), "--port", "0"])
    assert result.exit_code == 2
    assert result.output.strip() == (f"Error: {tmp_path}: model.json lists no uint8 batch-1 model; the page needs "
                                     "one: fmnist-edge export RUN --format tflite-int8-b1 (or tflite-int8-mirror-b1)")
    shutil.copy(DEFAULT_EXPORT / "model.json", tmp_path / "model.json")  # listed, but the file is not there
    result = CliRunner().invoke(cli, ["demo", str(tmp_path), "--port", "0"])
    assert result.exit_code == 2
    assert result.output.strip() == f"Error: {tmp_path}: no {PAGE_MODEL_FILE} there, which model.json lists as the page's model"
    (tmp_path / "model.json").write_text("{not json")
    result = CliRunner().invoke(cli, ["demo", str(tmp_path), "--port", "0"])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {tmp_path / 'model.json'}: not a readable export record (")
    assert len(result.output.strip().splitlines()) == 1
    result = CliRunner().invoke(cli, ["demo", str(tmp_path / "missing")])
    assert result.output.strip() == f"Error: {tmp_path / 'missing'}: no model.json there (an export folder, e.g. runs/NAME/export)"


def _get(address: str, path: str, host: str | None = None):
    """(status, body) of a GET with an optional Host header, as a page or a hostile client sends it."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(address)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {"Host": host} if host is not None else {}
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    status, body = response.status, response.read()
    connection.close()
    return status, body


def test_the_server_follows_no_symlink_out_of_its_folders(tmp_path):
    export = tmp_path / "export"
    shutil.copytree(DEFAULT_EXPORT, export)
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    private_folder = tmp_path / "private"
    private_folder.mkdir()
    (private_folder / "keys.txt").write_text("private")
    (export / "leak.txt").symlink_to(secret)
    (export / "folder").symlink_to(private_folder, target_is_directory=True)
    (export / "alias.json").symlink_to(export / "model.json")  # a link that stays inside is served
    with serving(export) as address:
        assert _get(address, "/model/alias.json")[0] == 200
        for path in ("/model/leak.txt", "/model/folder/", "/model/folder/keys.txt", "/model/"):
            status, body = _get(address, path)
            assert status == 404, path
            assert b"private" not in body and b"keys.txt" not in body


def test_the_server_answers_only_loopback_host_names_with_its_port():
    with serving() as address:
        port = address.rstrip("/").rsplit(":", 1)[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}"):
            assert _get(address, "/model/model.json", host)[0] == 200, host
        for host in (f"attacker.example:{port}", "attacker.example", f"127.0.0.1:{int(port) + 1}", "127.0.0.1",
                     f"127.0.0.1.attacker.example:{port}", ""):
            status, body = _get(address, "/model/model.json", host)
            assert status == 403 and b"labels" not in body, host


def test_the_server_refuses_to_listen_beyond_loopback():
    with pytest.raises(FmnistEdgeError, match="the demo serves loopback only"):
        with serving(host="0.0.0.0"):
            pass


def test_the_packaged_litertjs_is_the_locked_npm_release_byte_for_byte():
    """fmnist_edge/demo/litertjs/ (scripts/vendor-litertjs.sh) against web_demo/node_modules (`make tools`, from
    web_demo/package-lock.json): the copies that ship are what the lock file names."""
    installed = ROOT / "web_demo" / "node_modules" / "@litertjs"
    copies = [p for p in LITERTJS.rglob("*") if p.is_file() and p.name != "LICENSE"]
    assert len(copies) == 8
    for copy in copies:
        assert copy.read_bytes() == (installed / copy.relative_to(LITERTJS)).read_bytes(), copy
    lock = json.loads((ROOT / "web_demo" / "package-lock.json").read_text())
    version = json.loads((LITERTJS / "core" / "package.json").read_text())["version"]
    assert lock["packages"]["node_modules/@litertjs/core"]["version"] == version
    assert "Apache License" in (LITERTJS / "LICENSE").read_text()


def test_the_zoo_model_is_served_with_a_record_made_from_the_manifest():
    import urllib.request

    from fmnist_edge import zoo

    with serving(zoo="res-s-photo") as address:
        record = json.loads(urllib.request.urlopen(address + "model/model.json").read())
        model = urllib.request.urlopen(address + "model/" + PAGE_MODEL_FILE).read()
    entry = zoo.get("res-s-photo")
    assert record["labels"] == entry.record["labels"] and record["input"] == entry.record["input"]
    served = record["formats"]["tflite-int8-mirror-b1"]
    assert served["io"]["input"]["shape"] == [1, 28, 28, 1] and served["views"] == 2
    assert page_model(record) is served
    assert model == (DEFAULT_EXPORT / PAGE_MODEL_FILE).read_bytes()


def test_a_zoo_model_without_a_page_file_and_a_port_in_use_are_one_line():
    import socket

    result = CliRunner().invoke(cli, ["demo", "--zoo", "vgg-t", "--port", "0"])
    assert result.exit_code == 2
    assert "zoo model vgg-t has no batch-1 file for the page" in result.output and "res-s-photo" in result.output
    result = CliRunner().invoke(cli, ["demo", "--zoo", "nothing"])
    assert result.exit_code == 2 and "no zoo model 'nothing'; choose from: res-s-photo" in result.output
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(cli, ["demo", "--port", str(port)])
    assert result.exit_code == 2
    assert result.output.strip() == (f"Error: cannot serve on 127.0.0.1:{port}: Address already in use (in use: give "
                                     f"another --port, or 0 for any free one)")
