"""One writer per output folder: an advisory lock on ``FOLDER/.lock``.

A second command writing the same folder (a sweep, a run, an import into the same
``--out``) stops at once with one line naming the folder and the holder::

    with folder_lock(out, "sweep"):
        ...  # write the folder

The lock is the operating system's (``fcntl.flock`` on Linux and macOS,
``msvcrt.locking`` on Windows) on an open file, so it is released when the holder ends,
however it ends: a killed command never leaves a stale lock behind.  The file itself
stays (removing it would let two writers lock two different files); it names the
command and pid of its holder, or of the last writer once released, for the messages.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sim.errors import ConfigError

__all__ = ["LOCK_FILE", "folder_lock"]

LOCK_FILE = ".lock"

try:  # POSIX
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return "another command"
    return text or "another command"


@contextlib.contextmanager
def folder_lock(folder: str | Path, command: str) -> Iterator[Path]:
    """Hold the lock of *folder* (created if needed) while the block runs.

    ConfigError, one line, when another process holds it or the folder cannot be made.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ConfigError(f"{folder}: cannot create output folder ({exc.strerror})") from None
    path = folder / LOCK_FILE
    try:
        if not _try_lock(fd):
            raise ConfigError(
                f"{folder}: {_holder(path)} is writing this folder; wait for it to finish "
                "or choose another --out"
            )
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, f"{command} (pid {os.getpid()})\n".encode())
            yield path
        finally:
            _unlock(fd)
    finally:
        os.close(fd)
