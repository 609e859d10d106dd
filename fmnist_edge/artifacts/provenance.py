"""What a measurement ran on: the CPU model, library versions and the code's commit, recorded beside every figure."""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

# Every distribution a figure can depend on; the header lists the installed ones (a deploy-only install
# has no TensorFlow, a training install may have no LiteRT).
_VERSIONED_PACKAGES = ("fmnist-edge", "tensorflow", "tf-keras", "tensorflow-model-optimization", "ai-edge-litert",
                       "tflite-runtime", "onnxruntime", "tf2onnx", "onnx", "numpy", "pillow")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(package: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def record_header(*, devices: bool = False) -> dict[str, Any]:
    """What every record we write begins with: when, on which machine, with which versions, from which commit.

    Run directories (run.json), bench.json and every benchmark script's JSON use this one header, so a
    figure's CPU is always at ["machine"]["cpu"]. devices=True adds the devices TensorFlow sees (for
    training records; it imports TensorFlow).
    """
    header = {
        "date": utc_now(),
        "machine": {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform()},
        "versions": {name: version for name in _VERSIONED_PACKAGES if (version := package_version(name))}
        | {"python": platform.python_version()},
        "git": git_state(),
    }
    if devices:
        from .. import _tf

        header["devices"] = [d.name for d in _tf.tf().config.list_physical_devices()]
    return header


def git_state() -> dict[str, Any] | None:
    """The commit of the fmnist-edge checkout the code runs from (None outside a git checkout)."""
    root = Path(__file__).resolve().parent  # git finds the checkout upward from the package folder
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)}


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
