"""The deploy-only install: a fresh virtual environment with `pip install fmnist-edge[deploy]` (numpy,
click, Pillow, flatbuffers, LiteRT, onnxruntime; no TensorFlow) predicts with exported models.

This test installs from the package index into a new venv (pip's cache makes repeats quick); it needs
the same network access the project's own installation does.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fmnist_edge.stages.predict import predict

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "tf-keras", "tensorflow-model-optimization", "tf2onnx", "onnx", "matplotlib")


@pytest.fixture(scope="module")
def deploy_venv(tmp_path_factory):
    venv = tmp_path_factory.mktemp("deploy") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                              f"{ROOT}[deploy]"], capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    return venv


def test_the_deploy_install_has_no_training_stack(deploy_venv):
    listed = subprocess.run([str(deploy_venv / "bin/python"), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True)
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert {"fmnist-edge", "numpy", "click", "pillow", "ai-edge-litert", "onnxruntime"} <= installed
    assert not installed & set(HEAVY), installed & set(HEAVY)


@pytest.mark.parametrize("name", ["model_int8.tflite", "model.onnx"])
def test_predict_in_the_deploy_install_matches_the_full_install(deploy_venv, exported, fashion_mnist, tmp_path, name):
    from PIL import Image

    images = []
    for i in range(3):
        images.append(tmp_path / f"test{i}.png")
        Image.fromarray(fashion_mnist.x_test[i]).save(images[-1])
    model = exported.path / name
    result = subprocess.run([str(deploy_venv / "bin/fmnist-edge"), "predict", str(model), *map(str, images), "--json"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    expected = [p.as_dict() for p in predict(model, images)]
    got = json.loads(result.stdout)
    assert [[g["label"] for g in r["top"]] for r in got] == [[g["label"] for g in r["top"]] for r in expected]
    for r, e in zip(got, expected):
        assert [g["probability"] for g in r["top"]] == pytest.approx([g["probability"] for g in e["top"]], abs=1e-5)


def test_runtime_imports_without_tensorflow_and_training_says_what_to_install(deploy_venv):
    code = "import sys, fmnist_edge.formats.runtime, fmnist_edge.stages.predict; print('tensorflow' in sys.modules)"
    result = subprocess.run([str(deploy_venv / "bin/python"), "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "False", result.stderr
    result = subprocess.run([str(deploy_venv / "bin/fmnist-edge"), "train", "--epochs", "1", "--out",
                             str(deploy_venv.parent / "run")], capture_output=True, text=True)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == ("Error: this needs TensorFlow, which a deploy-only install leaves out: "
                                     "pip install 'fmnist-edge[train]'")


def test_the_zoo_ships_in_the_package_and_predicts_without_tensorflow(deploy_venv):
    """The install is from the source tree, not editable: the zoo's files must come as package data."""
    code = ("import sys, fmnist_edge, numpy as np; m = fmnist_edge.zoo.load('res-s-photo'); "
            "print(m.predict(np.zeros((1, 28, 28), np.uint8)).shape, 'tensorflow' in sys.modules, "
            "fmnist_edge.zoo.ZOO_DIR.is_relative_to(sys.prefix))")
    result = subprocess.run([str(deploy_venv / "bin/python"), "-c", code], capture_output=True, text=True,
                            cwd=deploy_venv.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["(1,", "10)", "False", "True"]
    picture = ROOT / "tests" / "golden" / "preprocess" / "00_photo_0.png"
    result = subprocess.run([str(deploy_venv / "bin/fmnist-edge"), "predict", "--zoo", "res-s-photo", str(picture)],
                            capture_output=True, text=True, cwd=deploy_venv.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[1:3] == ["Ankle", "boot"]


def _zoo_file(deploy_venv, name: str, cwd: Path) -> str:
    """The installed package's copy of a zoo file (run outside the checkout, so `python -c` imports the install)."""
    code = f"from fmnist_edge import zoo; print(zoo.get({name!r}).verified_path())"
    return subprocess.run([str(deploy_venv / "bin/python"), "-c", code], capture_output=True, text=True,
                          check=True, cwd=cwd).stdout.strip()


def test_bench_runs_on_the_device_install_outside_the_repository(deploy_venv, tmp_path):
    model = _zoo_file(deploy_venv, "vgg-t", tmp_path)
    assert not model.startswith(str(ROOT))  # the installed package's copy, not the checkout's
    result = subprocess.run([str(deploy_venv / "bin/fmnist-edge"), "bench", model, "--baseline", "none", "--runs", "20",
                             "--warmup", "2", "--format", "json"], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = json.loads(result.stdout)
    assert row["accuracy"] > 0.9 and row["size_bytes"] < 50_000 and row["macs"] > 0 and row["x_faster"] is None
    assert list(tmp_path.iterdir()) == []  # no --out: nothing written
    refused = subprocess.run([str(deploy_venv / "bin/fmnist-edge"), "bench", model], capture_output=True, text=True,
                             cwd=tmp_path)
    assert refused.returncode == 2 and "the trained ResNet-50" in refused.stderr and "--baseline none" in refused.stderr


def test_check_runs_on_the_device_install_outside_the_repository(deploy_venv, tmp_path):
    small, large = _zoo_file(deploy_venv, "vgg-t", tmp_path), _zoo_file(deploy_venv, "vgg-a", tmp_path)
    (tmp_path / "budget.toml").write_text(f"""
[[model]]
name = "vgg-t from the wheel"
file = "{small}"
min_accuracy = 0.92
max_size_bytes = 50_000
max_latency_ratio = 5.0
reference = "{large}"
""")
    result = subprocess.run([str(deploy_venv / "bin/fmnist-edge"), "check", "--budget", "budget.toml"],
                            capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    # The installed zoo file is held to its manifest's accuracy as well: a fourth line.
    assert result.stdout.count("PASS") == 4 and "FAIL" not in result.stdout
    assert "PASS  vgg-t from the wheel: accuracy " in result.stdout and "is the zoo manifest's record" in result.stdout


def test_the_demo_runs_from_the_device_install_outside_the_repository(deploy_venv, tmp_path):
    """`fmnist-edge demo` of the installed package (page, LiteRT.js and model from package data) serves a page
    that loads its model in headless Chromium and names one photo's garment."""
    import select
    import signal

    from fmnist_edge.demo import headless_chromium, open_page

    # PYTHONFAULTHANDLER: should the server hang on Ctrl-C, SIGABRT makes it print every thread's stack.
    server = subprocess.Popen([str(deploy_venv / "bin/fmnist-edge"), "demo", "--port", "0"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    try:
        ready, _, _ = select.select([server.stdout], [], [], 60)
        assert ready, "the demo printed no address within 60 s"
        line = server.stdout.readline()
        assert line.startswith("closet demo on http://127.0.0.1:") and "(model: zoo res-s-photo;" in line, line
        address = line.split()[3]
        blocked: list[str] = []
        with headless_chromium() as browser:
            page = open_page(browser, address, blocked)
            page.set_input_files("#file", str(ROOT / "tests" / "golden" / "preprocess" / "00_photo_0.png"))
            page.wait_for_selector("#result:not([hidden])", timeout=20_000)
            assert len(page.locator("#top3 li").all_inner_texts()) == 3
            page.close()
        assert blocked == []
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # say where it hangs
            server.send_signal(signal.SIGABRT)
            server.wait(timeout=20)
            pytest.fail(f"the demo did not stop within 20 s of Ctrl-C; its stderr: {server.stderr.read()[-2000:]}")
    assert list(tmp_path.iterdir()) == []


def test_the_wheel_is_small_and_carries_what_the_commands_need(tmp_path):
    import zipfile

    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("fmnist_edge-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("fmnist_edge/zoo/zoo.json", "fmnist_edge/zoo/res-s-photo-mirror-b1.tflite", "fmnist_edge/demo/page/index.html",
                   "fmnist_edge/demo/page/conversion.js", "fmnist_edge/demo/litertjs/LICENSE",
                   "fmnist_edge/demo/litertjs/core/wasm/litert_wasm_internal.wasm",
                   "fmnist_edge/demo/litertjs/core/wasm/litert_wasm_compat_internal.wasm"):
        assert needed in names, needed
    assert wheel.stat().st_size < 10_000_000, f"{wheel.name}: {wheel.stat().st_size:,} B"
