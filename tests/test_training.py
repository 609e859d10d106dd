"""Training on real Fashion-MNIST subsets: the run directory, resume, faults, CLI errors."""
import csv
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fmnist_edge.cli import cli
from fmnist_edge.errors import TrainingError

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """The README's quick run: vgg198k, one epoch on the first 3,000 training images."""
    out = tmp_path_factory.mktemp("runs") / "q"
    result = CliRunner().invoke(cli, ["train", "--model", "vgg198k", "--epochs", "1", "--limit", "3000",
                                      "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return out, json.loads(result.output)


def test_quick_run_writes_the_run_directory(quick_run):
    out, printed = quick_run
    for name in ("model.keras", "run.json", "history.csv", "metrics.json", "plots/curves.png", "plots/confusion.png"):
        assert (out / name).is_file(), name
    assert any((out / "checkpoints").rglob("*.index")), "no resumable checkpoint"
    assert not list(out.rglob(".*partial*")), "temporary files left behind"

    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete"
    assert record["epochs_completed"] == 1
    assert record["settings"]["model"] == "vgg198k" and record["settings"]["limit"] == 3000
    assert record["data"]["train"] + record["data"]["val"] == 3000 and record["data"]["test"] == 10000
    assert record["versions"]["tensorflow"].startswith("2.")
    assert record["wall_time_s"] > 0 and record["train_images_per_s"] > 0
    # The tests run from a git checkout (CI clones it): the run names the commit its code came from.
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert record["git"]["commit"] == head and isinstance(record["git"]["dirty"], bool)

    metrics = json.loads((out / "metrics.json").read_text())
    assert printed["test_accuracy"] == metrics["test_accuracy"]
    assert metrics["test_images"] == 10000
    assert metrics["params"] == record["params"]
    confusion = np.array(metrics["confusion_matrix"])
    assert confusion.shape == (10, 10) and confusion.sum() == 10000
    assert metrics["test_accuracy"] == pytest.approx(np.trace(confusion) / 10000)
    assert set(metrics["per_class_accuracy"]) == set(metrics["class_names"])

    with open(out / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"} <= set(rows[0])


def test_quick_run_learns_far_above_chance(quick_run):
    _, printed = quick_run
    assert printed["test_accuracy"] > 0.35  # chance is 0.10; 22 steps of training reach ~0.43


def test_existing_run_is_refused_without_force(quick_run):
    out, _ = quick_run
    before = (out / "model.keras").read_bytes()
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "500", "--out", str(out)])
    assert result.exit_code == 2
    assert "already exists; pass --force" in result.output
    assert (out / "model.keras").read_bytes() == before


def test_complete_run_cannot_be_resumed(quick_run):
    out, _ = quick_run
    result = CliRunner().invoke(cli, ["train", "--resume", "--out", str(out)])
    assert result.exit_code == 2
    assert "already complete (1 epochs)" in result.output


def test_force_replaces_a_run(tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "run.json").write_text('{"status": "complete"}')
    (out / "stale.txt").write_text("old")
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "600",
                                      "--val-split", "0", "--out", str(out), "--force", "--json"])
    assert result.exit_code == 0, result.output
    assert not (out / "stale.txt").exists()
    assert (out / "model.keras").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # the old run, moved aside, is gone too


