"""Atomic output files and folders: a killed command leaves old files or new ones, never
half of one, and a folder that was not completely written says so.

A file is written to a temporary name beside its target (``.NAME.PID.tmp``) and renamed
into place (:func:`os.replace` is atomic on one file system).  An output *folder*
(``import``, ``run --out``) is written in three steps::

    with folder_lock(out, "import"):               # sim.io.locks: one writer at a time
        begin_folder(out)                          # remove the completion marker first
        write_frame(frame, out / "leads.parquet")  # every file by rename
        mark_complete(out, ["leads.parquet"], "import")  # the marker last

so a folder without a marker, or with a marker from another writer, is refused by
:func:`require_complete` (``DATA: was not completely written: rerun import``).  The
marker (``.complete.json``) names the command and the files it wrote, which is what a
reader should read: a file left over from an older write of the folder is not listed.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sim.errors import ConfigError
from sim.io.locks import LOCK_FILE

__all__ = [
    "COMPLETE_MARKER",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "begin_folder",
    "completed_files",
    "managed",
    "mark_complete",
    "require_complete",
    "require_complete_file",
    "write_frame",
]

COMPLETE_MARKER = ".complete.json"
MARKER_FORMAT = 1


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write; renamed onto *path* when the block ends without error,
    removed otherwise::

        with atomic_path(out / "table.csv") as tmp:
            frame.to_csv(tmp)
    """
    path = Path(path)
    tmp = _temporary(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write *data* to *path* by writing a temporary file beside it, then renaming."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write *text* (UTF-8) to *path* atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_frame(frame: Any, path: str | Path) -> None:
    """Write the pandas *frame* as Parquet (no index) to *path*, atomically."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def begin_folder(folder: str | Path) -> None:
    """Mark *folder* as being written: remove its completion marker (first, before any
    file of the new write is in place)."""
    (Path(folder) / COMPLETE_MARKER).unlink(missing_ok=True)


def mark_complete(folder: str | Path, files: Iterable[str], command: str) -> Path:
    """Write the completion marker of *folder* (last): the *command* that wrote it and
    the *files* (names inside the folder) it wrote."""
    folder = Path(folder)
    names = sorted(set(files))
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise ConfigError(f"{folder}: {missing[0]} was not written; not marking it complete")
    payload = {"format": MARKER_FORMAT, "command": command, "files": names}
    path = folder / COMPLETE_MARKER
    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
    return path


def completed_files(folder: str | Path, command: str) -> list[str] | None:
    """The files listed by *folder*'s completion marker written by *command*, or None
    when the folder has no such marker (missing, unreadable, another command's)."""
    path = Path(folder) / COMPLETE_MARKER
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("command") != command:
        return None
    files = payload.get("files")
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return files


def require_complete(folder: str | Path, command: str) -> list[str]:
    """The files *folder*'s marker lists; ConfigError (one line) when the folder was not
    completely written by *command* or a listed file is gone."""
    folder = Path(folder)
    files = completed_files(folder, command)
    if files is None:
        raise ConfigError(f"{folder}: was not completely written: rerun {command}")
    for name in files:
        if not (folder / name).is_file():
            raise ConfigError(f"{folder}: {name} is missing: rerun {command}")
    return files


def _last_writer(folder: Path) -> str:
    """The command named in *folder*'s lock file (left there by a writer that was killed)."""
    try:
        words = (folder / LOCK_FILE).read_text(encoding="utf-8").split()
    except OSError:
        words = []
    return words[0] if words else "the command that wrote it"


def managed(folder: str | Path) -> bool:
    """Whether a workbench command writes or wrote *folder* (it holds the lock file or a
    completion marker); a folder made by hand, or by an older version, does not."""
    folder = Path(folder)
    return (folder / COMPLETE_MARKER).is_file() or (folder / LOCK_FILE).is_file()


def require_complete_file(path: str | Path) -> None:
    """Refuse (ConfigError, one line) a file inside a folder a workbench command was
    writing and did not finish, or that its completion marker does not list.  A folder
    no command wrote (no ``.lock``, no marker: a file made by hand) is not checked."""
    path = Path(path)
    folder = path.parent
    marker = folder / COMPLETE_MARKER
    if not managed(folder):
        return
    try:
        payload = json.loads(marker.read_text(encoding="utf-8"))
        command, files = str(payload["command"]), payload["files"]
    except (OSError, ValueError, TypeError, KeyError):
        raise ConfigError(
            f"{folder}: was not completely written: rerun {_last_writer(folder)}"
        ) from None
    if path.name not in files:
        raise ConfigError(f"{path}: not written by the last {command} of {folder}: rerun {command}")
