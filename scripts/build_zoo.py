"""Write fmnist_edge/zoo/ (the int8 files and zoo.json) from the trained runs in shipped/.

    python scripts/build_zoo.py

Each entry's figures come from the run's own records: the accuracy its export check measured on the
official test set (export/model.json), its photo-benchmark score (benchmarks/results/photos.json), and
the training command rebuilt from run.json's settings (only what differs from the recipe's defaults); for
an ensemble, the `fmnist-edge ensemble` command and each member's training command.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fmnist_edge.demo import page_model  # noqa: E402
from fmnist_edge.settings import TrainSettings, resolve_settings  # noqa: E402

ZOO = ROOT / "fmnist_edge" / "zoo"
TEST_SETS = {"fashion": "the 10,000 official test images",
             "closet": "the 10,000 closet test canvases (official test garments only)"}
# zoo name -> shipped run; the first is the recommended model (the demos' model: best on photos).
ENTRIES = {
    "res-s-photo": "res-s-photo",
    "res-s": "res-s-swa",
    "vgg-a-photo": "vgg-a-photo",
    "vgg-a": "vgg-a-best",
    "res-x3": "res-x3",
    "vgg198k": "vgg198k-best",
    "edge-s": "edge-s-best",
    "edge-s-photo": "edge-s-photo",
    "res-t": "res-t-best",
    "res-t-mirror": "res-t-best",
    "vgg-t": "vgg-t-best",
    "res-closet": "res-closet-kd",
    "mresnet-closet": "mresnet-paper",
}


# Zoo models whose file is another export format of their run than tflite-int8.
EXPORT_FORMATS = {"res-t-mirror": "tflite-int8-mirror"}  # the image and its mirror, averaged: the 50 KB class's best

# Zoo models that also ship their batch-1 int8 file, the one the web page loads (LiteRT.js 2.5 refuses a
# dynamic batch): `fmnist-edge demo --zoo NAME`. Only the demos' model, to keep the wheel small.
PAGE_MODELS = ("res-s-photo",)
# Runs whose QAT fine-tuning took options beyond the defaults (res-s: its lr / 10 = 0.01 cost 0.83 points).
QAT_OPTIONS = {"res-s-best": " --lr 0.0005", "res-s-swa": " --lr 0.0005", "res-s-photo": " --lr 0.0005", "res-t-best": " --lr 0.0005",
               "res-closet-kd": " --lr 0.0005", "res-x3": " --lr 0.0005"}


def page_file(name: str, folder: Path, exported: dict) -> dict:
    """Copy the batch-1 int8 export the page and the app load (demo.page_model: a mirror file when the run has
    one) into the zoo as NAME-b1.tflite or NAME-mirror-b1.tflite; its manifest record."""
    entry = page_model(exported)
    export_format = next(n for n, e in exported["formats"].items() if e is entry)
    source = folder / "export" / entry["file"]
    data = source.read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{source} changed since its export"
    file_name = f"{name}-mirror-b1.tflite" if entry.get("views", 1) == 2 else f"{name}-b1.tflite"
    for old in ZOO.glob(f"{name}-*b1.tflite"):  # the other kind, from an earlier build
        old.unlink()
    shutil.copyfile(source, ZOO / file_name)
    return {"file": file_name, "export_format": export_format, "export_file": entry["file"], "sha256": entry["sha256"],
            "size_bytes": len(data),
            "io": entry["io"], **({"views": entry["views"]} if "views" in entry else {}),
            "accuracy": entry["accuracy"]}


def command(settings: TrainSettings, run_name: str) -> str:
    defaults = resolve_settings(settings.model, settings.recipe).to_dict()
    parts = ["fmnist-edge train", f"--model {settings.model}"]
    if settings.recipe != "best":
        parts.append(f"--recipe {settings.recipe}")
    for key, value in settings.to_dict().items():
        if key in ("model", "recipe") or value == defaults.get(key):
            continue
        if key == "teachers":  # a repeated option
            parts.extend(f"--teacher {teacher}" for teacher in value)
            continue
        flag = "--" + key.replace("_", "-")
        parts.append(flag if value is True else f"{flag} {value}")
    return " ".join(parts + [f"--out runs/{run_name}"])


def then(record: dict, run_name: str, export_format: str) -> str:
    """The commands after training; first, for a run ended before its planned epochs, the one that ended it."""
    steps = [f"fmnist-edge quantize runs/{run_name} --method qat" + QAT_OPTIONS.get(run_name, ""),
             f"fmnist-edge export runs/{run_name} --format {export_format}"]
    if "ended_early" in record:
        ended = record["ended_early"]
        steps.insert(0, f"fmnist-edge train --resume --finish --out runs/{run_name} "
                        f"(stopped after epoch {ended['after_epoch']} of {ended['of']})")
    return "; ".join(steps)


def main() -> None:
    photos = json.loads((ROOT / "benchmarks" / "results" / "photos.json").read_text())
    # benchmarks/photos.py scores the zoo's files (row "zoo": the name) or any file given (row "model": its path)
    photo_rows = [row for row in photos["rows"] if row["conversion"] == "photo"]
    photo_scores = {row["model"]: row["top1_percent"] for row in photo_rows}
    photo_scores |= {f"zoo:{row['zoo']}": row["top1_percent"] for row in photo_rows if row.get("zoo")}
    careless_scores = {row["zoo"]: row["careless"] for row in photo_rows if row.get("zoo") and "careless" in row}
    models = []
    for name, run in ENTRIES.items():
        folder = ROOT / "shipped" / run
        record = json.loads((folder / "run.json").read_text())
        exported = json.loads((folder / "export" / "model.json").read_text())
        export_format = EXPORT_FORMATS.get(name, "tflite-int8")
        entry = exported["formats"][export_format]
        source = folder / "export" / entry["file"]
        data = source.read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{source} changed since its export"
        settings = TrainSettings.from_dict(record["settings"])
        file_name = f"{name}.tflite"
        shutil.copyfile(source, ZOO / file_name)
        models.append({
            "name": name,
            "model": settings.model,
            "dataset": settings.dataset,
            "file": file_name,
            "kind": "int8 (uint8 in and out), TFLite Model Metadata with labels"
                    + (f"; {entry['description'].removeprefix('tflite-int8 ')}" if export_format != "tflite-int8" else ""),
            "export_format": export_format,
            "labels": exported["labels"],
            "input": exported["input"],
            "io": entry["io"] if "io" in entry else None,
            "accuracy": entry["accuracy"],
            "accuracy_measured_by": "fmnist-edge export's check: the file in LiteRT on " + TEST_SETS[settings.dataset],
            "photo_accuracy_percent": photo_scores.get(f"zoo:{name}",
                                                       photo_scores.get(f"shipped/{run}/export/{entry['file']}")),
            # top-1 per careless condition (benchmarks/photos.py: a crooked phone, a flash, a print, ...)
            "photo_careless_percent": careless_scores.get(name),
            "size_bytes": len(data),
            "sha256": entry["sha256"],
            "command": record["ensemble"]["command"] if "ensemble" in record else command(settings, run),
            **({"members": [{"model": m["model"], "test_accuracy": m["test_accuracy"], "sha256": m["sha256"],
                             "command": command(TrainSettings.from_dict(m["settings"]), Path(m["run"]).name)}
                            for m in record["ensemble"]["members"]]} if "ensemble" in record else {}),
            "then": then(record, run, export_format),
            "seed": settings.seed,
            "git": record.get("git"),
            "trained": record.get("finished"),
            "source": f"shipped/{run}",
            **({"page": page_file(name, folder, exported)} if name in PAGE_MODELS else {}),
        })
    (ZOO / "zoo.json").write_text(json.dumps({"models": models}, indent=2) + "\n")
    total = sum(m["size_bytes"] for m in models)
    print(f"{len(models)} zoo models, {total:,} bytes -> {ZOO.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
