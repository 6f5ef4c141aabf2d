"""Output paths: file-name-safe names and paths confined to an output folder.

File names are fixed by the workbench and every path is checked to stay inside the
output folder, so no scenario name or CLI value can write elsewhere.
"""

from __future__ import annotations

import re
from pathlib import Path

from sim.errors import ConfigError

__all__ = ["confined", "safe_name"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """*text* reduced to a file-name-safe slug (never empty, never a dot path)."""
    slug = _UNSAFE.sub("-", text).strip(".-")
    return slug or "unnamed"


def confined(folder: Path, name: str) -> Path:
    """``folder / name``, refusing any name that would resolve outside *folder*."""
    base = folder.resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise ConfigError(f"{name}: output path escapes the output folder {folder}")
    return path
