"""Checkpoints: bit-for-bit round trips and resumed training, devices, pickle refused without being run,
interrupted saves that keep the old file, and clear errors for truncated, foreign and mismatched files."""
from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import tinywgan as tw
from tinywgan.engine import backend
from tinywgan import optim
from tinywgan.wgan.checkpoint import MARKER, Checkpoint, CheckpointError, load, save
from tinywgan.nn import MLP

OPTIMIZERS = {
    "Adam": lambda params: optim.Adam(params, lr=1e-2, betas=(0.5, 0.9)),
    "RMSprop": lambda params: optim.RMSprop(params, lr=1e-2, momentum=0.5, centered=True),
    "SGD": lambda params: optim.SGD(params, lr=1e-2, momentum=0.9, weight_decay=1e-3),
}


def build(seed: int, device: str = "cpu", sizes=(2, 8, 8, 1), optimizer: str = "Adam"):
    """A tiny regression run: an MLP, its optimizer, and the Generator that draws the data."""
    model = MLP(list(sizes), activation="tanh", rng=backend.Generator(seed)).to(device)
    return model, OPTIMIZERS[optimizer](model.parameters()), backend.Generator(seed + 1, device)


def train(model, opt, data_rng, steps: int) -> None:
    """Fit y = tanh(x . (1, -2)) on fresh batches of 16 points x ~ N(0, I)."""
    for _ in range(steps):
        x = tw.Tensor(data_rng.normal((16, 2)))
        w_true = tw.tensor(np.array([[1.0], [-2.0]], dtype=np.float32), device=backend.device_of(x.data))
        d = model(x) - tw.tanh(x @ w_true)
        loss = (d * d).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def host_state(model, opt, rng) -> dict:
    """Everything of a run as host arrays and plain values, for exact comparisons."""
    out = {f"model/{k}": backend.to_numpy(v) for k, v in model.state_dict().items()}
    sd = opt.state_dict()
    for i, s in sd["state"].items():
        out.update({f"opt/{i}/{k}": (v if k == "step" else backend.to_numpy(v)) for k, v in s.items()})
    out["opt/hyperparameters"] = sd["hyperparameters"]
    out["rng"] = rng.state_dict()["bit_generator"]
    return out


def assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], np.ndarray):
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k
        else:
            assert a[k] == b[k], k


# -------------------------------------------------------------------------------------------------------
# Round trips


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_round_trip_restores_everything_bit_for_bit(device, tmp_path, optimizer):
    model, opt, rng = build(0, device, optimizer=optimizer)
    train(model, opt, rng, 3)
    metadata = dict(step=3, seed=0, name="toy", ok=True, none=None, sizes=(2, 8, 8, 1),
                    config={"lr": 1e-2, "betas": [0.5, 0.9], "nested": {"n_critic": 5}},
                    loss=np.float32(0.25))
    path = save(tmp_path / "run.npz", model=model, opt=opt, rng=rng, **metadata)
    assert path == tmp_path / "run.npz"

    ckpt = load(path)
    assert isinstance(ckpt, Checkpoint) and ckpt.tinywgan_version == tw.__version__
    assert ckpt.metadata == {**metadata, "sizes": [2, 8, 8, 1], "loss": 0.25}  # JSON: tuples become lists
    assert ckpt["step"] == 3 and type(ckpt["loss"]) is float
    assert ckpt.kinds == {"model": "modules", "opt": "optimizers", "rng": "generators",
                          **{k: "metadata" for k in metadata}}

    fresh = build(1, device, optimizer=optimizer)  # other weights, other data stream, no optimizer state
    ckpt.restore(model=fresh[0], opt=fresh[1], rng=fresh[2])
    assert_identical(host_state(*fresh), host_state(model, opt, rng))
    for _, p in fresh[0].named_parameters():
        assert p.device == device
    for s in fresh[1].state.values():
        assert all(backend.device_of(v) == device for k, v in s.items() if k != "step")


