"""MNIST: the IDX file format, a checked download, and an offline stand-in drawn from fonts.

MNIST (LeCun, Bottou, Bengio and Haffner 1998, "Gradient-based learning applied to document recognition";
http://yann.lecun.com/exdb/mnist/) ships as four IDX files, usually gzipped:

=============================  ===========================================
``train-images-idx3-ubyte``    60,000 images, 28 x 28 unsigned bytes
``train-labels-idx1-ubyte``    their labels 0..9, one unsigned byte each
``t10k-images-idx3-ubyte``     10,000 test images
``t10k-labels-idx1-ubyte``     their labels
=============================  ===========================================

The IDX format: a big-endian header, then the data in row-major (C) order, big-endian.

    bytes 0-1   zero
    byte  2     element type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     number of dimensions d
    then d      uint32 sizes, then prod(sizes) elements

so the magic number (the first four bytes as one integer) is 2051 = 0x0803 for MNIST's images (uint8, three
dimensions) and 2049 = 0x0801 for its labels (uint8, one dimension).

Without the files (offline, or in the tests) :func:`rendered_digits` draws MNIST-like digits from the fonts
matplotlib ships, and :func:`load_digits` picks whichever is there.
"""
from __future__ import annotations

import functools
import gzip as _gzip
import hashlib
import http.client
import math
import os
import tempfile
import urllib.request
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np

from ..engine.backend import Generator, as_generator, to_device, to_numpy

