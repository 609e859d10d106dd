"""bench and check on a quickly trained, exported model: every column, the baseline, the budget gate."""
import csv
import gzip
import io
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from fmnist_edge import _tf
from fmnist_edge.formats import runtime
from fmnist_edge.stages.benchmark import bench
from fmnist_edge.cli import cli
from fmnist_edge.formats.inspection import tflite_macs

pytestmark = pytest.mark.slow
RUNS = 30


@pytest.fixture(scope="module")
def benched(exported, tmp_path_factory):
    """The exported mlp run benched against itself as the baseline, on 1 and 2 threads."""
    out = tmp_path_factory.mktemp("bench")
    run = exported.path.parent
    return bench([run], baseline=run, runs=RUNS, warmup=3, threads=(1, 2), out=out, plot=True)


def test_every_artifact_gets_a_row_per_thread_count(benched, exported):
    formats = [r["format"] for r in benched.rows if r["threads"] == 1]
    assert formats == ["tflite-fp32", "keras", "tflite-fp32", "tflite-fp16", "tflite-dynamic", "tflite-int8",
                       "tflite-int8-b1", "tflite-int8-mirror", "tflite-int8-mirror-b1", "onnx"]
    assert benched.rows[0]["baseline"] and sum(r["baseline"] for r in benched.rows) == 2
    assert [r["threads"] for r in benched.rows] == [1] * 10 + [2] * 10


def test_sizes_macs_and_params_match_the_files(benched, exported):
    model = _tf.keras().models.load_model(exported.path.parent / "model.keras", compile=False)
    dense_macs = sum(int(np.prod(layer.kernel.shape)) for layer in model.layers if hasattr(layer, "kernel"))
    for row in benched.rows:
        data = open(row["path"], "rb").read()
        assert row["size_bytes"] == len(data)
        assert row["gzip_bytes"] == len(gzip.compress(data, compresslevel=9))
        assert row["macs"] == dense_macs  # an mlp: one multiply-accumulate per dense weight
        assert row["params"] == model.count_params()


def test_timings_are_ordered_and_positive(benched):
    for row in benched.rows:
        lat = row["latency_ms"]
        assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] and lat["std"] >= 0 and lat["runs"] == RUNS
        assert row["init_ms"] > 0 and row["first_inference_ms"] > 0 and row["throughput_ips"] > 0
        assert row["throughput_batch"] == 64 and row["peak_memory_added_mib"] >= 0


def test_accuracy_equals_an_independent_evaluation_in_the_runtime(benched, fashion_mnist):
    for row in benched.rows:
        if row["format"] == "keras":
            continue
        deployed = runtime.load_model(row["path"], num_threads=1)
        predicted = deployed.predict(fashion_mnist.x_test, batch_size=64).argmax(1)
        assert row["accuracy"] == float((predicted == fashion_mnist.y_test).mean()), row["format"]
        per_class = [(predicted[fashion_mnist.y_test == c] == c).mean() for c in range(10)]
        assert row["worst_class"] == fashion_mnist.class_names[int(np.argmin(per_class))]
        assert row["worst_class_accuracy"] == pytest.approx(min(per_class))
    keras_row = next(r for r in benched.rows if r["format"] == "keras")
    fp32_row = next(r for r in benched.rows if r["format"] == "tflite-fp32" and not r["baseline"])
    assert abs(keras_row["accuracy"] - fp32_row["accuracy"]) <= 0.0005  # same model, float rounding only


def test_ratios_are_against_the_baseline_of_the_same_thread_count(benched):
    for row in benched.rows:
        base = next(r for r in benched.rows if r["baseline"] and r["threads"] == row["threads"])
        assert row["x_smaller"] == round(base["size_bytes"] / row["size_bytes"], 2)
        assert row["x_faster"] == round(base["latency_ms"]["p50"] / row["latency_ms"]["p50"], 2)
        assert row["accuracy_diff_pp"] == round(100 * (row["accuracy"] - base["accuracy"]), 2)
    assert benched.rows[0]["x_smaller"] == 1 and benched.rows[0]["x_faster"] == 1


