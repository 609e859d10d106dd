"""The one progress mechanism: what each mode prints, and the Keras callback every fitting loop uses."""
import io

import numpy as np
import pytest

from fmnist_edge.progress import Progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_lines_mode_prints_lines_and_announced_steps_only():
    out = io.StringIO()
    progress = Progress("lines", lines=out, bar_stream=out)
    progress.line("[1/4] train")
    with progress.task("export", 4) as task:  # steps of an unannounced task are not lines
        task.start("tflite-int8: converting")
        task.advance(4)
    with progress.task("measuring", 2, announce=True) as task:
        for name in ("a.tflite", "b.onnx"):
            task.start(name)
            task.advance()
    assert out.getvalue() == "[1/4] train\nmeasuring a.tflite\nmeasuring b.onnx\n"


def test_none_mode_prints_nothing():
    out = io.StringIO()
    progress = Progress("none", lines=out, bar_stream=out)
    progress.line("hidden")
    with progress.task("measuring", 3, announce=True) as task:
        task.start("x")
        task.advance(3)
    assert out.getvalue() == ""


def test_bar_mode_draws_on_the_bar_stream_and_clears_it_when_done():
    lines, bars = io.StringIO(), _Terminal()
    progress = Progress("bar", lines=lines, bar_stream=bars)
    with progress.task("measuring", 2) as task:
        task.start("vgg-a tflite-int8")
        task.advance()
        task.advance(5)  # clamped to the total
        assert task.position == 2
    progress.line("done")
    drawn = bars.getvalue()
    assert "measuring vgg-a tflite-int8" in drawn and "2/2" in drawn
    # the finished bar is erased and the cursor shown again: the line that follows takes its place
    assert drawn.endswith("\r\x1b[2K\x1b[?25h")
    assert lines.getvalue() == "done\n"


def test_auto_is_a_bar_on_a_terminal_and_lines_elsewhere():
    assert Progress("auto", bar_stream=_Terminal()).mode == "bar"
    assert Progress("auto", bar_stream=io.StringIO()).mode == "lines"
    assert Progress.of("none").mode == "none"
    given = Progress("lines")
    assert Progress.of(given) is given


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="progress must be one of"):
        Progress("verbose")


@pytest.mark.parametrize("mode", ["lines", "bar"])
def test_the_keras_callback_prints_one_line_per_epoch(mode):
    from fmnist_edge import _tf
    from fmnist_edge.fitting.loop import epoch_progress

    keras = _tf.keras()
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.layers.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    net.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = np.random.default_rng(0).normal(size=(64, 4)).astype("float32"), np.arange(64) % 2
    lines, bars = io.StringIO(), _Terminal()
    shown = epoch_progress(Progress(mode, lines=lines, bar_stream=bars), epochs=2, steps=4)
    net.fit(x, y, batch_size=16, epochs=2, validation_data=(x, y), callbacks=[shown], verbose=0)
    printed = lines.getvalue().splitlines()
    assert [line.split("  ")[0] for line in printed] == ["epoch 1/2", "epoch 2/2"]
    assert all("loss" in line and "val_accuracy" in line for line in printed)
    if mode == "bar":
        assert "epoch 2/2 validating" in bars.getvalue() and "4/4" in bars.getvalue()
    else:
        assert bars.getvalue() == ""