def test_force_over_a_run_with_undeletable_files_trains_and_says_where_they_are(tmp_path):
    import os

    out = tmp_path / "r"
    (out / "checkpoints").mkdir(parents=True)
    (out / "run.json").write_text('{"status": "complete"}')
    stuck = out / "checkpoints" / "stuck.index"
    stuck.write_text("old")
    # Root ignores permission bits: the immutable attribute stops it; a user is stopped by the folder's bits.
    lock = (["chattr", "+i", str(stuck)], ["chattr", "-i"]) if os.geteuid() == 0 else None
    if lock:
        subprocess.run(lock[0], check=True)
    else:
        (out / "checkpoints").chmod(0o555)
    try:
        result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "600",
                                          "--val-split", "0", "--out", str(out), "--force", "--json"])
        assert result.exit_code == 0, result.output
        assert (out / "model.keras").exists() and not (out / "checkpoints" / "stuck.index").exists()
        trash = [p for p in tmp_path.iterdir() if p.name != "r"]
        assert [p.name for p in trash] == [f".r.replaced-{os.getpid()}"]
        assert (trash[0] / "checkpoints" / "stuck.index").read_text() == "old"
        assert f"could not delete all of the old run; what is left is in {trash[0]}" in result.output
    finally:
        for p in tmp_path.rglob("stuck.index"):
            if lock:
                subprocess.run([*lock[1], str(p)], check=True)
            else:
                p.parent.chmod(0o755)


def test_force_never_empties_a_folder_that_is_not_a_run(tmp_path):
    out = tmp_path / "home"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "600",
                                      "--out", str(out), "--force"])
    assert result.exit_code == 2, result.output
    assert "not a run directory (no run.json) and not empty; --force replaces only runs" in result.output
    assert result.output.count("\n") == 1 and [p.name for p in out.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "term", "kill-9"])
