"""``python -m tinywgan.bench``: the gradient check runs and passes before timing, a wrong gradient stops it
with a message that names what is wrong, and the table holds finite positive timings. Speed is never
asserted (the tests run on shared machines). The in-process runs use ``--small`` sizes; CI's
``python -m tinywgan.bench --quick`` (the last test) runs the real ones."""
from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

import tinywgan as tw
from tinywgan.bench import runner as bench
from tinywgan.bench import handwritten as hw
from tinywgan.bench import workloads as wk
from tinywgan.bench.threads import threads_option
from tinywgan.bench.torch_reference import (TorchOn, TorchProcess, TorchProcessError, TorchWGAN, torch_available,
                                      torch_gradients, torch_wgan)

QUICK_SMALL = ["--quick", "--small", "--no-progress"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "results.json"
    return bench.main(QUICK_SMALL + ["--json", str(path)]), path


def test_every_workload_and_variant_is_checked_and_passes(results):
    out, _ = results
    checked = {(c["workload"], c["variant"]) for c in out["gradient_checks"] if c["device"] == "cpu"}
    assert checked == {(w, v) for w in bench.WORKLOAD_NAMES for v in bench.VARIANT_NAMES}
    for c in out["gradient_checks"]:
        assert c["passed"] and c["max_rel_error"] < bench.TOLERANCE
        assert c["torch_checked"] == torch_available()


def test_table_has_finite_positive_timings(results, capsys):
    out, path = results
    rows = [r for r in out["rows"] if r["device"] == "cpu"]
    assert {(r["workload"], r["variant"]) for r in rows} == \
        {(w, v) for w in bench.WORKLOAD_NAMES for v in bench.VARIANT_NAMES}
    for r in rows:
        names = ["tinywgan", "textbook", "usercode", "handwritten"] + (["pytorch"] if torch_available() else [])
        for name in names:
            assert math.isfinite(r["ms"][name]) and r["ms"][name] > 0
            assert len(r["samples_ms"][name]) == 2  # --quick: 2 timed iterations
        for key in ("ratio_handwritten", "ratio_textbook", "ratio_usercode", "ratio_usercode_handwritten"):
            assert r[key] > 0
        assert (r["ratio_pytorch"] is not None) == torch_available()
    saved = json.loads(path.read_text())
    assert saved["rows"][0]["ms"] == out["rows"][0]["ms"]
    assert out["meta"]["small"] and out["meta"]["warmup"] == 1 and out["meta"]["repeat"] == 2


def test_table_is_printed():
    results = {"meta": dict(date="d", machine="m", cpu_count=2, platform="p", python="3", numpy="2",
                            blas="b", blas_threads=1, torch=None, torch_threads=None, cupy=None, gpu=None,
                            load_average=0.1, warmup=1, repeat=2, lead_in=1, small=False),
               "gradient_checks": [dict(workload="toy", variant="gp", device="cpu", passed=True,
                                        max_rel_error=1e-12, torch_checked=False)],
               "rows": [dict(workload="toy", variant="gp", device="cpu",
                             ms={"tinywgan": 12.0, "textbook": 13.0, "usercode": 12.5, "handwritten": 10.0,
                                 "pytorch": None},
                             ratio_handwritten=1.2, ratio_pytorch=None, ratio_textbook=1.08, ratio_usercode=1.04,
                             ratio_usercode_handwritten=1.25)],
               "summary": "summary: x"}
    text = bench.format_table(results)
    assert "toy       gp       cpu" in text and "12.0" in text and "1.20x" in text and "—" in text
    assert "textbook/tiny" in text and "user/hand" in text and "1.08x" in text and "1.25x" in text
    assert "after 1 untimed of its own" in text


def _perturbed(real_function, which):
    """``real_function`` with 1% added to the first weight gradient of its result."""
    def wrong(*args, **kwargs):
        out = real_function(*args, **kwargs)
        grads = out[which]
        W, b = grads[0]
        grads[0] = (W * 1.01 + 1e-3, b)
        return out
    return wrong


def test_a_wrong_critic_gradient_stops_the_bench(monkeypatch):
    monkeypatch.setattr(hw, "critic_gradients", _perturbed(hw.critic_gradients, 2))
    with pytest.raises(bench.GradientMismatch) as err:
        bench.main(QUICK_SMALL + ["--workload", "toy", "--variant", "gp"])
    message = str(err.value)
    assert "'toy'" in message and "'gp'" in message and "critic.0.weight" in message
    assert "tinywgan vs hand-written" in message and "differ by" in message and "nothing was timed" in message


def test_a_wrong_generator_gradient_stops_the_bench(monkeypatch):
    monkeypatch.setattr(hw, "generator_gradients", _perturbed(hw.generator_gradients, 1))
    with pytest.raises(bench.GradientMismatch, match=r"'mnist'.*'clip'.*generator\.0\.weight"):
        bench.check_gradients(bench.workload("mnist", small=True), "clip")


def test_weights_are_shared_by_every_implementation():
    wl = bench.workload("mnist", small=True)
    critic, generator = bench.initial_weights(wl, seed=3)
    D, G = bench.critic_and_generator(wl, critic, generator)
    for p, a in zip(D.parameters() + G.parameters(), wk.flat(critic) + wk.flat(generator)):
        np.testing.assert_array_equal(p.data, a)
        assert p.data.dtype == np.float32
    config = bench.wgan_config(wl, "gp")
    assert (config.gp_weight, config.noise_dim, config.batch_size, config.n_critic) == (10.0, 128, 32, 5)
    assert bench.wgan_config(wl, "clip").optimizer == "rmsprop"


def test_the_mnist_stand_in_is_one_fixed_image_set_drawn_by_index():
    """Every implementation draws its MNIST batches as rows of the same fixed images (uniform pixels in
    [-1, 1]), by index, as chapter 09 draws MNIST."""
    wl = bench.workload("mnist")
    images = wk.stand_in_images(wl.data_dim)
    assert images.shape == (wk.STAND_IN_SIZE, 784) and images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1 and images.std() > 0.5
    wk._STAND_IN.clear()
    np.testing.assert_array_equal(images, wk.stand_in_images(wl.data_dim))  # rebuilt: the same set
    assert not images.flags.writeable
    rows = {r.tobytes() for r in images}
    hand_batch = wk.sample_real(wl, np.random.default_rng(3))
    ours = bench.real_sampler(wl)(wl.batch_size, tw.Generator(3))
    for batch in (hand_batch, ours):
        assert batch.shape == (wl.batch_size, 784)
        assert all(r.tobytes() in rows for r in np.asarray(batch))


@pytest.mark.skipif(not torch_available(), reason="needs PyTorch")
def test_torch_on_another_device_runs_the_same_steps():
    """The device wrapper used for the GPU row, exercised on the CPU: the same losses as TorchWGAN."""
    wl = bench.workload("toy", small=True)
    critic, generator = bench.initial_weights(wl, seed=0)
    plain = TorchWGAN(wl, "gp", critic=critic, generator=generator)
    wrapped = torch_wgan(wl, "gp", critic, generator, device="cpu")
    wrapped.torch = TorchOn(wrapped.torch, "cpu")
    a = plain.iteration(np.random.default_rng(1))
    b = wrapped.iteration(np.random.default_rng(1))
    assert a == b


@pytest.mark.skipif(not torch_available(), reason="needs PyTorch")
def test_torch_runs_in_a_child_process_and_reports_its_errors():
    """The bench's PyTorch runs in a child: its gradients equal the in-process ones, it times iterations
    of the steps it was set up with, and a failure there is raised here with the child's traceback."""
    wl = bench.workload("mnist", small=True)
    critic, generator = bench.initial_weights(wl, seed=0, dtype=np.float64)
    rng = np.random.default_rng(1)
    real, z, alpha = wk.draw_critic_inputs(wl, "gp", rng, np.float64)
    fake = hw.mlp_forward(generator, z, wl.generator_activation, wl.generator_output).output
    args = (wl, "gp", critic, generator, real, fake, alpha, z, wl.gp_weight)
    with TorchProcess(threads=1) as child:
        assert child.info["threads"] == 1 and child.pid != os.getpid()
        for got, want in zip(child.gradients(*args), torch_gradients(*args)):
            for g, w in zip(got, want):
                np.testing.assert_array_equal(g, w)
        child.setup(wl, "clip", *bench.initial_weights(wl, seed=0), seed=0)
        assert all(child.iteration() > 0 for _ in range(2))
        with pytest.raises(TorchProcessError,
                           match=r"'setup'(.|\n)*ValueError: variant must be one of .*'nonsense'"):
            child.setup(wl, "nonsense", critic, generator)
        assert child.iteration() > 0  # the child survives a failed request
    assert not child.alive()


@pytest.mark.skipif(not torch_available(), reason="needs PyTorch")
def test_torch_child_survives_stray_output_and_closes_after_an_interrupted_call(tmp_path, monkeypatch):
    """Output printed in the child before its loop starts (a sitecustomize, MKL's warnings) must not reach
    the answer pipe; a call that fails while waiting closes the child, so that its late answer is never
    read as the next call's."""
    import pickle
    (tmp_path / "sitecustomize.py").write_text("print('Intel MKL WARNING: stray output on stdout')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    with TorchProcess(threads=1) as child:
        assert child.info["threads"] == 1
        wl = bench.workload("toy", small=True)
        real_load = pickle.load

        def interrupted(stream):
            monkeypatch.setattr(pickle, "load", real_load)
            raise RuntimeError("interrupted while waiting")
        monkeypatch.setattr(pickle, "load", interrupted)
        with pytest.raises(TorchProcessError, match=r"failed to answer 'setup' \(RuntimeError: interrupted"):
            child.setup(wl, "gp", *bench.initial_weights(wl, seed=0))
        assert not child.alive()
        with pytest.raises(TorchProcessError, match=r"closed after a failed 'setup' request"):
            child.iteration()


@pytest.mark.skipif(os.name != "posix", reason="the wait is bounded on POSIX only")
def test_waiting_for_an_answer_is_bounded():
    """A child that never answers makes the wait end with a TimeoutError, not hang the bench."""
    import time
    from tinywgan.bench.torch_reference import _wait_readable
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as answers, os.fdopen(write_fd, "wb") as child:
        t0 = time.perf_counter()
        with pytest.raises(TimeoutError, match="no answer within 0.05 s"):
            _wait_readable(answers, 0.05)
        assert time.perf_counter() - t0 >= 0.04
        child.write(b"x")
        child.flush()
        _wait_readable(answers, 0.05)  # returns: there is something to read
        _wait_readable(answers, None)
        assert answers.read(1) == b"x"


@pytest.mark.skipif(not torch_available() or os.name != "posix", reason="needs PyTorch, and POSIX")
def test_a_torch_child_that_does_not_answer_in_time_is_closed():
    wl = bench.workload("mnist")
    with TorchProcess(threads=1) as child:
        child.setup(wl, "gp", *bench.initial_weights(wl, seed=0))
        child.timeout = 1e-4  # far less than one MNIST iteration takes
        with pytest.raises(TorchProcessError, match=r"failed to answer 'iteration' \(TimeoutError: no answer"):
            child.iteration()
        assert not child.alive()
        with pytest.raises(TorchProcessError, match="closed after a failed 'iteration' request"):
            child.iteration()


def test_bad_options_are_refused():
    with pytest.raises(SystemExit):
        bench.parse_args(["--repeat", "0"])
    with pytest.raises(SystemExit):
        bench.parse_args(["--lead-in", "-1"])
    assert bench.parse_args([]).lead_in == 1
    args = bench.parse_args(["--quick"])
    assert (args.warmup, args.repeat, args.lead_in, args.threads) == (1, 2, 0, 1)
    assert bench.parse_args([]).threads is None


def test_threads_are_read_from_the_command_line():
    assert threads_option(["--quick", "--threads", "3"]) == "3"
    assert threads_option(["--threads=2"]) == "2"
    assert threads_option(["--quick"]) is None


@pytest.mark.parametrize("variant", bench.VARIANT_NAMES)
def test_the_device_path_works_off_numpy(variant):
    """The GPU row's path (networks moved with .to(device), data on the device, results copied back),
    exercised on array_api_strict, the stand-in for CuPy."""
    pytest.importorskip("array_api_strict")
    for name in ("toy", "mnist"):
        wl = bench.workload(name, small=True)
        check = bench.check_gradients(wl, variant, device="strict")
        assert check["passed"] and not check["torch_checked"]
        runners = bench.make_runners(wl, variant, "strict", seed=0)
        assert sorted(runners) == ["textbook", "tinywgan", "usercode"]  # hand-written: NumPy only
        samples = bench.time_round_robin(runners, warmup=0, repeat=1)
        assert all(samples[name][0] > 0 for name in runners)


def test_each_timed_iteration_follows_one_of_its_own():
    """With a lead-in, the iteration before every timed one is the same implementation's (the steady state
    of a training loop), whatever order the round-robin puts the implementations in."""
    calls = []

    def runner(name):
        def timed():
            calls.append(name)
            return 0.001 * len(calls)
        return timed
    class Progress:
        count = 0

        def update(self, n):
            self.count += n
    progress = Progress()
    samples = bench.time_round_robin({n: runner(n) for n in "abc"}, warmup=1, repeat=3, progress=progress,
                                     lead_in=1)
    assert progress.count == len(calls) == 3 + 3 * 3 * 2  # the bar counts every iteration, lead-ins too
    assert {n: len(v) for n, v in samples.items()} == {"a": 3, "b": 3, "c": 3}
    assert calls[:3] == ["a", "b", "c"]  # warm-up: one each, no lead-in
    timed = calls[3:]
    assert len(timed) == 3 * 3 * 2 and all(timed[i] == timed[i + 1] for i in range(0, len(timed), 2))
    assert [timed[i] for i in range(0, 6, 2)] == ["b", "c", "a"]  # the order still rotates
    assert samples["b"][0] == 1000 * 0.001 * 5  # the time of the second call of the pair


def test_python_m_tinywgan_bench_quick_runs_the_real_workloads():
    """What the issue asks CI to run: the real sizes, gradients checked, exit status 0, a table printed."""
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "tinywgan.bench", "--quick", "--no-progress"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    for workload in bench.WORKLOAD_NAMES:
        for variant in bench.VARIANT_NAMES:
            assert f"{workload}/{variant}/cpu ok" in result.stdout
    assert "summary:" in result.stdout
