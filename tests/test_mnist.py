"""MNIST: the IDX reader and writer, their errors, the checked download, and the rendered digits."""
from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

from tinywgan.engine.backend import Generator, device_of, to_numpy
from tinywgan.data import download_mnist, load_digits, load_mnist, read_idx, rendered_digits, write_idx
from tinywgan.data.mnist import MNIST_SHA256, DownloadError


def fake_mnist(folder: Path, n_train=20, n_test=10, gz=True, seed=0) -> dict[str, bytes]:
    """Small files in MNIST's format and names; returns {file name: bytes}."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for prefix, n in [("train", n_train), ("t10k", n_test)]:
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        for kind, array in [("images-idx3", images), ("labels-idx1", labels)]:
            path = folder / f"{prefix}-{kind}-ubyte{'.gz' if gz else ''}"
            write_idx(path, array, gzip=gz)
            files[path.name] = path.read_bytes()
    return files


# ------------------------------------------------------------------------------------------- IDX files

@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("gz", [False, True])
def test_write_then_read_idx_round_trips(tmp_path, dtype, gz):
    a = (np.arange(60) - 20).reshape(3, 4, 5).astype(dtype)
    path = write_idx(tmp_path / "a.idx", a, gzip=gz)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == gz
    b = read_idx(path)
    assert b.dtype == a.dtype and b.shape == a.shape
    np.testing.assert_array_equal(a, b)
    assert [p.name for p in tmp_path.iterdir()] == ["a.idx"]  # no temporary file left


def test_idx_header_is_big_endian_with_mnist_magic(tmp_path):
    write_idx(tmp_path / "i", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "l", np.zeros(2, np.uint8))
    raw = (tmp_path / "i").read_bytes()
    assert int.from_bytes(raw[:4], "big") == 2051 and int.from_bytes(raw[4:8], "big") == 2
    assert int.from_bytes((tmp_path / "l").read_bytes()[:4], "big") == 2049


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="dtype int64; IDX stores uint8"):
        write_idx(tmp_path / "a", np.zeros(3, np.int64))


def _header(shape, code=0x08):
    return bytes([0, 0, code, len(shape)]) + b"".join(s.to_bytes(4, "big") for s in shape)


@pytest.mark.parametrize("raw, gz, message", [
    (b"\0\0", False, r"truncated: 2 bytes, too short for an IDX header"),
    (_header((5, 28, 28))[:10], False, r"truncated: its header announces 3 dimensions \(16 header bytes\)"),
    (_header((5, 28, 28)) + bytes(100), False,
     r"truncated: its header announces 5 x 28 x 28 elements = 3920 bytes of data, the file holds 100"),
    (_header((3,)) + bytes(5), False, r"the sizes in its header \(3 = 3 bytes of data\) do not match the "
                                      r"file size \(5 bytes"),
    (b"PK\x03\x04" + bytes(20), False, r"is not an IDX file: magic number 1347093252 \(0x504b0304\)"),
    (_header((3,), code=0x07) + bytes(3), False, r"is not an IDX file: magic number 1793"),
    (b"hello, this is text", True, r"the gzip-compressed content of .* is not an IDX file"),
    (_header((5,)) + bytes(2), True, r"the gzip-compressed content of .*truncated"),
])
def test_corrupt_idx_files_name_the_file_and_the_fault(tmp_path, raw, gz, message):
    path = tmp_path / "bad-file"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    with pytest.raises(ValueError, match=message) as err:
        read_idx(path)
    assert str(path) in str(err.value)


def test_truncated_and_corrupt_gzip(tmp_path):
    whole = gzip.compress(_header((100,)) + bytes(100))
    (tmp_path / "cut.gz").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match=r"cut.gz: truncated gzip file"):
        read_idx(tmp_path / "cut.gz")
    (tmp_path / "bad.gz").write_bytes(whole[:10] + b"\xff" * 20 + whole[30:])
    with pytest.raises(ValueError, match=r"bad.gz: (corrupt|truncated) gzip file"):
        read_idx(tmp_path / "bad.gz")


# --------------------------------------------------------------------------------------------- loading

@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_scales_to_minus_one_one(tmp_path, gz):
    fake_mnist(tmp_path, gz=gz)
    images, labels = load_mnist(tmp_path, "train")
    raw = read_idx(next(tmp_path.glob("train-images*")))
    assert images.shape == (20, 784) and images.dtype == np.float32
    assert labels.dtype == np.int64 and list(labels[:12]) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]
    np.testing.assert_allclose(images, raw.reshape(20, 784) / 127.5 - 1, atol=1e-6)
    assert images[raw.reshape(20, 784) == 0].max() == -1 and images[raw.reshape(20, 784) == 255].min() == 1
    square, _ = load_mnist(tmp_path, "test", flatten=False)
    assert square.shape == (10, 28, 28)


def test_load_mnist_on_another_device(tmp_path):
    fake_mnist(tmp_path)
    images, labels = load_mnist(tmp_path, "test", device="strict")
    assert device_of(images) == device_of(labels) == "strict"


def test_load_mnist_mismatched_pairs_and_wrong_files(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz holds 5 labels but .*"
                                         r"train-images-idx3-ubyte holds 4 images"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.full(4, 12, np.uint8))
    with pytest.raises(ValueError, match="labels must be digits 0..9; found 12"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((4, 32, 32), np.uint8))
    with pytest.raises(ValueError, match="images of 32 x 32 pixels; MNIST images are 28 x 28"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="train-images-idx3-ubyte: magic number 2049; an MNIST image "
                                         "file has 2051"):
        load_mnist(tmp_path)


def test_missing_files_and_bad_split(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no MNIST test files in .*t10k-images-idx3-ubyte\[.gz\]"):
        load_mnist(tmp_path, "test")
    with pytest.raises(ValueError, match=r"split must be one of \['test', 'train'\]; got 'valid'"):
        load_mnist(tmp_path, "valid")


def test_load_digits_falls_back_to_rendered_digits(tmp_path):
    images, labels, source = load_digits(None, n_rendered=30, rng=Generator(0, "strict"))
    assert source == "rendered" and images.shape == (30, 784) and device_of(images) == "strict"
    assert load_digits(tmp_path, n_rendered=10)[2] == "rendered"
    fake_mnist(tmp_path)
    images, labels, source = load_digits(tmp_path, "test")
    assert source == "mnist" and images.shape == (10, 784)


# -------------------------------------------------------------------------------------------- download

class _Server:
    """A throw-away HTTP server on 127.0.0.1: ``routes`` maps a path to bytes; a path in ``cut`` gets an
    honest Content-Length but only half its bytes before the connection closes."""

    def __init__(self):
        self.routes: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.cut:
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                else:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(monkeypatch, tmp_path):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    s = _Server()
    files = fake_mnist(tmp_path / "source")
    for name, body in files.items():
        s.routes[f"/mnist/{name}"] = body
    s.hashes = {name: hashlib.sha256(body).hexdigest() for name, body in files.items()}
    yield s
    s.close()


def test_download_fetches_checks_and_skips_what_is_there(server, tmp_path):
    folder = tmp_path / "data"
    paths = download_mnist(folder, server.url + "/mnist/", sha256=server.hashes, progress=True)
    assert sorted(p.name for p in folder.iterdir()) == sorted(server.hashes) == sorted(p.name for p in paths)
    images, labels = load_mnist(folder, "train")
    assert images.shape == (20, 784)
    before = len(server.requests)
    download_mnist(folder, server.url + "/mnist", sha256=server.hashes, progress=False)
    assert len(server.requests) == before  # every file already there with the right digest
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(b"damaged")
    download_mnist(folder, server.url + "/mnist", sha256=server.hashes, progress=False)
    assert server.requests[before:] == ["/mnist/t10k-labels-idx1-ubyte.gz"]
    assert load_mnist(folder, "test")[1].shape == (10,)


def test_wrong_checksum_is_refused_and_leaves_nothing(server, tmp_path):
    folder = tmp_path / "data"
    hashes = dict(server.hashes)
    hashes["train-labels-idx1-ubyte.gz"] = "0" * 64
    with pytest.raises(DownloadError, match=r"could not download train-labels-idx1-ubyte.gz(.|\n)*"
                                            r"/mnist/train-labels-idx1-ubyte.gz: SHA-256 is [0-9a-f]{64}, "
                                            r"expected 0{64}; file refused"):
        download_mnist(folder, server.url + "/mnist/", sha256=hashes, progress=False)
    assert "train-labels-idx1-ubyte.gz" not in {p.name for p in folder.iterdir()}
    assert not list(folder.glob(".*"))  # no temporary file either


def test_interrupted_download_leaves_nothing(server, tmp_path):
    folder = tmp_path / "data"
    server.cut.add("/mnist/train-images-idx3-ubyte.gz")
    with pytest.raises(DownloadError, match=r"train-images-idx3-ubyte.gz: download interrupted after "
                                            r"\d+ of \d+ bytes"):
        download_mnist(folder, server.url + "/mnist/", sha256=server.hashes, progress=False)
    assert list(folder.iterdir()) == []


def test_next_mirror_is_tried_and_every_failure_reported(server, tmp_path):
    folder = tmp_path / "data"
    mirrors = [server.url + "/gone/", server.url + "/mnist/"]
    download_mnist(folder, mirrors, sha256=server.hashes, progress=False)
    assert len(list(folder.iterdir())) == 4
    with pytest.raises(DownloadError, match=r"/gone/t10k-images-idx3-ubyte.gz: HTTP Error 404(.|\n)*"
                                            r"/nowhere/t10k-images-idx3-ubyte.gz: HTTP Error 404"):
        download_mnist(tmp_path / "other", [server.url + "/gone/", server.url + "/nowhere/"],
                       sha256={"t10k-images-idx3-ubyte.gz": server.hashes["t10k-images-idx3-ubyte.gz"]},
                       progress=False)


def test_known_mnist_digests_are_well_formed():
    assert sorted(MNIST_SHA256) == sorted(
        f"{p}-{k}-ubyte.gz" for p in ("train", "t10k") for k in ("images-idx3", "labels-idx1"))
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in MNIST_SHA256.values())


# ------------------------------------------------------------------------------------- rendered digits

def test_rendered_digits_have_mnists_shape_range_and_labels():
    images, labels = rendered_digits(500, Generator(0))
    assert images.shape == (500, 784) and images.dtype == np.float32
    assert labels.dtype == np.int64 and np.array_equal(np.bincount(labels), np.full(10, 50))
    assert images.min() == -1 and images.max() == 1
    square = images.reshape(-1, 28, 28)
    border = np.concatenate([square[:, [0, -1], :], square[:, :, [0, -1]].transpose(0, 2, 1)], 1)
    border = border.reshape(500, -1)
    # centred by the centre of mass, as MNIST is, a few digits (long 7s) reach the bottom row
    assert (border > -1).any(1).mean() < 0.1 and (border > -1).mean() < 0.01
    ink = (images > 0).mean(1)
    assert 0.02 < ink.min() and ink.max() < 0.45 and 0.1 < ink.mean() < 0.2
    assert rendered_digits(3, Generator(0), size=16, flatten=False)[0].shape == (3, 16, 16)


def test_rendered_digits_are_deterministic_for_a_seed(device):
    a, la = rendered_digits(40, Generator(7, device))
    b, lb = rendered_digits(40, Generator(7, device))
    assert device_of(a) == device_of(la) == device
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    np.testing.assert_array_equal(to_numpy(la), to_numpy(lb))
    assert not np.array_equal(to_numpy(a), to_numpy(rendered_digits(40, Generator(8, device))[0]))


def test_rendered_digit_classes_differ():
    images, labels = rendered_digits(2000, Generator(1))
    half = np.arange(2000) < 1000
    means = np.stack([images[labels == c].mean(0) for c in range(10)])
    # how far the mean image of a class moves between two halves of the sample: the noise
    noise = max(np.linalg.norm(images[(labels == c) & half].mean(0) - images[(labels == c) & ~half].mean(0))
                for c in range(10))
    between = np.linalg.norm(means[:, None] - means[None], axis=2)[~np.eye(10, dtype=bool)]
    assert between.min() > 2 * noise


def test_rendered_digits_bad_arguments():
    with pytest.raises(ValueError, match="n must be an integer >= 0; got -3"):
        rendered_digits(-3, Generator(0))
    with pytest.raises(ValueError, match="image size must be an integer >= 8 pixels; got 4"):
        rendered_digits(3, Generator(0), size=4)
