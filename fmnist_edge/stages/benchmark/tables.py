"""bench rows as a terminal table, Markdown, CSV or JSON.

COLUMNS drives Markdown and CSV (every measured field); TERMINAL_COLUMNS is the default table's
short list, which fits a 100-column terminal.
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Callable

FORMATS = ("table", "md", "csv", "json")


def _pct(value: float | None) -> str:
    return "untrained" if value is None else f"{100 * value:.2f}%"


def _num(value: float | int | None, spec: str = ",") -> str:
    return "" if value is None else format(value, spec)


# header, raw value (CSV), text (table and Markdown)
COLUMNS: list[tuple[str, Callable[[dict], Any], Callable[[dict], str]]] = [
    ("model", lambda r: r["model"] + (" (baseline)" if r["baseline"] else ""), None),
    ("format", lambda r: r["format"], None),
    ("threads", lambda r: r["threads"], None),
    ("params", lambda r: r["params"], lambda r: _num(r["params"])),
    ("size B", lambda r: r["size_bytes"], lambda r: _num(r["size_bytes"])),
    ("gzip B", lambda r: r["gzip_bytes"], lambda r: _num(r["gzip_bytes"])),
    ("MACs", lambda r: r["macs"], lambda r: _num(r["macs"])),
    ("accuracy", lambda r: r["accuracy"], lambda r: _pct(r["accuracy"])),
    ("worst class", lambda r: r["worst_class"],
     lambda r: "" if r["worst_class"] is None else f"{r['worst_class']} {_pct(r['worst_class_accuracy'])}"),
    ("p50 ms", lambda r: r["latency_ms"]["p50"], lambda r: f"{r['latency_ms']['p50']:.3f}"),
    ("p90 ms", lambda r: r["latency_ms"]["p90"], lambda r: f"{r['latency_ms']['p90']:.3f}"),
    ("p99 ms", lambda r: r["latency_ms"]["p99"], lambda r: f"{r['latency_ms']['p99']:.3f}"),
    ("std ms", lambda r: r["latency_ms"]["std"], lambda r: f"{r['latency_ms']['std']:.3f}"),
    ("init ms", lambda r: r["init_ms"], lambda r: f"{r['init_ms']:.1f}"),
    ("first ms", lambda r: r["first_inference_ms"], lambda r: f"{r['first_inference_ms']:.2f}"),
    ("img/s", lambda r: r["throughput_ips"], lambda r: f"{r['throughput_ips']:,.0f}"),
    ("mem MiB", lambda r: r["peak_memory_added_mib"], lambda r: _num(r["peak_memory_added_mib"], ".1f")),
    ("x smaller", lambda r: r["x_smaller"], lambda r: "" if r["x_smaller"] is None else f"{r['x_smaller']:g}"),
    ("x faster", lambda r: r["x_faster"], lambda r: "" if r["x_faster"] is None else f"{r['x_faster']:g}"),
    ("acc diff pp", lambda r: r["accuracy_diff_pp"], lambda r: "" if r["accuracy_diff_pp"] is None
     else f"{r['accuracy_diff_pp']:+.2f}"),
]


def _size(value: int) -> str:
    for unit, scale in (("MB", 1e6), ("KB", 1e3)):
        if value >= scale:
            return f"{value / scale:.1f} {unit}"
    return f"{value} B"


# The terminal table: what a reader compares at a glance, within 100 columns. The baseline row is marked
# with "*"; everything else (MACs, gzip size, p90/p99, memory, ...) is in md, csv and json.
TERMINAL_WIDTH = 100
TERMINAL_COLUMNS: list[tuple[str, Callable[[dict], str]]] = [
    ("model", lambda r: r["model"] + ("*" if r["baseline"] else "")),
    ("format", lambda r: r["format"]),
    ("thr", lambda r: str(r["threads"])),
    ("size", lambda r: _size(r["size_bytes"])),
    ("accuracy", lambda r: _pct(r["accuracy"])),
    ("p50 ms", lambda r: f"{r['latency_ms']['p50']:.3f}"),
    ("img/s", lambda r: f"{r['throughput_ips']:,.0f}"),
    ("smaller", lambda r: "" if r["x_smaller"] is None else f"{r['x_smaller']:.4g}x"),
    ("faster", lambda r: "" if r["x_faster"] is None else f"{r['x_faster']:.4g}x"),
    ("acc pp", lambda r: "" if r["accuracy_diff_pp"] is None else f"{r['accuracy_diff_pp']:+.2f}"),
]


def render(rows: list[dict[str, Any]], fmt: str = "table") -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown table format {fmt!r}; choose from {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps(rows, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([h for h, _, _ in COLUMNS])
        writer.writerows([[raw(r) for _, raw, _ in COLUMNS] for r in rows])
        return out.getvalue().rstrip("\n")
    if fmt == "md":
        cells = [[(text or (lambda r, raw=raw: str(raw(r))))(r) for _, raw, text in COLUMNS] for r in rows]
        headers = [h for h, _, _ in COLUMNS]
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        return "\n".join(lines + ["| " + " | ".join(c) + " |" for c in cells])
    headers = [h for h, _ in TERMINAL_COLUMNS]
    cells = [[text(r) for _, text in TERMINAL_COLUMNS] for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:  # names left-aligned, figures right-aligned
        return "  ".join(v.ljust(w) if i < 3 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths)))

    return "\n".join([line(headers)] + [line(c) for c in cells])