def test_resumed_training_continues_bit_for_bit(tmp_path):
    """Train 10 steps; or train 5, save, build fresh objects, load, train 5 more: the same bits."""
    straight = build(0)
    train(*straight, 10)

    first = build(0)
    train(*first, 5)
    save(tmp_path / "run.npz", model=first[0], opt=first[1], data=first[2], step=5,
         config={"sizes": [2, 8, 8, 1], "lr": 1e-2})
    del first

    resumed = build(123)
    ckpt = load(tmp_path / "run.npz")
    ckpt.restore(model=resumed[0], opt=resumed[1], data=resumed[2])
    train(*resumed, 10 - ckpt.metadata["step"])
    assert_identical(host_state(*resumed), host_state(*straight))

    # The data stream matters: without the Generator the run goes elsewhere.
    no_rng = build(123)
    ckpt.restore(model=no_rng[0], opt=no_rng[1])
    train(*no_rng, 5)
    assert not np.array_equal(no_rng[0].state_dict()["0.weight"], straight[0].state_dict()["0.weight"])


def test_restore_moves_arrays_to_each_objects_device(tmp_path):
    model, opt, rng = build(0)
    train(model, opt, rng, 2)
    save(tmp_path / "cpu.npz", model=model, opt=opt, rng=rng)
    strict = build(1, "strict")
    load(tmp_path / "cpu.npz").restore(model=strict[0], opt=strict[1], rng=strict[2])
    assert all(p.device == "strict" for p in strict[1].params)
    assert all(backend.device_of(v) == "strict" for v in strict[1].state[0].values() if hasattr(v, "shape"))
    assert_identical(host_state(*strict), host_state(model, opt, rng))


def test_restore_of_a_subset_leaves_the_rest(tmp_path):
    model, opt, rng = build(0)
    train(model, opt, rng, 2)
    save(tmp_path / "run.npz", model=model, opt=opt, rng=rng)
    fresh = build(1)
    load(tmp_path / "run.npz").restore(model=fresh[0])
    assert np.array_equal(fresh[0].state_dict()["0.weight"], model.state_dict()["0.weight"])
    assert fresh[1].state == {}


# -------------------------------------------------------------------------------------------------------
# Pickle is refused, never run


