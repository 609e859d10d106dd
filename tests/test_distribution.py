"""tf.distribute on this machine: mirrored over two logical CPUs, two multi-worker processes on
127.0.0.1 (one killed mid-epoch, then resumed), and mirrored quantization fine-tuning.

Every run trains the mlp for 3 epochs on 12,000 real images with the same global batch (64) and
seed. Distributed runs must end within TOLERANCE_PP of the single-device run's test accuracy:
replicas draw their own dropout masks, sum gradients in another order, and a resumed run restarts
the interrupted epoch on a fresh shuffle, so the runs are equivalent, not bit-identical. Measured here: two seeds on one device differ by
0.37 points, mirrored and one device by 0.25 and 0.16 (seeds 3 and 4). Repeats of seed 3 spread further,
since even one device sums in threads: one device 76.30, 76.38, 76.53, 76.75%; mirrored 75.59, 75.63,
76.27, 76.84%. Their largest difference, 1.16 points, failed a 1-point tolerance once in CI; 2 points
covers it.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.slow
TOLERANCE_PP = 2.0
TRAIN = ["train", "--model", "mlp", "--epochs", "3", "--limit", "12000", "--batch-size", "64", "--seed", "3"]


def _cli(*args):
    return [sys.executable, "-m", "fmnist_edge", *args]


def _accuracy(run):
    return 100 * json.loads((run / "metrics.json").read_text())["test_accuracy"]


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist") / "one"
    subprocess.run(_cli(*TRAIN, "--strategy", "one", "--out", str(out)), check=True, capture_output=True)
    return out


def test_mirrored_on_two_logical_cpus_matches_one_device(single, tmp_path):
    out = tmp_path / "mirrored"
    done = subprocess.run(_cli(*TRAIN, "--strategy", "mirrored", "--logical-cpus", "2", "--out", str(out)),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((out / "run.json").read_text())
    assert record["distribution"]["replicas"] == 2 and record["distribution"]["name"] == "mirrored"
    assert [d.split("/")[-1] for d in record["distribution"]["devices"]] == ["device:CPU:0", "device:CPU:1"]
    assert abs(_accuracy(out) - _accuracy(single)) <= TOLERANCE_PP, (_accuracy(out), _accuracy(single))


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start_workers(out, args, logs):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}}))
        log = open(logs / f"worker{index}.log", "a")
        workers.append(subprocess.Popen(_cli(*args, "--strategy", "multi-worker", "--out", str(out)), env=env,
                                        stdout=log, stderr=subprocess.STDOUT, text=True))
    return workers


def _epochs_completed(out):
    try:
        return json.loads((out / "run.json").read_text())["epochs_completed"]
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


def test_two_workers_survive_a_killed_worker_and_match_one_device(single, tmp_path):
    out = tmp_path / "multi"
    workers = _start_workers(out, TRAIN, tmp_path)
    deadline = time.monotonic() + 240
    while _epochs_completed(out) < 1:
        assert time.monotonic() < deadline and all(w.poll() is None for w in workers), \
            (tmp_path / "worker0.log").read_text()[-2000:]
        time.sleep(0.2)
    time.sleep(1.5)  # into epoch 2
    workers[1].send_signal(signal.SIGKILL)
    assert workers[0].wait(timeout=120) == 1  # the chief notices the lost peer and stops, one line
    chief_log = (tmp_path / "worker0.log").read_text()
    assert "Error: the multi-worker job lost a worker after 1 complete epochs" in chief_log
    assert "Traceback" not in chief_log
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "interrupted" and record["epochs_completed"] == 1
    first_epoch = record["history"][0]

    resumed = _start_workers(out, ["train", "--resume"], tmp_path)
    assert [w.wait(timeout=300) for w in resumed] == [0, 0], (tmp_path / "worker0.log").read_text()[-2000:]
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete" and [row["epoch"] for row in record["history"]] == [1, 2, 3]
    assert record["history"][0] == first_epoch
    assert record["distribution"]["replicas"] == 2 and record["distribution"]["task"]["index"] == 0
    assert sorted(p.name for p in out.iterdir()) == ["checkpoints", "history.csv", "metrics.json", "model.keras",
                                                     "plots", "run.json"]  # the chief's writes only
    assert abs(_accuracy(out) - _accuracy(single)) <= TOLERANCE_PP, (_accuracy(out), _accuracy(single))


def test_quantization_fine_tuning_runs_mirrored(single):
    # prune+qat fine-tunes twice in one process: pruning, then quantization-aware training
    done = subprocess.run(_cli("quantize", str(single), "--method", "prune+qat", "--epochs", "1", "--strategy",
                               "mirrored", "--logical-cpus", "2", "--max-drop", "100", "--json"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads(done.stdout)
    assert metrics["distribution"]["replicas"] == 2 and metrics["settings"]["epochs"] == 1
    assert metrics["sparsity"]["overall"] == pytest.approx(0.5, abs=0.01)
    assert metrics["sparsity"]["per_layer"] == metrics["sparsity_before_qat"]["per_layer"]
    assert metrics["input"]["dtype"] == "uint8"


def test_bad_distribution_settings_are_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    done = subprocess.run(_cli(*TRAIN, "--strategy", "multi-worker", "--out", str(tmp_path / "x")), env=env,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "TF_CONFIG, which is not set" in done.stderr
    done = subprocess.run(_cli(*TRAIN, "--strategy", "multi-worker", "--out", str(tmp_path / "x")),
                          env=dict(env, TF_CONFIG="{not json"), capture_output=True, text=True)
    assert done.returncode == 2 and "TF_CONFIG is not a valid cluster description" in done.stderr
    assert not (tmp_path / "x").exists()