def test_stopped_run_resumes_to_the_same_epoch_count(tmp_path, stop):
    """Ctrl-C, kill or kill -9 after the first checkpoint; --resume continues from it and stops at epoch 8."""
    out = tmp_path / "killed"
    # An epoch of 20,000 images lasts under a second on an AVX-512 CPU, where 3 epochs could end (and the
    # signal land in the interpreter's exit) between two polls: 8 epochs leave room on any CPU.
    epochs = 8
    command = [sys.executable, "-m", "fmnist_edge", "train", "--model", "mlp", "--epochs", str(epochs), "--limit",
               "20000", "--out", str(out)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            # The checkpoint's state file is written last: a stop before it repeats epoch 1 by design.
            if _completed_epochs(out) >= 1 and any((out / "checkpoints").rglob("checkpoint")):
                break
            time.sleep(0.2)
        assert proc.poll() is None, f"training ended before it could be killed: {proc.stderr.read().decode()}"
        proc.send_signal(stop)
    finally:
        proc.wait(timeout=60)
    if stop != signal.SIGKILL:  # SIGTERM is handled as Ctrl-C is
        assert proc.returncode == 130
        message = proc.stderr.read().decode()
        done = _completed_epochs(out)
        assert f"interrupted after {done} complete epochs; continue with: fmnist-edge train --resume --out" in message
        assert "Traceback" not in message
        assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    killed_at = _completed_epochs(out)
    assert 1 <= killed_at < epochs
    first_epoch = _history(out)[0]

    result = subprocess.run(command[:4] + ["--resume", "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete" and record["epochs_completed"] == epochs
    history = _history(out)
    assert [row["epoch"] for row in history] == [str(e) for e in range(1, epochs + 1)]
    assert history[0] == first_epoch, "epoch 1 was trained again instead of restored"


def test_a_stop_whose_keyboard_interrupt_was_lost_still_stops_at_the_next_step(tmp_path, monkeypatch):
    """Inside a finaliser Python prints the signal's KeyboardInterrupt and drops it; the flag the handler
    sets is checked at every step, so the run still stops, resumably, with exit 130."""
    import fmnist_edge.fitting.loop as loop
    out = tmp_path / "lost"
    # The request arrives (its exception lost) once epoch 1 is recorded and checkpointed.
    monkeypatch.setattr(loop, "stop_requested", lambda: _completed_epochs(out) >= 1)
    args = ["train", "--model", "mlp", "--epochs", "3", "--limit", "1200", "--out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 130, result.output
    assert f"interrupted after 1 complete epochs; continue with: fmnist-edge train --resume --out {out}" in result.output
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"

    monkeypatch.setattr(loop, "stop_requested", lambda: False)
    result = CliRunner().invoke(cli, ["train", "--resume", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert [row["epoch"] for row in _history(out)] == ["1", "2", "3"]


def test_the_stop_handler_raises_and_remembers_the_request(monkeypatch):
    from fmnist_edge import stopping
    monkeypatch.setattr(stopping, "_requested", False)
    assert not stopping.stop_requested()
    with pytest.raises(KeyboardInterrupt):
        stopping._stop(signal.SIGTERM, None)
    assert stopping.stop_requested()


def test_finish_ends_an_interrupted_run_at_its_last_epoch(tmp_path):
    out = tmp_path / "cut"
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--epochs", "1", "--limit", "1200", "--out", str(out)])
    assert result.exit_code == 0, result.output
    # The state a run interrupted after epoch 1 of 3 leaves: no test score, no plots, not complete.
    record = json.loads((out / "run.json").read_text())
    record["settings"]["epochs"], record["status"] = 3, "interrupted"
    del record["finished"]
    (out / "run.json").write_text(json.dumps(record))
    expected = json.loads((out / "metrics.json").read_text())
    (out / "metrics.json").unlink()
    shutil.rmtree(out / "plots")
    model, history = (out / "model.keras").read_bytes(), _history(out)

    result = CliRunner().invoke(cli, ["train", "--resume", "--finish", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"mlp: test accuracy {100 * expected['test_accuracy']:.2f}%")
    record = json.loads((out / "run.json").read_text())
    assert record["status"] == "complete" and record["finished"] and record["epochs_completed"] == 1
    assert record["ended_early"]["after_epoch"] == 1 and record["ended_early"]["of"] == 3
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] == expected["test_accuracy"]
    assert (out / "model.keras").read_bytes() == model and _history(out) == history  # nothing trained
    assert (out / "plots" / "curves.png").is_file()

    again = CliRunner().invoke(cli, ["train", "--resume", "--finish", "--out", str(out)])
    assert again.exit_code == 2 and "run already complete (1 epochs); nothing to resume" in again.output


def test_nan_loss_stops_with_a_clear_error(tmp_path):
    from fmnist_edge.stages.train import train

    out = tmp_path / "nan"
    with pytest.raises(TrainingError) as info:
        # Plain SGD at an absurd learning rate overflows within the first epoch.
        train("mlp", out, optimizer="sgd", lr=1e12, schedule="constant", epochs=2, limit=1000, progress="none")
    assert "loss became NaN in epoch 1" in str(info.value)
    assert "no model was kept" in str(info.value)
    assert json.loads((out / "run.json").read_text())["status"] == "diverged"


@pytest.mark.parametrize("args, message", [
    (["--model", "nope"], "unknown model 'nope'"),
    (["--val-split", "1.5"], "--val-split must be in [0, 1)"),
    (["--data-dir", "/nonexistent/fmnist"], "/nonexistent/fmnist"),
    (["--resume"], "--resume needs --out"),
    (["--finish", "--out", "somewhere"], "--finish ends an interrupted run: give it with --resume --out RUN_DIR"),
    (["--resume", "--lr", "0.1", "--out", "somewhere"], "--resume continues with the run's saved settings; drop --epochs, --limit, --lr"),
])
def test_cli_errors_are_one_line_and_exit_2(tmp_path, args, message):
    out = tmp_path / "never"
    if "--out" not in args and "--resume" not in args:
        args = args + ["--out", str(out)]
    result = CliRunner().invoke(cli, ["train", "--epochs", "1", "--limit", "100"] + args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not out.exists(), "a failed start must not leave a run directory"


def _completed_epochs(out: Path) -> int:
    try:
        return json.loads((out / "run.json").read_text()).get("epochs_completed", 0)
    except (OSError, ValueError):
        return 0


def _history(out: Path) -> list[dict]:
    with open(out / "history.csv") as f:
        return list(csv.DictReader(f))


def test_divergence_after_a_good_epoch_keeps_that_epochs_model(tmp_path):
    """The recorder saves improving epochs and flags the first non-finite loss without saving it."""
    from fmnist_edge import _tf
    from fmnist_edge.models import build_model
    from fmnist_edge.artifacts.rundir import prepare_new_run
    from fmnist_edge.settings import resolve_settings
    from fmnist_edge.fitting.distribution import make_distribution
    from fmnist_edge.stages.train import _RunRecorder, _Trainer

    settings = resolve_settings("mlp", epochs=3)
    trainer = _Trainer(settings, prepare_new_run(tmp_path / "r", force=False), {}, view=None, progress="none",
                       distribution=make_distribution("one"))
    net = build_model("mlp")
    net.compile(optimizer=_tf.keras().optimizers.Adam(1e-3), loss="categorical_crossentropy")
    recorder = _RunRecorder(trainer, train_images=100, has_validation=True)
    recorder.set_model(net)
    for epoch, logs in enumerate([dict(loss=0.9, accuracy=0.6, val_loss=0.8, val_accuracy=0.70),
                                  dict(loss=0.5, accuracy=0.8, val_loss=0.7, val_accuracy=0.65),
                                  dict(loss=float("nan"), accuracy=0.1, val_loss=float("nan"), val_accuracy=0.1)]):
        recorder.on_epoch_begin(epoch)
        recorder.on_epoch_end(epoch, logs)
    assert recorder.diverged_epoch == 3 and net.stop_training
    assert trainer.record["best"] == {"epoch": 1, "val_accuracy": 0.70, "monitor": "val_accuracy"}
    assert trainer.record["epochs_completed"] == 3
    assert (tmp_path / "r" / "model.keras").is_file()
    assert [row["epoch"] for row in json.loads((tmp_path / "r" / "run.json").read_text())["history"]] == [1, 2, 3]


def test_closet_dataset_written_by_the_cli_trains(tmp_path):
    closet = tmp_path / "closet"
    make = ["data", "closet", "--n", "500", "--n-test", "100", "--seed", "1", "--out", str(closet)]
    result = CliRunner().invoke(cli, make)
    assert result.exit_code == 0, result.output
    assert "500 train and 100 test canvases 64x128, 9 price classes" in result.output
    assert (closet / "preview.png").is_file()
    again = CliRunner().invoke(cli, make)
    assert again.exit_code == 2 and "already exists; refusing to overwrite it without force" in again.output

    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "--model", "mlp", "--dataset", "closet", "--data-dir", str(closet),
                                      "--epochs", "1", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["class_names"] == [f"${p}" for p in range(5, 14)]
    assert metrics["test_images"] == 100 and np.array(metrics["confusion_matrix"]).shape == (9, 9)
    record = json.loads((out / "run.json").read_text())
    assert record["data"]["image_shape"] == [64, 128, 1] and record["data"]["train"] == 450


def test_a_run_being_written_is_locked_against_a_second_writer(tmp_path):
    import json as json_module
    import os as os_module

    from fmnist_edge.errors import RunDirError
    from fmnist_edge.artifacts.rundir import LOCK_FILE, lock_holder, prepare_new_run, run_lock

    run = tmp_path / "r"
    run.mkdir()
    (run / "run.json").write_text("{}")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / LOCK_FILE).write_text(json_module.dumps({"pid": sleeper.pid, "step": "train"}))
        assert lock_holder(run) == (sleeper.pid, "train")
        with pytest.raises(RunDirError, match=rf"in use by pid {sleeper.pid} \(train\)"):
            with run_lock(run, "export"):
                pass
        with pytest.raises(RunDirError, match="--force never replaces a run that is being written"):
            prepare_new_run(run, force=True)
        assert (run / "run.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    # The holder is gone: its lock is stale and taken over, then released.
    with run_lock(run, "export"):
        assert json_module.loads((run / LOCK_FILE).read_text())["pid"] == os_module.getpid()
    assert not (run / LOCK_FILE).exists()
