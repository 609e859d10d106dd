"""What a measurement ran on: the CPU model, library versions and the code's commit, recorded beside every figure."""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import subprocess
from pathlib import Path
from typing import Any

_VERSIONED_PACKAGES = ("fmnist-edge", "tensorflow", "tf-keras", "tensorflow-model-optimization", "numpy")


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


def provenance() -> dict[str, Any]:
    """What a run records about where it was made: library versions, the git commit, devices, machine."""
    from . import _tf

    return {
        "versions": {name: package_version(name) for name in _VERSIONED_PACKAGES} | {"python": platform.python_version()},
        "git": git_state(),
        "devices": [d.name for d in _tf.tf().config.list_physical_devices()],
        "machine": {"platform": platform.platform(), "processor": cpu_model()},
    }


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
