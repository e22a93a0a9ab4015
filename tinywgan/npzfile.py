"""Writing and reading a tinywgan ``.npz`` file so that nothing a user saved is lost, and nothing read is
unpickled: what ``tinywgan.save``/``load`` and ``tinywgan.wgan.checkpoint.save``/``load`` share.

:func:`write_atomically` writes the arrays into a temporary file in the target's folder, flushes and fsyncs
it, then renames it over the target with ``os.replace`` (atomic on POSIX and Windows): a crash or an
exception mid-write leaves the previous file whole, and the temporary file is removed. The temporary file's
name carries the writer's host and process id (``.run.npz.<host>-<pid>.<random>.tmp``): a save killed before
it could clean up (SIGKILL, a power cut) leaves one behind, and the next save or load of that file removes
those whose process no longer runs on this host (:func:`remove_stale_temporaries`).
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import socket
import tempfile
from pathlib import Path

import numpy as np  # the file format lives on the host, whatever the device

MARKER = "__tinywgan__"  # the entry that holds the file's JSON index


def write_atomically(path: Path, arrays: dict, fn: str) -> Path:
    """Write ``arrays`` (name -> NumPy array) as an ``.npz`` at ``path`` (see the module docstring). A folder
    that does not exist, is a file or cannot be written, or a ``path`` that is a folder, is an error naming
    it as the user gave it (``fn`` names the public function), before anything is written."""
    folder = path.parent
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist; create it first"
        raise FileNotFoundError(f"{fn}: the folder {str(folder)!r} of {str(path)!r} {what}")
    if path.is_dir():
        raise IsADirectoryError(f"{fn}: {str(path)!r} is a folder; give a file path inside it, such as "
                                f"{str(path / 'checkpoint.npz')!r}")
    mode = _file_mode(path)
    remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=temporary_prefix(path), suffix=".tmp", dir=folder)
    except PermissionError:
        raise PermissionError(f"{fn}: cannot write into the folder {str(folder)!r} (permission denied): "
                              f"{str(path)!r} was not saved") from None
    except OSError as err:  # a read-only file system, a full disk
        raise OSError(err.errno, f"{fn}: cannot write into the folder {str(folder)!r} ({err.strerror}): "
                                 f"{str(path)!r} was not saved") from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:  # also KeyboardInterrupt: never leave a half-written temporary file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)
    return path


def read(path: Path, fn: str, what: str, error: type[Exception] = ValueError) -> tuple[object, dict]:
    """The JSON index and the arrays of the tinywgan ``.npz`` at ``path``, every array read now, so that a
    damaged file fails here and not halfway through restoring it. ``numpy.load(..., allow_pickle=False)``
    refuses object arrays: nothing is unpickled. A missing file or a folder is the OSError Python would raise;
    anything that is not a readable ``.npz`` holding a ``MARKER`` entry is ``error``; both messages start with
    ``fn`` (the public function) and name the file, and say it is not ``what`` ("a tinywgan checkpoint")."""
    if path.is_dir():
        raise IsADirectoryError(f"{fn}: {str(path)!r} is a folder; give the file's path")
    if not path.exists():
        raise FileNotFoundError(f"{fn}: no file {str(path)!r}" + (
            "" if path.parent.is_dir() else f" (its folder {str(path.parent)!r} does not exist)"))
    try:
        npz = np.load(path, allow_pickle=False)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as err:  # not a zip, a truncated zip, an empty file, a pickle...
        raise error(f"{fn}: {path} is not {what} ({type(err).__name__}: {err})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise error(f"{fn}: {path} holds a single .npy array, not {what}")
    with npz:
        if MARKER not in npz.files:
            raise error(f"{fn}: {path} is not {what}: the .npz has no {MARKER!r} entry "
                        f"(it holds {sorted(npz.files)[:5]})")
        try:
            document = json.loads(bytes(npz[MARKER]).decode("utf-8"))
            arrays = {name: npz[name] for name in npz.files if name != MARKER}
        except Exception as err:  # a bad CRC, a truncated member, an object array refused, bad JSON...
            raise error(f"{fn}: {path} is damaged ({type(err).__name__}: {err})") from None
    return document, arrays


def host_tag() -> str:
    """This machine's name, letters, digits and '-' only (a temporary file's name carries it, so a folder
    shared by several machines never loses another machine's save in progress)."""
    return "".join(c if c.isalnum() or c == "-" else "-" for c in socket.gethostname())[:40] or "host"


def temporary_prefix(path: Path) -> str:
    return f".{path.name}.{host_tag()}-{os.getpid()}."


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # it exists but belongs to someone else (or cannot be asked)
        return True
    return True


def remove_stale_temporaries(path) -> list[Path]:
    """Remove the temporary files that killed saves of ``path`` left in its folder
    (``.<name>.<host>-<pid>.<random>.tmp`` whose process no longer runs on this host); returns them. Files
    of a live process, or written on another host (a shared folder), are left alone."""
    path = Path(path)
    pattern = re.compile(re.escape(f".{path.name}.") + r"(?P<host>[A-Za-z0-9-]*)-(?P<pid>\d+)\.[^.]+\.tmp")
    removed = []
    try:
        candidates = list(path.parent.glob(f".{glob.escape(path.name)}.*.tmp"))
    except OSError:
        return removed
    for candidate in candidates:
        match = pattern.fullmatch(candidate.name)
        if match is None or match["host"] != host_tag() or process_alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            candidate.unlink()
            removed.append(candidate)
    return removed


def version() -> str:
    """The tinywgan version that writes a file (its document records it)."""
    from tinywgan import __version__
    return __version__


def _file_mode(path: Path) -> int:
    """The permissions the file gets: those of the file it replaces, else 0o666 less the umask (mkstemp
    creates files readable by their owner only)."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); where folders cannot be opened (Windows) this is a no-op."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