def test_accuracy_points_compare_only_rows_on_the_baseline_dataset():
    from fmnist_edge.stages.benchmark.bench import _add_ratios

    def row(dataset, accuracy, size, p50, baseline=False):
        return {"dataset": dataset, "accuracy": accuracy, "size_bytes": size, "latency_ms": {"p50": p50},
                "baseline": baseline, "threads": 1}

    rows = [row("fashion", 0.895, 1000, 2.0, baseline=True), row("fashion", 0.93, 100, 0.5), row("closet", 0.9, 250, 1.0)]
    _add_ratios(rows)
    assert [r["accuracy_diff_pp"] for r in rows] == [0.0, 3.5, None]  # a price model has no points against a garment baseline
    assert [(r["x_smaller"], r["x_faster"]) for r in rows] == [(1.0, 1.0), (10.0, 4.0), (4.0, 2.0)]


def test_the_plots_draw_only_rows_on_the_baseline_dataset(tmp_path, monkeypatch):
    from fmnist_edge.artifacts import plots as report

    figures, make_figure = [], report._figure
    monkeypatch.setattr(report, "_figure", lambda **kwargs: figures.append(make_figure(**kwargs)) or figures[-1])
    rows = [{"model": model, "format": "tflite-int8", "dataset": dataset, "accuracy": accuracy, "size_bytes": size,
             "latency_ms": {"p50": 1.0}, "baseline": model == "resnet50", "threads": 1}
            for model, dataset, accuracy, size in (("resnet50", "fashion", 0.895, 1000), ("vgg-a", "fashion", 0.93, 100),
                                                   ("closet-net", "closet", 0.61, 250))]
    report.plot_bench(rows, tmp_path)
    by_size = {tuple(point) for c in figures[0].axes[0].collections for point in c.get_offsets().tolist()}
    assert {(1000.0, 89.5), (100.0, 93.0)} <= by_size and (250.0, 61.0) not in by_size