MNIST_FILES = {  # split -> (images, labels); each may be stored with or without ".gz"
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# SHA-256 of the standard gzipped files, from TensorFlow Datasets' checksum list
# (github.com/tensorflow/datasets, tensorflow_datasets/url_checksums/mnist.txt, which also gives the sizes
# 9,912,422 / 28,881 / 1,648,877 / 4,542 bytes); torchvision's MNIST lists the same four values.
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

# Mirrors tried in order (yann.lecun.com itself often refuses downloads now): the one TensorFlow Datasets
# uses, then the one torchvision uses.
MNIST_MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_CODES = {np.dtype(t).newbyteorder("="): code for code, t in _IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049


# --------------------------------------------------------------------------------------------- IDX files

def read_idx(path) -> np.ndarray:
    """The array stored in an IDX file (gzipped or not: detected by the gzip magic bytes 1f 8b).

    Returns a NumPy array of the file's element type (uint8 for MNIST) and shape (the sizes in its
    header). A truncated, corrupt or inconsistent file raises a ``ValueError`` that names the file and
    what is wrong with it. Format: see this module's docstring (LeCun et al., the MNIST page).
    """
    return _read_idx(path)[1]


def _read_idx(path) -> tuple[int, np.ndarray]:
    path = Path(path)
    if not path.is_file():
        raise (IsADirectoryError if path.is_dir() else FileNotFoundError)(
            f"read_idx: {str(path)!r} " + ("is a folder; give an IDX file's path" if path.is_dir() else "does not exist"))
    raw = path.read_bytes()
    compressed = raw[:2] == _GZIP_MAGIC
    if compressed:
        try:
            raw = _gzip.decompress(raw)
        except EOFError:
            raise ValueError(f"{path}: truncated gzip file (the compressed stream ends early)") from None
        except (OSError, zlib.error) as err:
            raise ValueError(f"{path}: corrupt gzip file ({err})") from None
    what = "the gzip-compressed content of " if compressed else ""
    if len(raw) < 4:
        raise ValueError(f"{what}{path}: truncated: {len(raw)} bytes, too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    type_code, ndim = raw[2], raw[3]
    if raw[:2] != b"\0\0" or type_code not in _IDX_TYPES:
        raise ValueError(
            f"{what}{path} is not an IDX file: magic number {magic} (0x{magic:08x}); expected 0x0000TTDD "
            f"with element type TT in {{{', '.join(f'{c:02x}' for c in _IDX_TYPES)}}} "
            f"(MNIST images: {IMAGES_MAGIC}, labels: {LABELS_MAGIC})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{what}{path}: truncated: its header announces {ndim} dimensions "
                         f"({header} header bytes) but the file has {len(raw)} bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[type_code])
    expected = math.prod(shape) * dtype.itemsize
    found = len(raw) - header
    dims = " x ".join(map(str, shape)) or "a scalar"
    if found < expected:
        raise ValueError(f"{what}{path}: truncated: its header announces {dims} elements = {expected} "
                         f"bytes of data, the file holds {found}")
    if found > expected:
        raise ValueError(f"{what}{path}: the sizes in its header ({dims} = {expected} bytes of data) do "
                         f"not match the file size ({found} bytes of data after the header)")
    array = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=header).reshape(shape)
    return magic, array.astype(dtype.newbyteorder("="))


def write_idx(path, array, gzip: bool | None = None) -> Path:
    """Write ``array`` (any backend) as an IDX file; gzipped when ``gzip`` is true.

    ``gzip=None`` compresses when the name ends in ``.gz``. Element types: uint8, int8, int16, int32,
    float32, float64 (stored big-endian, as the format requires). The file appears whole or not at all
    (written to a temporary file in the same folder, then moved into place). Returns the path.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"write_idx: the folder {str(path.parent)!r} of {str(path)!r} does not exist")
    a = np.ascontiguousarray(to_numpy(array))
    code = _IDX_CODES.get(a.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"array has dtype {a.dtype}; IDX stores uint8, int8, int16, int32, float32 "
                         f"or float64")
    if a.ndim > 255:
        raise ValueError(f"array has {a.ndim} dimensions; IDX stores at most 255")
    raw = bytes([0, 0, code, a.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in a.shape)
    raw += a.astype(_IDX_TYPES[code], copy=False).tobytes()
    if gzip if gzip is not None else path.suffix == ".gz":
        raw = _gzip.compress(raw, compresslevel=6, mtime=0)
    _atomic_write(path, raw)
    return path


def _atomic_write(path: Path, raw: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _remove(path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# ---------------------------------------------------------------------------------------------- loading

def mnist_paths(folder, split: str = "train") -> tuple[Path, Path] | None:
    """The (images, labels) files of ``split`` in ``folder`` (each name with or without ``.gz``), or
    ``None`` when either is missing."""
    if split not in MNIST_FILES:
        raise ValueError(f"split must be one of {sorted(MNIST_FILES)}; got {split!r}")
    found = []
    for name in MNIST_FILES[split]:
        candidates = [Path(folder) / name, Path(folder) / f"{name}.gz"]
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            return None
        found.append(path)
    return found[0], found[1]


def load_mnist(folder, split: str = "train", *, flatten: bool = True, device: str = "cpu"):
    """MNIST's ``split`` (``'train'``: 60,000, ``'test'``: 10,000) read from the IDX files in ``folder``.

    Returns ``(images, labels)`` on ``device``: images float32 scaled from bytes to [-1, 1]
    (x = byte / 127.5 - 1, so the background is -1 and the ink near +1, the range of a tanh generator),
    shape ``(n, 784)`` when ``flatten`` (an MLP's input) or ``(n, 28, 28)``; labels int64 in 0..9.
    The image file must carry magic 2051 and 28 x 28 images, the label file magic 2049 and as many
    labels as there are images; anything else is a ``ValueError`` naming the file.
    """
    paths = mnist_paths(folder, split)
    if paths is None:
        names = " and ".join(f"{n}[.gz]" for n in MNIST_FILES[split])
        raise FileNotFoundError(
            f"no MNIST {split} files in {folder}: expected {names}; fetch them with "
            f"tinywgan.data.download_mnist({str(folder)!r}) or use tinywgan.data.rendered_digits offline")
    images_path, labels_path = paths
    magic, images = _read_idx(images_path)
    if magic != IMAGES_MAGIC:
        raise ValueError(f"{images_path}: magic number {magic}; an MNIST image file has {IMAGES_MAGIC} "
                         f"(unsigned bytes, 3 dimensions)")
    if images.shape[1:] != (28, 28):
        raise ValueError(f"{images_path}: images of {images.shape[1]} x {images.shape[2]} pixels; "
                         f"MNIST images are 28 x 28")
    magic, labels = _read_idx(labels_path)
    if magic != LABELS_MAGIC:
        raise ValueError(f"{labels_path}: magic number {magic}; an MNIST label file has {LABELS_MAGIC} "
                         f"(unsigned bytes, 1 dimension)")
    if images.shape[0] == 0:
        raise ValueError(f"{images_path} holds 0 images; an MNIST image file must hold at least one")
    if labels.shape[0] != images.shape[0]:
        raise ValueError(f"{labels_path} holds {labels.shape[0]} labels but {images_path} holds "
                         f"{images.shape[0]} images; the pair must match")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: labels must be digits 0..9; found {int(labels.max())}")
    x = images.astype(np.float32) / np.float32(127.5) - np.float32(1)
    if flatten:
        x = x.reshape(x.shape[0], 28 * 28)
    return to_device(x, device), to_device(labels.astype(np.int64), device)


def load_digits(folder=None, split: str = "train", *, n_rendered: int = 10_000,
                rng: Generator | None = None, flatten: bool = True):
    """MNIST from ``folder`` when its files are there, else ``n_rendered`` :func:`rendered_digits`.

    The embedded default that lets every chapter run offline. Returns ``(images, labels, source)`` with
    ``source`` either ``'mnist'`` or ``'rendered'``; the arrays are on ``rng.device`` (``rng`` defaults to
    ``Generator(0)``, used only for rendering). Files that are present but corrupt raise, they are never
    silently replaced by rendered digits.
    """
    rng = as_generator(rng, None, "load_digits: rng", default_seed=0)
    if folder is not None and mnist_paths(folder, split) is not None:
        return (*load_mnist(folder, split, flatten=flatten, device=rng.device), "mnist")
    return (*rendered_digits(n_rendered, rng, flatten=flatten), "rendered")


# -------------------------------------------------------------------------------------------- download

class DownloadError(RuntimeError):
    """A file could not be fetched whole and with the expected SHA-256 from any mirror."""


def download_mnist(folder, base_url: str | Sequence[str] = MNIST_MIRRORS, *,
                   sha256: dict[str, str] | None = None, timeout: float = 60.0,
                   progress: bool = True) -> list[Path]:
    """Fetch the four gzipped MNIST files into ``folder`` and check the SHA-256 of each.

    ``base_url`` is a URL prefix or a sequence of them (mirrors, tried in order); the file name is
    appended to it. ``sha256`` maps each file name to fetch to its expected hex digest (default
    :data:`MNIST_SHA256`: the standard files). A file already in ``folder`` with the right digest is kept
    as is. Each download streams (with a tqdm progress bar) into a temporary file in ``folder`` and is
    moved into place with ``os.replace`` only once its digest matches, so an interrupted download or a
    wrong checksum leaves nothing behind. Uses urllib only. Returns the paths of the files; raises
    :class:`DownloadError` naming the file, each URL tried and what went wrong.
    """
    from tqdm import tqdm  # text bars: the same in a terminal and a notebook (no widgets needed)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    mirrors = [base_url] if isinstance(base_url, str) else list(base_url)
    if not mirrors:
        raise ValueError("base_url must name at least one URL prefix; got an empty sequence")
    hashes = MNIST_SHA256 if sha256 is None else sha256
    paths = []
    for name, expected in hashes.items():
        expected = expected.lower()
        dest = folder / name
        paths.append(dest)
        if dest.is_file() and _sha256_of(dest) == expected:
            continue
        failures = []
        for prefix in mirrors:
            url = prefix if prefix.endswith("/") else prefix + "/"
            url += name
            try:
                _fetch(url, dest, expected, timeout, tqdm, progress)
                break
            except (OSError, http.client.HTTPException, ValueError) as err:
                failures.append(f"  {url}: {err}")
        else:
            raise DownloadError(f"could not download {name} into {folder}:\n" + "\n".join(failures))
    return paths


def _fetch(url: str, dest: Path, expected: str, timeout: float, tqdm, progress: bool) -> None:
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest, received = hashlib.sha256(), 0
        request = urllib.request.Request(url, headers={"User-Agent": "tinywgan"})
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name,
                      disable=not progress, leave=False) as bar:
                try:
                    while chunk := response.read(1 << 16):
                        out.write(chunk)
                        digest.update(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                except (OSError, http.client.HTTPException) as err:
                    raise OSError(f"download interrupted after {received} of {total or '?'} bytes "
                                  f"({type(err).__name__}: {err})") from None
            if total is not None and received != total:
                raise OSError(f"download interrupted after {received} of {total} bytes")
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != expected:
            raise ValueError(f"SHA-256 is {digest.hexdigest()}, expected {expected}; file refused")
        os.replace(tmp, dest)
    except BaseException:
        _remove(tmp)
        raise


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------- rendered digits

# Fonts bundled with matplotlib (mpl-data/fonts/ttf), so the glyphs are the same on every machine.
_FONTS = ("DejaVuSans.ttf", "DejaVuSerif.ttf", "cmss10.ttf", "cmr10.ttf", "STIXGeneral.ttf")
_CANVAS, _GLYPH = 96, 64  # glyphs rasterised once: longer side 64 px on a 96 x 96 canvas


@functools.lru_cache(maxsize=1)
def _glyph_fields() -> tuple[np.ndarray, np.ndarray]:
    """Signed distance fields of the digits 0-9 in each font: (digits * fonts, 96, 96) float32, in canvas
    pixels, negative inside the ink; and each glyph's centre of mass (row, col)."""
    import matplotlib
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path as MplPath
    from matplotlib.textpath import TextPath
    from scipy import ndimage

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    centres = np.arange(_CANVAS) + 0.5
    cols, rows = np.meshgrid(centres, centres)
    fields, masses = [], []
    for digit in range(10):
        for font in _FONTS:
            path = TextPath((0, 0), str(digit), size=1.0, prop=FontProperties(fname=str(ttf / font)))
            box = path.get_extents()
            scale = _GLYPH / max(box.width, box.height)
            # glyph units (y up) -> canvas pixels (row down), the bounding box centred on the canvas
            x = (cols - _CANVAS / 2) / scale + (box.x0 + box.x1) / 2
            y = (_CANVAS / 2 - rows) / scale + (box.y0 + box.y1) / 2
            points = np.stack([x.ravel(), y.ravel()], axis=1)
            ink = np.zeros(points.shape[0], dtype=bool)
            for polygon in path.to_polygons(closed_only=True):  # even-odd rule: holes flip back
                ink ^= MplPath(polygon).contains_points(points)
            ink = ink.reshape(_CANVAS, _CANVAS)
            fields.append(ndimage.distance_transform_edt(~ink) - ndimage.distance_transform_edt(ink))
            masses.append(ndimage.center_of_mass(ink))
    return np.asarray(fields, dtype=np.float32), np.asarray(masses)


def rendered_digits(n: int, rng: Generator | np.random.Generator | int | None, size: int = 28, *,
                    flatten: bool = True):
    """``n`` MNIST-like digits drawn offline from the fonts matplotlib ships (DejaVu Sans and Serif,
    Computer Modern, STIX), with labels: the stand-in for MNIST when its files are not at hand.

    ``rng``: a tinywgan or NumPy Generator, an int seed, or None (fresh digits each call).
    Returns ``(images, labels)`` on ``rng.device``: images float32 in [-1, 1] with background -1 and
    bright ink, shape ``(n, size * size)`` when ``flatten`` else ``(n, size, size)`` -- the layout of
    :func:`load_mnist`; labels int64 0..9, each digit ``n // 10`` or ``n // 10 + 1`` times, shuffled.
    Deterministic for a seed on a device.

    How: each glyph is rasterised once at 64 px and turned into a signed distance field d (negative in
    the ink). A digit is then, per sample, d read through a random affine map (rotation, slant, scale,
    aspect, shift) plus a smooth random displacement (the elastic distortions of Simard, Steinkraus and
    Platt 2003, at low frequency), with one vectorised bilinear lookup for all samples; the ink is
    clip((w - d) / 1 px + 1/2, 0, 1) for a random stroke offset w, which thickens or thins the stroke and
    anti-aliases its edge. As in MNIST, the digit's longer side is about 20/28 of the image and its centre
    of mass sits near the centre.
    """
    from scipy import ndimage

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"number of digits n must be an integer >= 0; got {n!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"image size must be an integer >= 8 pixels; got {size!r}")
    n, size = int(n), int(size)
    rng = as_generator(rng, None, "rendered_digits: rng")
    fields, masses = _glyph_fields()
    n_fonts = len(_FONTS)

    def uniform(low, high, shape=(n,)):
        return to_numpy(rng.uniform(shape, low, high)).astype(np.float64)

    # The random draws, all from rng (so the same seed on the same device gives the same digits).
    labels = to_numpy(rng.permutation(n)) % 10
    font = to_numpy(rng.integers(0, n_fonts, (n,)))
    angle = np.deg2rad(uniform(-12, 12))
    slant = uniform(-0.25, 0.45)
    height = uniform(0.75, 1.0) * 20 * size / 28          # the longer side, in output pixels
    aspect = uniform(0.75, 1.15)                           # extra horizontal stretch
    shift = uniform(-1.0, 1.0, (n, 2)) * size / 28
    stroke = uniform(0.0, 1.2) * size / 28                # stroke offset w, output pixels
    warp = to_numpy(rng.normal((n, 2, 4, 4))).astype(np.float64) * 0.9 * size / 28

    # Output pixel p -> canvas point c = m + A^-1 (p - o - shift + e(p)): m the glyph's centre of mass,
    # o the image centre, e a smooth displacement, A = s Rotate(angle) Lean(slant) Stretch(aspect).
    s = height / _GLYPH                                    # output pixels per canvas pixel
    zero, one = np.zeros(n), np.ones(n)
    rotate = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    lean = np.array([[one, zero], [-slant, one]])          # col -= slant * row: the top leans right
    stretch = np.array([[one, zero], [zero, aspect]])
    fwd = s[:, None, None] * np.einsum("ijn,jkn,kln->nil", rotate, lean, stretch)
    inv = np.linalg.inv(fwd)
    canvas_per_pixel = 1 / np.sqrt(np.abs(np.linalg.det(fwd)))

    grid = np.stack(np.meshgrid(np.arange(size), np.arange(size), indexing="ij"), axis=-1)
    grid = grid.reshape(-1, 2) - (size - 1) / 2            # (size * size, 2), centred
    knots = np.linspace(0, size - 1, 4)                    # smooth displacement: 4 x 4 Gaussian bumps
    bumps = np.exp(-0.5 * ((np.arange(size)[:, None] - knots[None, :]) / (size / 5)) ** 2)

    glyph = labels * n_fonts + font
    images = np.empty((n, size * size), dtype=np.float32)
    for lo in range(0, n, 1024):                           # chunks bound the memory of the coordinates
        hi = min(n, lo + 1024)
        e = (bumps @ warp[lo:hi] @ bumps.T).reshape(hi - lo, 2, -1)
        d = grid.T[None] - shift[lo:hi, :, None] + e                  # (chunk, 2, size * size)
        a, m = inv[lo:hi, :, :, None], masses[glyph[lo:hi], :, None]
        rows = m[:, 0] + a[:, 0, 0] * d[:, 0] + a[:, 0, 1] * d[:, 1]  # c = m + A^-1 d
        cols = m[:, 1] + a[:, 1, 0] * d[:, 0] + a[:, 1, 1] * d[:, 1]
        index = np.broadcast_to(glyph[lo:hi, None], rows.shape)
        coords = np.stack([index, rows, cols]).reshape(3, -1)
        dist = ndimage.map_coordinates(fields, coords, order=1, mode="nearest").reshape(hi - lo, -1)
        dist /= canvas_per_pixel[lo:hi, None]             # canvas pixels -> output pixels
        ink = np.clip(stroke[lo:hi, None] - dist + 0.5, 0, 1)
        images[lo:hi] = 2 * ink - 1
    if not flatten:
        images = images.reshape(n, size, size)
    return to_device(images, rng.device), to_device(labels.astype(np.int64), rng.device)
