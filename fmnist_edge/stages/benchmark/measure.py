"""Measure one model file in a process of its own: load, first inference, latency, throughput, memory, accuracy.

bench runs `python -m fmnist_edge.stages.benchmark.measure '<spec as JSON>'` once per model and thread
count, so the peak memory reported belongs to that model alone and no model warms the caches
of the next. The child prints one JSON object; on failure it prints {"error": "..."} and exits 1.

Method (as LiteRT's benchmark_model): the model is loaded and set up for batch 1 ("init"), one
single-image call is timed on its own ("first inference"), `warmup` more calls are discarded,
then `runs` single-image calls are timed one by one with time.perf_counter_ns. Each timed call
is what an app pays per image: set the input, invoke, read the output (dequantized for integer
models). Throughput is images/s at `batch` over at least 0.5 s of calls. Accuracy is the full
test set through the same runtime. Peak memory is the process's peak resident set (VmHWM, reset
after the runtime and the test images are loaded) minus its resident set at that point: what
loading and running the model added.

.keras files (the float reference) run as a tf.function of the model, so the timing is the
graph's, not Keras' per-call Python overhead.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ...contract import float_pixels
from ...contract import scores as score
from ...errors import one_line

MIN_THROUGHPUT_SECONDS = 0.5


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Measure spec["path"] as described above. Keys: path, runs, warmup, threads, batch, dataset, data_dir,
    accuracy (False skips the test-set pass), and for .keras files model (zoo name)."""
    from ...data import load_dataset

    data = load_dataset(spec.get("dataset", "fashion"), spec.get("data_dir"))
    path = Path(spec["path"])
    keras = path.suffix == ".keras"
    prepare, loader = (_prepare_keras, _keras_loader) if keras else (_prepare_runtime, _runtime_loader)
    x_test, y_test = data.x_test[..., None], data.y_test
    single = x_test[:1]
    prepare(spec)  # import the runtime libraries before the memory baseline
    baseline_kib = _reset_peak_memory()

    started = time.perf_counter_ns()
    run = loader(spec, data)
    init_ms = _ms(time.perf_counter_ns() - started)
    started = time.perf_counter_ns()
    run(single)
    first_ms = _ms(time.perf_counter_ns() - started)

    for _ in range(spec["warmup"]):
        run(single)
    latencies = _timed_calls(run, single, spec["runs"])

    batch = x_test[: spec["batch"]]
    run(batch)  # resize and warm up at the batch size
    calls, started = 0, time.perf_counter_ns()
    while calls < 3 or time.perf_counter_ns() - started < MIN_THROUGHPUT_SECONDS * 1e9:
        run(batch)
        calls += 1
    throughput = calls * len(batch) / ((time.perf_counter_ns() - started) / 1e9)

    scores = {"accuracy": None, "test_images": 0, "worst_class": None, "worst_class_accuracy": None}
    if spec.get("accuracy", True):  # an untrained baseline's accuracy is noise: not measured at all
        predicted = np.concatenate([run(x_test[i:i + spec["batch"]]).argmax(1)
                                    for i in range(0, len(x_test), spec["batch"])])
        scored = score(predicted, y_test, list(data.class_names))
        worst = min(scored["per_class_accuracy"], key=scored["per_class_accuracy"].get)
        scores = {"accuracy": scored["accuracy"], "test_images": int(len(y_test)),
                  "worst_class": worst, "worst_class_accuracy": scored["per_class_accuracy"][worst]}
    peak_kib = _peak_memory_kib()
    return {
        **scores,
        "latency_ms": {"p50": float(np.percentile(latencies, 50)), "p90": float(np.percentile(latencies, 90)),
                       "p99": float(np.percentile(latencies, 99)), "mean": float(latencies.mean()),
                       "std": float(latencies.std()), "min": float(latencies.min()), "runs": int(spec["runs"])},
        "init_ms": init_ms,
        "first_inference_ms": first_ms,
        "throughput_ips": float(throughput),
        "throughput_batch": int(spec["batch"]),
        "peak_memory_added_mib": None if peak_kib is None else round(max(0, peak_kib - baseline_kib) / 1024, 2),
    }


def _timed_calls(call, image: np.ndarray, runs: int) -> np.ndarray:
    """Milliseconds of `runs` calls of call(image), each timed on its own."""
    latencies = np.empty(runs, dtype=np.float64)
    for i in range(runs):
        started = time.perf_counter_ns()
        call(image)
        latencies[i] = _ms(time.perf_counter_ns() - started)
    return latencies


