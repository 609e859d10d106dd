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


# The instruction sets that change how fast training and int8 inference run on the CPUs these machines get:
# two CPUs both named "AMD EPYC" differed 4x in training speed (one had AVX-512 with VNNI and BF16, the
# other AVX2 only), so a timing is only comparable with one made on the same features.
SPEED_FEATURES = ("avx2", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_features(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    """Which of SPEED_FEATURES this CPU has (empty where /proc/cpuinfo is absent)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return [name for name in SPEED_FEATURES if name in flags]
    except OSError:
        pass
    return []


def cpu_description() -> str:
    """The CPU's name with its speed features, e.g. "AMD EPYC (avx2)", for lines that quote a timing."""
    features = cpu_features()
    return f"{cpu_model()} ({', '.join(features)})" if features else cpu_model()


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
        "machine": {"cpu": cpu_model(), "cpu_features": cpu_features(), "cores": os.cpu_count(), "platform": platform.platform()},
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
