"""Copy exported models into an Android app's assets, where the app loads them from.

    assets = android_assets_dir("android_demo")          # android_demo/app/src/main/assets
    copy_assets([export / "model_int8.tflite", export / "labels.txt"], assets)

The destination must be an Android project: a Gradle build (settings.gradle[.kts]) whose
`app` module has src/main/AndroidManifest.xml, or such a module folder itself. A typo'd
path must not scatter model files somewhere else, so anything else is refused unless the
caller says `anywhere=True`, which copies straight into the folder given.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from ...errors import FmnistEdgeError
from ...files import atomic_path

MANIFEST = Path("src/main/AndroidManifest.xml")
SETTINGS_FILES = ("settings.gradle", "settings.gradle.kts")


def android_assets_dir(project: str | Path, anywhere: bool = False) -> Path:
    """The assets folder of the app module in `project` (a Gradle project root or an app module folder)."""
    project = Path(project)
    if (project / MANIFEST).is_file():  # given the module itself
        return project / "src/main/assets"
    if any((project / name).is_file() for name in SETTINGS_FILES) and (project / "app" / MANIFEST).is_file():
        return project / "app/src/main/assets"
    if anywhere:
        return project
    raise FmnistEdgeError(f"{project}: not an Android project (no settings.gradle with app/{MANIFEST}, nor "
                          f"{MANIFEST}); pass --android-anywhere to copy the files into it anyway")


def copy_assets(files: list[Path], assets: Path) -> list[Path]:
    """Copy `files` into `assets` (created if needed), each written whole before it takes its name."""
    copied = []
    for source in files:
        target = assets / source.name
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
        copied.append(target)
    return copied
