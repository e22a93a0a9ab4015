"""Chapter 9 (WGAN on digits): the quick run writes its grids, its W curve and a checkpoint and returns its
numbers; --resume continues exactly where the checkpoint left off; the device default follows the GPU."""
from __future__ import annotations

import math

import numpy as np
import pytest

from tinywgan.engine import backend
from tinywgan.data import mnist

from conftest import run_chapter


def _run(*argv) -> dict:
    """The chapter's claims, run as ``python chapters/09_wgan_mnist_gpu.py *argv``."""
    return run_chapter("09_wgan_mnist_gpu.py", *argv)["claims"]


def _argv(out, tmp_path, *extra):
    # An empty --data folder: the rendered digits, whatever MNIST files the machine may hold.
    return ["--quick", "--device", "cpu", "--out", str(out), "--data", str(tmp_path / "no_mnist"), *extra]


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chapter09")
    out = tmp / "out"
    chapter = run_chapter("09_wgan_mnist_gpu.py", *_argv(out, tmp))  # its globals: claims, the helpers
    return tmp, out, chapter["claims"], chapter


def test_quick_run_writes_its_figures_and_numbers(quick):
    _, out, r, _ = quick
    for name in ("real_digits.png", "samples_step000003.png", "samples_final.png", "w_estimate.png",
                 "class_histogram.png", "checkpoint.npz", "classifier.npz"):
        assert (out / name).is_file(), name
    assert r["figures"][0] == "real_digits.png" and "samples_step000003.png" in r["figures"]
    assert r["source"] == "rendered" and r["device"] == "cpu" and r["lipschitz"] == "gp"
    assert r["steps"] == 6 and len(r["w_estimate"]) == 6 and r["start_step"] == 0
    assert all(math.isfinite(w) for w in r["w_estimate"])
    assert r["classifier_test_accuracy"] > 0.7
    assert r["real_n_classes"] == 10 and r["real_entropy"] > math.log(10) - 0.15
    assert sum(r["histogram"]) == 200 and 1 <= r["n_classes"] <= 10
    assert 0.0 <= r["entropy"] <= math.log(10) + 1e-12 and 0.1 <= r["mean_confidence"] <= 1.0
    assert r["ms_per_iteration"] > 0 and r["images_per_second"] > 0


def test_resume_continues_the_quick_run(quick, tmp_path):
    tmp, out, first, _ = quick
    resumed = _run(*_argv(out, tmp, "--steps", "9", "--resume", str(out / "checkpoint.npz")))
    assert resumed["start_step"] == 6 and resumed["steps"] == 9
    assert resumed["w_estimate"][:6] == first["w_estimate"]
    assert resumed["classifier_test_accuracy"] == first["classifier_test_accuracy"]  # the cached classifier
    # Bit for bit the run that never stopped (the data, the noise and both optimizers continue).
    straight = _run(*_argv(tmp_path / "straight", tmp, "--steps", "9"))
    assert straight["w_estimate"] == resumed["w_estimate"]


def test_resume_refuses_other_settings(quick):
    tmp, out, _, _ = quick
    with pytest.raises(SystemExit, match="lipschitz = 'gp'"):
        _run(*_argv(tmp / "other", tmp, "--lipschitz", "clip", "--steps", "9",
                    "--resume", str(out / "checkpoint.npz")))


def test_the_average_and_the_schedule_are_options_a_resume_must_match(quick, tmp_path):
    tmp, out, first, _ = quick
    averaged = _run(*_argv(tmp_path / "ema", tmp, "--ema", "0.9", "--lr-schedule", "linear"))
    assert averaged["w_estimate"] != first["w_estimate"]  # the schedule changes the training itself
    with pytest.raises(SystemExit, match="lr_schedule = 'constant'"):
        _run(*_argv(tmp / "other", tmp, "--lr-schedule", "linear", "--steps", "9",
                    "--resume", str(out / "checkpoint.npz")))
    with pytest.raises(SystemExit, match="--ema must be in"):
        _run(*_argv(tmp / "other", tmp, "--ema", "1"))


def test_figure_titles_say_the_digits_are_rendered_and_the_w_legend_reads_right(quick, monkeypatch):
    """Rendered digits are named so in every title; the W-estimate legend fits a short run (no mean of one
    step) and a long one (the running mean's window)."""
    from tinywgan.lab import cli
    from tinywgan.wgan.trainer import TrainLog
    chapter = quick[3]
    assert chapter["data_name"] == "digits rendered from fonts (not MNIST)"
    shown = []
    monkeypatch.setattr(cli, "save_figure", lambda fig, path, dpi=110: shown.append(fig))
    for n in (6, 1000):
        log = TrainLog()
        for step in range(1, n + 1):
            log.append(step=step, w_estimate=1.0 / step)
        chapter["save_w_curve"](log, "gp", None)
    import matplotlib.pyplot as plt
    (short,), (long,) = (fig.axes for fig in shown)
    assert [t.get_text() for t in short.get_legend().get_texts()] == ["W estimate at each step"]
    assert [t.get_text() for t in long.get_legend().get_texts()] == [
        "W estimate at each step", "running mean over the last 20 steps"]
    assert all("not MNIST" in ax.get_title() for ax in (short, long))
    for fig in shown:
        plt.close(fig)


def test_device_default_follows_the_gpu(quick, capsys):
    chapter = quick[3]
    assert chapter["choose_device"](None) == ("gpu" if backend.gpu_available() else "cpu")
    assert "Device:" in capsys.readouterr().out
    assert chapter["choose_device"]("strict") == "strict"


def test_tile_lays_out_an_eight_by_eight_grid(quick):
    tile = quick[3]["tile"]
    images = np.stack([np.full(784, k / 64, np.float32) for k in range(64)])
    canvas = tile(images)
    assert canvas.shape == (8 * 29 + 1, 8 * 29 + 1)
    assert canvas[1 + 29 * 2 + 5, 1 + 29 * 3 + 5] == pytest.approx(19 / 64)  # row 2, column 3: image 19
    assert tile(images[:5]).shape == canvas.shape  # a short batch is padded


def test_quick_run_on_array_api_strict(tmp_path):
    """The stand-in for the GPU path: only array-API ops and backend functions touch the arrays."""
    r = _run("--quick", "--device", "strict", "--out", str(tmp_path / "out"),
             "--data", str(tmp_path / "no_mnist"), "--steps", "2")
    assert r["device"] == "strict" and r["steps"] == 2 and all(math.isfinite(w) for w in r["w_estimate"])


def test_quick_run_uses_mnist_files_when_the_folder_has_them(tmp_path, capsys):
    """MNIST-format files (here: rendered digits written as IDX) in --data are found and used."""
    images, labels = mnist.rendered_digits(400, backend.Generator(5))
    pixels = np.round((images + 1) * 127.5).astype(np.uint8).reshape(-1, 28, 28)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for split, (lo, hi) in (("train", (0, 300)), ("test", (300, 400))):
        image_file, label_file = mnist.MNIST_FILES[split]
        mnist.write_idx(folder / f"{image_file}.gz", pixels[lo:hi])
        mnist.write_idx(folder / f"{label_file}.gz", labels[lo:hi].astype(np.uint8))
    chapter = run_chapter("09_wgan_mnist_gpu.py", "--quick", "--device", "cpu", "--out", str(tmp_path / "out"),
                          "--data", str(folder), "--steps", "2")
    r = chapter["claims"]
    assert r["source"] == "mnist" and r["steps"] == 2
    assert chapter["data_name"] == "MNIST"  # what the figure titles say the digits are
    assert "Data: MNIST from" in capsys.readouterr().out