def single_image_latency(path: str | Path, image: np.ndarray, *, runs: int = 200, warmup: int = 20) -> dict[str, float]:
    """p50 and p90 milliseconds of one-image calls of the model file in its runtime on one thread, in this
    process (`fmnist-edge models --latency`; bench measures each file in a process of its own)."""
    from ...formats import runtime

    model = runtime.load_model(path, num_threads=1)
    for _ in range(warmup):
        model.predict(image)
    latencies = _timed_calls(model.predict, image, runs)
    return {"p50": float(np.percentile(latencies, 50)), "p90": float(np.percentile(latencies, 90)), "runs": runs}


def interleaved_latency_ratio(path: str | Path, reference: str | Path, image: np.ndarray, *, rounds: int = 25,
                              calls: int = 20, warmup: int = 20) -> dict[str, Any]:
    """Single-image latency of `path` relative to `reference`, both on one thread, timed in alternating rounds
    in this process: each round times `calls` calls of one file, then of the other (the order swaps every
    round), and takes the ratio of the two rounds' medians. The result is the median of the round ratios,
    with their 10th and 90th percentiles. A load that comes and goes (another process, a busy neighbour on a
    shared machine) lands on both files of a round alike, so the ratio holds where two separate p50s,
    measured a second apart, do not.

    Args:
        image: one uint8 image shaped (1, H, W, C), the input both files take.

    Returns:
        {"ratio", "ratio_p10", "ratio_p90", "p50_ms", "reference_p50_ms", "rounds", "calls"}
    """
    from ...formats import runtime

    models = [runtime.load_model(path, num_threads=1), runtime.load_model(reference, num_threads=1)]
    for model in models:
        for _ in range(warmup):
            model.run(image)
    medians = np.empty((rounds, 2), dtype=np.float64)
    timings = np.empty(calls, dtype=np.float64)
    for r in range(rounds):
        for k in ((0, 1) if r % 2 == 0 else (1, 0)):
            run = models[k].run
            for i in range(calls):
                started = time.perf_counter_ns()
                run(image)
                timings[i] = time.perf_counter_ns() - started
            medians[r, k] = np.median(timings) / 1e6
    ratios = medians[:, 0] / medians[:, 1]
    return {"ratio": float(np.median(ratios)), "ratio_p10": float(np.percentile(ratios, 10)),
            "ratio_p90": float(np.percentile(ratios, 90)), "p50_ms": float(np.median(medians[:, 0])),
            "reference_p50_ms": float(np.median(medians[:, 1])), "rounds": rounds, "calls": calls}


def _prepare_runtime(spec) -> None:
    from ...formats import runtime

    if spec["path"].endswith(".tflite"):
        runtime._tflite_interpreter_class()
    else:
        import onnxruntime  # noqa: F401


def _runtime_loader(spec, data):
    from ...formats import runtime

    model = runtime.load_model(spec["path"], num_threads=spec["threads"])
    model.run(data.x_test[:1, ..., None])  # TFLite allocates tensors on the first call: part of init
    return model.run


def _prepare_keras(spec) -> None:
    from ... import _tf

    tf = _tf.tf()
    tf.config.threading.set_intra_op_parallelism_threads(spec["threads"])
    tf.config.threading.set_inter_op_parallelism_threads(1)


def _keras_loader(spec, data):
    from ... import _tf
    from ...artifacts.keras_files import load_float32_model

    tf = _tf.tf()

    model = load_float32_model(spec["path"], spec["model"], data.image_shape, data.num_classes)
    graph = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def run(images: np.ndarray) -> np.ndarray:
        return graph(tf.constant(float_pixels(images))).numpy()

    run(data.x_test[:1, ..., None])  # trace once: part of init, as allocation is for TFLite
    return run


def _ms(nanoseconds: int) -> float:
    return nanoseconds / 1e6


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_memory() -> int:
    """Reset the peak resident set to the current one (Linux: clear_refs 5); return the current one in KiB."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return _status_kib("VmRSS") or 0


def _peak_memory_kib() -> int | None:
    return _status_kib("VmHWM")


def main() -> int:
    spec = json.loads(sys.argv[1])
    if spec.get("threads"):
        os.environ.setdefault("OMP_NUM_THREADS", str(spec["threads"]))
    try:
        from ..._quiet import quiet_native_stderr

        with quiet_native_stderr():
            result = measure(spec)
    except Exception as exc:  # reported to the parent as one line; it names the file
        print(json.dumps({"error": f"{spec.get('path')}: {one_line(exc)}"}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
