"""Write the README's zoo table and the manual's zoo and careless-photo tables from the files that measured
them, so no figure there is typed by hand.

    python scripts/readme_tables.py            # rewrite the tables between their markers
    python scripts/readme_tables.py --check    # exit 1 when a page differs from what the files say

Latency, size ratios and the baseline row come from `fmnist-edge bench --zoo --out
benchmarks/results/zoo_bench` (its bench.json); test and photo accuracy from the zoo manifest
(`scripts/build_zoo.py`, which reads benchmarks/results/photos.json). A zoo model the bench run did not
measure (shipped after it) shows its manifest figures and "not in this bench run".
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PREDICT_DOC = ROOT / "docs" / "predict.md"
ZOO_DOC = ROOT / "docs" / "zoo.md"
BENCH = ROOT / "benchmarks" / "results" / "zoo_bench" / "bench.json"
PHOTOS = ROOT / "benchmarks" / "results" / "photos.json"
ZOO = ROOT / "fmnist_edge" / "zoo" / "zoo.json"
CARELESS = ("crooked", "flash", "print", "angle", "texture", "object", "cropped", "messenger")


def zoo_table(bench: dict, manifest: dict) -> str:
    rows = bench["rows"]
    base = next(r for r in rows if r["baseline"])
    benched = {r["model"]: r for r in rows if not r["baseline"] and r["threads"] == 1}
    lines = ["| model | int8 file | test top-1 | photos | p50 ms (1 thread) | vs ResNet-50: smaller | faster | points |",
             "|---|---|---|---|---|---|---|---|",
             f"| `{base['model']}` (baseline, float) | {base['size_bytes']:,} B | {100 * base['accuracy']:.2f}% |  "
             f"| {base['latency_ms']['p50']:.3f} |  |  |  |"]
    for m in manifest["models"]:
        closet = m["dataset"] != "fashion"
        accuracy = f"{100 * m['accuracy']:.2f}%" + (f" ({m['dataset']})" if closet else "")
        photos = "" if m.get("photo_accuracy_percent") is None else f"{m['photo_accuracy_percent']:.2f}%"
        smaller = f"{base['size_bytes'] / m['size_bytes']:.1f}x"
        row = benched.get(m["name"])
        if row is None or row["size_bytes"] != m["size_bytes"] or row["accuracy"] != m["accuracy"]:
            latency, faster = "not in this bench run", ""
        else:
            latency, faster = f"{row['latency_ms']['p50']:.3f}", f"{row['x_faster']:.1f}x"
        points = "" if closet else f"{100 * (m['accuracy'] - base['accuracy']):+.2f}"
        lines.append(f"| `{m['name']}` | {m['size_bytes']:,} B | {accuracy} | {photos} | {latency} | {smaller} "
                     f"| {faster} | {points} |")
    cpu = bench["machine"].get("cpu", "")
    features = bench["machine"].get("cpu_features")
    features = "CPU features not recorded" if features is None else ", ".join(features) or "no AVX-512"
    lines += ["", f"Latency measured by `{bench['command']}` (benchmarks/results/zoo_bench/bench.json) on "
                  f"{bench['date'][:10]} ({cpu}, {features}; 1 thread, 200 timed single-image runs per file); "
                  f"ratios compare only within one run. Test top-1: the int8 file in LiteRT on the 10,000 "
                  f"official test images (closet models: their 10,000 test canvases), as the manifest records it "
                  f"and `check` re-measures; photos: `python benchmarks/photos.py` (1,000 pictures)."]
    return "\n".join(lines)


def manifest_table(manifest: dict) -> str:
    """docs/zoo.md's table: each zoo model as the manifest records it, with the commands that made it."""
    lines = ["| name | model | size | test | photos | trained with |", "|---|---|---|---|---|---|"]
    for i, m in enumerate(manifest["models"]):
        closet = m["dataset"] != "fashion"
        test = f"{100 * m['accuracy']:.2f}%" + (" (closet test canvases)" if closet else "")
        photos = "" if m.get("photo_accuracy_percent") is None else f"{m['photo_accuracy_percent']:.2f}%"
        model = m["model"].replace("ensemble:", "ensemble of ").replace("+", ", ")
        made = f"`{m['command']}`, then " + ", then ".join(f"`{step.strip()}`" for step in m["then"].split(";"))
        lines.append(f"| `{m['name']}` | {model} | {m['size_bytes']:,} B | {test} | {photos} | {made}"
                     + ("; the demos' model" if i == 0 else "") + " |")
    return "\n".join(lines)


def careless_table(photos: dict) -> str:
    """Every zoo model's row of the photo benchmark (the photo conversion), the base pictures and each condition."""
    rows = [r for r in photos["rows"] if r["conversion"] == "photo" and r.get("zoo") and "careless" in r]
    machine = photos["machine"]
    lines = [f"Measured by `{photos['command']}` on {photos['date'][:10]} ({machine.get('cpu', '')}, "
             f"{', '.join(machine.get('cpu_features') or []) or 'no AVX-512'}): {photos['garments']}.", "",
             f"| zoo model | photos ({rows[0]['pictures']:,}) | careless, mean | " + " | ".join(CARELESS) + " |",
             "|---|---|---|" + "---|" * len(CARELESS)]
    for r in rows:
        lines.append(f"| `{r['zoo']}` | {r['top1_percent']:.1f}% | {r['careless_overall_percent']:.1f}% | "
                     + " | ".join(f"{r['careless'][c]:.1f}%" for c in CARELESS) + " |")
    timing = photos.get("preprocessing_1000px_jpeg")
    if timing:
        cpu = (f"CPU time median {timing['cpu_median_ms']:.2f} ms, p90 {timing['cpu_p90_ms']:.2f} ms; wall time "
               if "cpu_median_ms" in timing else "")
        lines += ["", f"Decoding and converting a 1,000 x 1,000 JPEG on one core in that run: {cpu}median "
                      f"{timing['median_ms']:.2f} ms, p90 {timing['p90_ms']:.2f} ms ({timing['pictures']} pictures, "
                      f"{timing['runs']} runs)."]
    return "\n".join(lines)


def render(page: Path, text: str, name: str, table: str) -> str:
    begin, end = f"<!-- {name}: scripts/readme_tables.py -->", f"<!-- end of {name} -->"
    if begin not in text or end not in text:
        raise SystemExit(f"{page}: the markers {begin!r} and {end!r} are missing")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{table}\n{end}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a page is out of date")
    args = parser.parse_args()
    tables = [(README, "zoo table", zoo_table(json.loads(BENCH.read_text()), json.loads(ZOO.read_text()))),
              (ZOO_DOC, "zoo table", manifest_table(json.loads(ZOO.read_text()))),
              (PREDICT_DOC, "careless table", careless_table(json.loads(PHOTOS.read_text())))]
    stale = []
    for page, name, table in tables:
        text = page.read_text(encoding="utf-8")
        wanted = render(page, text, name, table)
        if wanted == text:
            continue
        stale.append(f"{page.relative_to(ROOT)} ({name})")
        if not args.check:
            page.write_text(wanted, encoding="utf-8")
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python scripts/readme_tables.py", file=sys.stderr)
        return 1
    print(f"rewritten: {', '.join(stale)}" if stale else "every table is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