def test_bench_json_tables_and_plots(benched):
    record = json.loads(benched.json_path.read_text())
    assert record["rows"] == benched.rows and record["clock"] == "time.perf_counter_ns"
    assert record["machine"]["cores"] >= 1 and record["versions"]["ai-edge-litert"]
    from fmnist_edge.artifacts.provenance import cpu_features
    assert record["machine"]["cpu_features"] == cpu_features()
    assert f"{RUNS} timed runs" in record["method"] and "3 warm-up calls" in record["method"]
    table = benched.table("table").splitlines()
    assert len(table) == 1 + len(benched.rows) and table[0].split()[:3] == ["model", "format", "thr"]
    assert max(len(line) for line in table) <= 100  # a terminal's width; every field is in md/csv/json
    assert table[1].split()[0] == benched.rows[0]["model"] + "*"  # the baseline row is marked
    md = benched.table("md").splitlines()
    assert md[1].startswith("|---|") and len(md) == 2 + len(benched.rows)
    parsed = list(csv.DictReader(io.StringIO(benched.table("csv"))))
    assert len(parsed) == len(benched.rows) and float(parsed[1]["p50 ms"]) == benched.rows[1]["latency_ms"]["p50"]
    assert json.loads(benched.table("json")) == benched.rows
    assert [p.name for p in benched.plots] == ["bench_accuracy_vs_size.png", "bench_accuracy_vs_latency.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in benched.plots)


def test_the_cpu_record_names_the_features_that_change_its_speed(tmp_path):
    from fmnist_edge.artifacts.provenance import cpu_features
    info = tmp_path / "cpuinfo"
    info.write_text("model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2 fma avx512f avx512_bf16 avx512_vnni\n")
    assert cpu_features(info) == ["avx2", "avx512f", "avx512_vnni", "avx512_bf16"]
    info.write_text("model name\t: AMD EPYC\nflags\t\t: fpu sse2 avx avx2\n")
    assert cpu_features(info) == ["avx2"]
    assert cpu_features(tmp_path / "absent") == []


def test_the_default_baseline_is_the_shipped_trained_resnet50(tmp_path):
    from fmnist_edge.stages.benchmark.bench import TRAINED_BASELINE_RUN, baseline_artifact

    artifact = baseline_artifact("resnet50", tmp_path)
    assert artifact.path == TRAINED_BASELINE_RUN / "export" / "model_fp32.tflite" and artifact.path.is_file()
    assert artifact.model == "resnet50" and artifact.trained and artifact.baseline
    assert artifact.params == 23_601_930 and artifact.macs == tflite_macs(artifact.path.read_bytes())
    assert not (tmp_path / "resnet50-untrained-fp32.tflite").exists()  # nothing built


def test_the_untrained_baseline_has_no_accuracy(exported, tmp_path):
    model = exported.path / "model_int8.tflite"
    result = CliRunner().invoke(cli, ["bench", str(model), "--out", str(tmp_path), "--runs", "5", "--warmup", "1",
                                      "--baseline", "resnet50-untrained"])
    assert result.exit_code == 0, result.output
    base, row = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert base["model"] == "resnet50" and base["trained"] is False and base["accuracy"] is None
    assert base["params"] == 23_601_930 and base["macs"] > 50 * row["macs"]
    assert base["size_bytes"] == (tmp_path / "baseline" / "resnet50-untrained-fp32.tflite").stat().st_size
    assert row["accuracy_diff_pp"] is None and row["x_smaller"] > 100
    assert row["macs"] == tflite_macs(model.read_bytes())
    assert "untrained" in result.stdout.splitlines()[1]


@pytest.mark.parametrize("args, message", [
    (["nowhere"], "nowhere: no such run directory or model file"),
    (["{labels}"], "labels.txt: bench takes run directories, .tflite or .onnx files"),
    (["{int8}", "--plot", "--baseline", "none"], "--plot writes PNG files: give --out FOLDER"),
    (["{int8}", "--baseline", "{tmp}/missing.tflite"], "missing.tflite: no such file or run directory; give resnet50"),
    (["{int8}", "--out", "{tmp}", "--threads", "one"], "--threads takes counts of 1 or more, such as 1 or 1,2; got 'one'"),
    (["{int8}", "--out", "{tmp}", "--runs", "0"], "--runs, --batch and --threads must be at least 1"),
    (["{int8}", "--out", "{tmp}", "--baseline", "{tmp}"], "not a run directory (no run.json)"),
])
def test_bad_bench_input_is_one_line_and_exit_2(exported, tmp_path, args, message):
    values = {"labels": exported.path / "labels.txt", "int8": exported.path / "model_int8.tflite", "tmp": tmp_path}
    result = CliRunner().invoke(cli, ["bench"] + [a.format(**values) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_without_out_bench_prints_the_table_and_writes_nothing(exported, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = exported.path / "model_int8.tflite"
    result = CliRunner().invoke(cli, ["bench", str(model), "--runs", "5", "--warmup", "1", "--baseline", "none"])
    assert result.exit_code == 0, result.output
    assert "model_int8" in result.stdout and "(nothing written; --out FOLDER keeps bench.json)" in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_missing_trained_baseline_is_refused_never_replaced(exported, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a folder without shipped/resnet50-paper, as outside the repository
    result = CliRunner().invoke(cli, ["bench", str(exported.path / "model_int8.tflite"), "--baseline", "resnet50"])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == ("Error: --baseline resnet50: the trained ResNet-50 (shipped/resnet50-paper/export/"
                                     "model_fp32.tflite) is not here; run from the repository, or give --baseline "
                                     "resnet50-untrained, --baseline FILE (.tflite/.onnx) or --baseline none")


def test_any_model_file_can_be_the_baseline(exported, tmp_path):
    model, reference = exported.path / "model_int8.tflite", exported.path / "model_fp32.tflite"
    result = CliRunner().invoke(cli, ["bench", str(model), "--runs", "20", "--warmup", "2", "--baseline", str(reference),
                                      "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    base, row = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert base["baseline"] and base["path"] == str(reference) and base["accuracy"] is not None
    assert row["x_smaller"] == round(base["size_bytes"] / row["size_bytes"], 2)
    assert row["x_float_latency"] == round(row["latency_ms"]["p50"] / base["latency_ms"]["p50"], 3)


# --- check --------------------------------------------------------------------------------


@pytest.fixture
def budget_dir(exported, tmp_path):
    shutil.copytree(exported.path, tmp_path / "export")
    shutil.copytree(exported.path.parent, tmp_path / "run", ignore=shutil.ignore_patterns("export", "checkpoints"))
    return tmp_path


def _write(folder, text):
    (folder / "budget.toml").write_text(text)
    return str(folder / "budget.toml")


def test_check_passes_when_every_limit_holds(budget_dir, exported):
    accuracy = exported.record["formats"]["tflite-int8"]["accuracy"]
    budget = _write(budget_dir, f"""
[[model]]
name = "mlp int8"
file = "export/model_int8.tflite"
source = "run"
max_drop = 5.0
min_accuracy = {accuracy - 0.01}
max_size_bytes = 10_000_000
max_latency_ratio = 50
reference = "export/model_fp32.tflite"
""")
    result = CliRunner().invoke(cli, ["check", "--budget", budget])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith(("PASS", "FAIL"))]
    assert len(lines) == 4 and all(line.startswith("PASS  mlp int8: ") for line in lines)
    assert f"accuracy {100 * accuracy:.2f}%" in result.output and "4 of 4 limits hold" in result.output


def test_check_scores_identical_bytes_once_whatever_the_path(budget_dir, monkeypatch):
    from fmnist_edge.stages.benchmark import budget as budget_module

    # The zoo's files are byte copies of shipped exports: one accuracy measurement serves both entries.
    shutil.copy(budget_dir / "export" / "model_int8.tflite", budget_dir / "copy.tflite")
    scored = []
    real = budget_module._accuracy
    monkeypatch.setattr(budget_module, "_accuracy", lambda target, *a: scored.append(target.name) or real(target, *a))
    budget = _write(budget_dir, """
[[model]]
file = "export/model_int8.tflite"
min_accuracy = 0.01

[[model]]
file = "copy.tflite"
min_accuracy = 0.01

[[model]]
file = "export/model_fp32.tflite"
min_accuracy = 0.01
""")
    result = CliRunner().invoke(cli, ["check", "--budget", budget])
    assert result.exit_code == 0, result.output
    assert sorted(scored) == ["model_fp32.tflite", "model_int8.tflite"]
    accuracies = [line.split("accuracy ")[1].split("%")[0] for line in result.output.splitlines()
                  if line.startswith("PASS")]
    assert len(accuracies) == 3 and accuracies[0] == accuracies[1]


@pytest.mark.parametrize("shift, verdict", [(0.0, "PASS"), (0.0001, "FAIL")])
def test_check_holds_a_zoo_file_to_the_manifests_accuracy(tmp_path, monkeypatch, shift, verdict):
    from fmnist_edge import zoo

    folder = tmp_path / "zoo"
    folder.mkdir()
    document = json.loads((zoo.ZOO_DIR / zoo.MANIFEST).read_text())
    document["models"] = [m for m in document["models"] if m["name"] == "res-t"]
    shutil.copy(zoo.ZOO_DIR / "res-t.tflite", folder / "res-t.tflite")
    recorded = document["models"][0]["accuracy"]
    document["models"][0]["accuracy"] = recorded + shift  # a manifest left stale by a new file
    (folder / zoo.MANIFEST).write_text(json.dumps(document))
    monkeypatch.setattr(zoo, "ZOO_DIR", folder)
    budget = _write(tmp_path, "[[model]]\nname = 'zoo res-t'\nfile = 'zoo/res-t.tflite'\nmin_accuracy = 0.5\n")
    result = CliRunner().invoke(cli, ["check", "--budget", budget])
    assert result.exit_code == (0 if verdict == "PASS" else 1), result.output
    line = next(line for line in result.output.splitlines() if "zoo manifest" in line)
    if verdict == "PASS":
        assert line == f"PASS  zoo res-t: accuracy {100 * recorded:.2f}% is the zoo manifest's record"
        assert "2 of 2 limits hold" in result.output
    else:
        assert line == (f"FAIL  zoo res-t: accuracy {100 * recorded:.2f}% differs from the zoo manifest's "
                        f"{100 * (recorded + shift):.2f}% (rebuild it: python scripts/build_zoo.py)")


def test_check_times_a_closet_model_on_its_own_input_size(tmp_path):
    from fmnist_edge.formats.conversion import to_tflite

    keras = _tf.keras()
    canvas_model = keras.Sequential([keras.Input((64, 128, 1)), keras.layers.Conv2D(4, 3, strides=4),
                                     keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(9, activation="softmax")])
    (tmp_path / "closet.tflite").write_bytes(to_tflite(canvas_model, "fp32"))
    budget = _write(tmp_path, """
[[model]]
name = "closet model"
file = "closet.tflite"
dataset = "closet"
max_latency_ratio = 50
reference = "closet.tflite"
""")
    result = CliRunner().invoke(cli, ["check", "--budget", budget])
    assert result.exit_code == 0, result.output  # a 28x28 timing input would not fit its 64x128 input
    assert "PASS  closet model: latency" in result.output


@pytest.mark.parametrize("features, judged", [(["avx2"], False), (["avx2", "avx512_vnni"], True)])
def test_a_latency_limit_that_needs_a_cpu_feature_is_reported_not_judged_without_it(budget_dir, monkeypatch,
                                                                                      features, judged):
    from fmnist_edge.stages.benchmark import budget as budget_module

    monkeypatch.setattr(budget_module, "cpu_features", lambda: features)
    # A limit no file meets (the file against itself is about 1x): judged, it fails; on a CPU without the
    # feature it holds on, it is a NOTE with the ratio, and check passes.
    budget = _write(budget_dir, """
[[model]]
name = "int8 vs float"
file = "export/model_int8.tflite"
max_latency_ratio = 0.01
latency_needs = "avx512_vnni"
reference = "export/model_int8.tflite"
""")
    result = CliRunner().invoke(cli, ["check", "--budget", budget])
    if judged:
        assert result.exit_code == 1 and "FAIL  int8 vs float: latency " in result.output
        assert "0 of 1 limits hold; 1 FAILED" in result.output
    else:
        assert result.exit_code == 0, result.output
        (line,) = [line for line in result.output.splitlines() if line.startswith("NOTE")]
        assert line.startswith("NOTE  int8 vs float: latency ") and line.endswith(
            "max 0.01x); not judged: the limit holds on CPUs with avx512_vnni, and this one has avx2")
        assert "0 of 0 limits hold; 1 latency ratios measured but not judged on this CPU (NOTE lines)" in result.output


def test_check_fails_with_exit_1_and_says_which_limit(budget_dir):
    budget = _write(budget_dir, """
[[model]]
file = "export/model_int8.tflite"
min_accuracy = 0.999
max_size_bytes = 1_000_000

[[model]]
name = "fp32"
file = "export/model_fp32.tflite"
source = "run"
max_drop = -1.0
""")
    result = CliRunner().invoke(cli, ["check", "--budget", budget, "--json"])
    assert result.exit_code == 1, result.output
    verdicts = json.loads(result.stdout)
    assert [(v["limit"], v["passed"]) for v in verdicts] == [
        ("min_accuracy", False), ("max_size_bytes", True), ("max_drop", False)]
    assert verdicts[0]["model"] == "export/model_int8.tflite"
    assert verdicts[2]["measured"] == pytest.approx(0.0, abs=0.06)  # fp32 file vs its own Keras model


@pytest.mark.parametrize("text, message", [
    ("[[model]\nfile = 1", "budget.toml: not valid TOML"),
    ("title = 'x'", "unknown table 'title'"),
    ("[[model]]\nfile = 'export/model_int8.tflite'", "budget.toml: model 1: sets no limit"),
    ("[[model]]\nfile = 'export/model_int8.tflite'\nmax_szie = 3", "unknown key 'max_szie'"),
    ("[[model]]\nfile = 'export/model_int8.tflite'\nmin_accuracy = 'high'", "min_accuracy must be a number, got 'high'"),
    ("[[model]]\nfile = 'export/model_int8.tflite'\nmax_size_bytes = 1.5", "max_size_bytes must be an integer"),
    ("[[model]]\nfile = 'export/gone.tflite'\nmin_accuracy = 0.5", "file 'export/gone.tflite' does not exist"),
    ("[[model]]\nfile = 'export/model_int8.tflite'\nmax_drop = 0.5", "max_drop needs a source"),
    ("[[model]]\nfile = 'export/model_int8.tflite'\nmax_latency_ratio = 1", "max_latency_ratio needs a reference"),
    ("[[model]]\nfile = 'export/model_int8.tflite'\nmin_accuracy = 0.5\nlatency_needs = 'avx512_vnni'",
     "latency_needs qualifies a max_latency_ratio, and there is none"),
    ("[[model]]\nfile = 'export/model_int8.tflite'\nmax_latency_ratio = 1\nreference = 'export/model_int8.tflite'"
     "\nlatency_needs = 'vnni'", "latency_needs must be one of avx2, avx_vnni, avx512f, avx512_vnni"),
    ("", "no [[model]] entries"),
])
def test_a_malformed_budget_is_one_line_and_exit_2(budget_dir, text, message):
    result = CliRunner().invoke(cli, ["check", "--budget", _write(budget_dir, text)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: ") and message in result.output and result.output.count("\n") == 1


def test_a_missing_budget_file_is_exit_2(tmp_path):
    result = CliRunner().invoke(cli, ["check", "--budget", str(tmp_path / "none.toml")])
    assert result.exit_code == 2 and "none.toml: no such budget file" in result.output


def test_pipeline_runs_every_step_into_one_run_directory(exported, tmp_path):
    out = tmp_path / "pipe"
    result = CliRunner().invoke(cli, ["pipeline", "--model", "mlp", "--epochs", "1", "--limit", "2000", "--out", str(out),
                                      "--quantize-epochs", "1", "--baseline", str(exported.path.parent), "--runs", "5"])
    assert result.exit_code == 0, result.output
    for step in ("[1/4] train", "[2/4] quantize (qat)", "[3/4] export", "[4/4] bench"):
        assert step in result.stdout
    assert (out / "model.keras").is_file() and (out / "optimized/qat/model.tflite").is_file()
    record = json.loads((out / "export/model.json").read_text())
    assert record["int8_source"].endswith("optimized/qat/model.h5")  # the int8 export comes from QAT
    rows = json.loads((out / "bench.json").read_text())["rows"]
    assert {r["format"] for r in rows} >= {"keras", "tflite-int8", "onnx", "optimized/qat"}
    assert (out / "plots/bench_accuracy_vs_size.png").is_file()
    again = CliRunner().invoke(cli, ["pipeline", "--model", "mlp", "--epochs", "1", "--out", str(out)])
    assert again.exit_code == 2 and "already exists" in again.output  # a finished run is never overwritten


def test_the_latency_ratio_alternates_rounds_of_both_files(exported):
    from fmnist_edge.stages.benchmark.measure import interleaved_latency_ratio

    model = exported.path / "model_int8.tflite"
    image = np.zeros((1, 28, 28, 1), np.uint8)
    timed = interleaved_latency_ratio(model, exported.path / "model_fp32.tflite", image, rounds=6, calls=3, warmup=1)
    assert set(timed) == {"ratio", "ratio_p10", "ratio_p90", "p50_ms", "reference_p50_ms", "rounds", "calls"}
    assert timed["rounds"] == 6 and timed["calls"] == 3
    assert 0 < timed["ratio_p10"] <= timed["ratio"] <= timed["ratio_p90"]
    assert timed["p50_ms"] > 0 and timed["reference_p50_ms"] > 0