class Payload:
    """Unpickling this writes a file: proof that it was unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (_detonate, (str(self.marker),))


def _detonate(marker: str) -> str:
    Path(marker).write_text("unpickled")
    return "boom"


def _object_array(marker: Path) -> np.ndarray:
    a = np.empty(1, dtype=object)
    a[0] = Payload(marker)
    return a


def test_pickled_object_is_refused_without_being_unpickled(tmp_path):
    marker = tmp_path / "unpickled.txt"
    # 1. an .npz holding an object array (no tinywgan index)
    plain = tmp_path / "plain.npz"
    np.savez(plain, payload=_object_array(marker))
    with pytest.raises(CheckpointError, match=r"plain\.npz is not a tinywgan checkpoint"):
        load(plain)
    # 2. the same object array inside a file that carries a valid tinywgan index
    model, opt, rng = build(0)
    save(tmp_path / "good.npz", model=model)
    with np.load(tmp_path / "good.npz") as good:
        index = good[MARKER]
    disguised = tmp_path / "disguised.npz"
    np.savez(disguised, **{MARKER: index, "model/0.weight": _object_array(marker)})
    with pytest.raises(CheckpointError, match=r"disguised\.npz is damaged .*Object arrays cannot be loaded"):
        load(disguised)
    # 3. a bare pickle file
    bare = tmp_path / "bare.npz"
    bare.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(CheckpointError, match=r"bare\.npz is not a tinywgan checkpoint \("):
        load(bare)
    assert not marker.exists()

    # Control: the payload is live; unpickling the file for real does run it.
    with np.load(plain, allow_pickle=True) as f:
        assert f["payload"][0] == "boom"
    assert marker.read_text() == "unpickled"


# -------------------------------------------------------------------------------------------------------
# Atomic writes


@pytest.mark.parametrize("exception", [OSError("No space left on device"), KeyboardInterrupt()])
def test_interrupted_save_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch, exception):
    path = tmp_path / "run.npz"
    model, opt, rng = build(0)
    train(model, opt, rng, 2)
    save(path, model=model, opt=opt, rng=rng, step=2)
    before = host_state(model, opt, rng)
    train(model, opt, rng, 2)

    real_write_array = np.lib.format.write_array
    calls = []

    def write_array_then_fail(fp, array, *args, **kwargs):
        calls.append(array.shape)
        if len(calls) == 4:  # three arrays written, then some bytes of the fourth, then the failure
            fp.write(b"\x93NUMPY partial")
            raise exception
        return real_write_array(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_array_then_fail)
    with pytest.raises(type(exception)):
        save(path, model=model, opt=opt, rng=rng, step=4)
    monkeypatch.undo()
    assert len(calls) == 4, "the patch did not reach numpy.savez"
    assert sorted(os.listdir(tmp_path)) == ["run.npz"]
    ckpt = load(path)
    assert ckpt["step"] == 2
    fresh = build(1)
    ckpt.restore(model=fresh[0], opt=fresh[1], rng=fresh[2])
    assert_identical(host_state(*fresh), before)


def test_interrupted_first_save_leaves_nothing(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        save(tmp_path / "run.npz", model=build(0)[0])
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_saved_file_gets_ordinary_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = save(tmp_path / "run.npz", step=1)
        assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's 0o600
        path.chmod(0o640)
        save(path, step=2)
        assert path.stat().st_mode & 0o777 == 0o640  # a replaced checkpoint keeps its permissions
    finally:
        os.umask(umask)


# -------------------------------------------------------------------------------------------------------
# Files that are not (whole) tinywgan checkpoints


def test_truncated_or_corrupted_file_is_a_clear_error(tmp_path):
    model, opt, rng = build(0)
    train(model, opt, rng, 1)
    path = save(tmp_path / "run.npz", model=model, opt=opt, rng=rng)
    raw = path.read_bytes()
    for keep in (0, 10, len(raw) // 2, len(raw) - 1):
        cut = tmp_path / f"cut{keep}.npz"
        cut.write_bytes(raw[:keep])
        with pytest.raises(CheckpointError, match=rf"cut{keep}\.npz is not a tinywgan checkpoint \("):
            load(cut)
    # One flipped byte inside a weight matrix: the zip's CRC catches it when load() reads every array.
    weights = backend.to_numpy(model.state_dict()["2.weight"]).tobytes()
    at = raw.find(weights) + len(weights) // 2
    flipped = tmp_path / "flipped.npz"
    flipped.write_bytes(raw[:at] + bytes([raw[at] ^ 0xFF]) + raw[at + 1:])
    with pytest.raises(CheckpointError, match=r"flipped\.npz is damaged .*CRC"):
        load(flipped)


def test_files_that_are_not_checkpoints(tmp_path):
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    with pytest.raises(CheckpointError, match=r"other\.npz is not a tinywgan checkpoint: .* no '__tinywgan__'"):
        load(tmp_path / "other.npz")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(CheckpointError, match=r"one\.npy holds a single \.npy array"):
        load(tmp_path / "one.npy")
    (tmp_path / "notes.txt").write_text("hello, not a zip")
    with pytest.raises(CheckpointError, match=r"notes\.txt is not a tinywgan checkpoint \("):
        load(tmp_path / "notes.txt")
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def _rewrite(path: Path, out: Path, edit) -> Path:
    """Copy a checkpoint with its index (JSON) and arrays edited by ``edit(document, arrays)``."""
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    document = json.loads(bytes(arrays.pop(MARKER)).decode())
    edit(document, arrays)
    blob = np.frombuffer(json.dumps(document).encode(), np.uint8)
    np.savez(out, **{MARKER: blob}, **arrays)
    return out


@pytest.mark.parametrize("edit, message", [
    (lambda d, a: d.update(format="something-else"), "holds no 'tinywgan-checkpoint' marker"),
    (lambda d, a: d.update(format_version=2), "written in checkpoint format 2 .* reads format 1"),
    (lambda d, a: a.update({"model/extra": np.zeros(2)}),
     r"arrays missing \[\], unexpected \['model/extra'\]"),
    (lambda d, a: a.pop("model/0.bias"), r"arrays missing \['model/0.bias'\]"),
    (lambda d, a: a.update({"model/0.bias": np.zeros(3, np.float32)}),
     r"'model/0.bias' is <f4 of shape \(3,\); its index entry says <f4 of shape \(8,\)"),
    (lambda d, a: d.pop("modules"), r"damaged checkpoint index .*KeyError"),
])
def test_damaged_index_is_a_clear_error(tmp_path, edit, message):
    model, opt, rng = build(0)
    path = save(tmp_path / "run.npz", model=model, opt=opt)
    bad = _rewrite(path, tmp_path / "bad.npz", edit)
    with pytest.raises(CheckpointError, match=rf"bad\.npz: .*{message}"):
        load(bad)
    garbage = tmp_path / "garbage.npz"
    np.savez(garbage, **{MARKER: np.frombuffer(b"{not json", np.uint8)})
    with pytest.raises(CheckpointError, match=r"garbage\.npz is damaged .*JSONDecodeError"):
        load(garbage)


# -------------------------------------------------------------------------------------------------------
# Checkpoints that do not fit the objects


def test_shape_mismatch_names_the_parameter_and_both_shapes(tmp_path):
    model, opt, rng = build(0, sizes=(2, 8, 1))
    train(model, opt, rng, 1)
    path = save(tmp_path / "run.npz", model=model, opt=opt, other=build(5, sizes=(2, 3, 1))[0])
    ckpt = load(path)
    wider, wider_opt, _ = build(1, sizes=(2, 9, 1))
    other = build(6, sizes=(2, 3, 1))[0]
    other_before = other.state_dict()
    with pytest.raises(CheckpointError,
                       match=r"run\.npz: module 'model' does not match the checkpoint: '0\.weight' has shape "
                             r"\(2, 9\) in the model and \(2, 8\) in the checkpoint"):
        ckpt.restore(other=other, model=wider)
    # Nothing was loaded, not even the item that fits: restore checks everything first.
    assert all(np.array_equal(v, other.state_dict()[k]) for k, v in other_before.items())
    with pytest.raises(CheckpointError, match=r"run\.npz: optimizer 'opt': .*state\[0\]\['exp_avg'\] has "
                                              r"shape \(2, 8\); parameter 0 has shape \(2, 9\)"):
        ckpt.restore(opt=wider_opt)
    deeper = build(1, sizes=(2, 8, 8, 1))[0]
    with pytest.raises(CheckpointError, match=r"module 'model' does not match the checkpoint: missing "
                                              r"\['4\.bias', '4\.weight'\], unexpected \[\] \(missing: in the "
                                              r"model but not in the checkpoint"):
        ckpt.restore(model=deeper)
    float64 = MLP([2, 8, 1], dtype="float64")
    with pytest.raises(CheckpointError,
                       match=r"'0\.weight' has dtype float64 in the model and float32 in the checkpoint"):
        ckpt.restore(model=float64)


def test_restore_names_unknown_and_misplaced_items(tmp_path):
    model, opt, rng = build(0)
    ckpt = load(save(tmp_path / "run.npz", model=model, opt=opt, step=3))
    with pytest.raises(CheckpointError,
                       match=r"run\.npz: has no item 'critic'; it holds \{'model': 'modules'"):
        ckpt.restore(critic=model)
    with pytest.raises(CheckpointError, match=r"'opt' is saved among the optimizers, but a MLP was given"):
        ckpt.restore(opt=model)
    with pytest.raises(TypeError, match=r"'step' is a int; restore takes Modules"):
        ckpt.restore(step=3)


def test_save_refuses_what_it_cannot_store(tmp_path):
    with pytest.raises(TypeError, match=r"item 'config' cannot be stored as JSON metadata"):
        save(tmp_path / "run.npz", config={"callback": print})
    with pytest.raises(TypeError, match=r"item 'noise' is an array or Tensor"):
        save(tmp_path / "run.npz", noise=np.zeros(3))
    with pytest.raises(TypeError, match=r"item 'noise' is an array or Tensor"):
        save(tmp_path / "run.npz", noise=tw.tensor([1.0]))
    with pytest.raises(ValueError, match=r"item name 'a/b'"):
        save(tmp_path / "run.npz", **{"a/b": 1})
    assert os.listdir(tmp_path) == []
