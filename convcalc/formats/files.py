"""Opening a user's file: only a regular one (a FIFO would block, a device never end), read to a bound."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..core.errors import SpecError, quote, shorten
from ..core.messages import Note


def open_regular(path: Path) -> int:
    """A descriptor of `path` opened for reading, if it is a regular file. Opened without blocking and
    checked on the descriptor itself, so a FIFO put in its place meanwhile cannot hang the reader."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SpecError(Note("{path}: not a regular file (a pipe or a device), got {value}", path=shorten(str(path)), value=quote(str(path))))
    return fd


def read_text(path: Path, limit: int) -> str:
    """A regular file's text, at most `limit` bytes of it and one more (so a caller that checks the length
    refuses a file that grew after it was measured)."""
    with open(open_regular(path), "rb") as handle:
        return handle.read(limit + 1).decode("utf-8")


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file (links and `./` included); False when either does not exist."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


CHUNK = 1 << 16  # bytes written at a time


def write_atomically(path: str | Path, data: bytes) -> None:
    """`data` written beside `path` and renamed over it once complete and on disk: a full disk, a size
    limit or a kill leaves the old file whole (a kill may leave the hidden part-file beside it). A link is
    followed (the file it names is replaced), the file's permissions are kept; a FIFO or a device
    (`-o /dev/stdout`) is written as it is."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        status = None
    if status is not None and not stat.S_ISREG(status.st_mode):
        with open(path, "wb") as handle:
            handle.write(data)
        return
    target = os.path.realpath(path)
    import tempfile

    folder, name = os.path.split(target)
    fd, part = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=folder or ".")
    done = False
    try:
        if status is not None:
            os.fchmod(fd, stat.S_IMODE(status.st_mode))
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # as open() would have made it
        view = memoryview(data)
        while view:
            written = os.write(fd, view[:CHUNK])
            view = view[written:]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(part, target)
        done = True
    finally:  # the part-file goes whatever stopped the write (a full disk, Ctrl-C), then the error goes on
        if fd >= 0:
            os.close(fd)
        if not done:
            try:
                os.unlink(part)
            except OSError:
                pass
