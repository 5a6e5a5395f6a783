"""Replace a file whole or not at all: a temp file beside it, fsynced, renamed into place."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from workbench.core.errors import ConfigError

MODE = 0o644  # what node_exporter (another user, often) needs to read a textfile


def _refused(path: Path, why: str, remedy: str) -> ConfigError:
    return ConfigError(
        f"cannot write {path}: {why}",
        code="OUTPUT_UNWRITABLE",
        details={"path": str(path)},
        remedy=remedy,
    )


def check_writable(path: Path) -> None:
    """Refuse, before any work, a target that is a directory or another non-regular file, or
    whose directory is missing or not writable (the rename needs to write the directory)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _refused(path, exc.strerror or str(exc), "name a file you can write") from exc
    else:
        if stat.S_ISDIR(mode):
            raise _refused(
                path, "it is a directory", "name a file in it, such as DIR/workbench.prom"
            )
        if not stat.S_ISREG(mode):
            # The rename would replace a FIFO or a device node (as root, /dev/null).
            raise _refused(path, "it is not a regular file", "name a new or existing regular file")
    parent = path.parent
    if not parent.is_dir():
        raise _refused(path, f"no directory {parent}", "create the directory first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise _refused(
            path, f"directory {parent} is not writable", "run as a user that can write there"
        )


def write_atomic(path: Path, data: bytes, *, mode: int = MODE, durable: bool = True) -> None:
    """Write `data` to `path` (mode 0644 unless `mode`) so that a reader sees the old file or
    the new one, never a part: the temp file is removed when anything fails. `durable=False`
    skips the fsyncs (a cache, whose damaged file is thrown away: still atomic, not durable)."""
    check_writable(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _refused(path, exc.strerror or str(exc), "name a file you can write") from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fchmod(out.fileno(), mode)
            if durable:
                os.fsync(out.fileno())
        check_writable(path)  # again: a directory may have been made there meanwhile
        Path(tmp).replace(path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        if isinstance(exc, OSError):  # a full disk, a vanished directory
            raise _refused(
                path, exc.strerror or str(exc), "free space or name another file"
            ) from exc
        raise
    if not durable:
        return
    with contextlib.suppress(OSError):  # the rename itself made durable
        dirfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dirfd)
        finally:
            os.close(dirfd)
