"""Output paths: Unicode-safe file names, one file per entity, paths confined to a folder.

File names keep what people call things (``李明``, ``华东``) and drop only what a file
system refuses: path separators, control characters, the characters Windows forbids,
reserved device names and trailing dots.  Two rules keep one entity to one file:
:func:`distinct_name` adds a short hash of the original text whenever cleaning changed it
(``rep li`` -> ``rep-li-58ab09``, never ``rep-li``), and :func:`unique_names` gives a
set of keys file stems that differ even on a case-insensitive file system.  Every path is
checked to stay inside the output folder, so no name can write elsewhere.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from sim.errors import ConfigError

__all__ = ["confined", "distinct_name", "safe_name", "unique_names"]

MAX_NAME_BYTES = 150
"""Longest stem in UTF-8 bytes: file systems allow 255, leaving room for suffixes."""

_UNSAFE = re.compile(r"[^\w.-]+")  # \w is Unicode: letters (CJK too), digits, marks, _
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", str(text))


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]


def _bounded(slug: str, limit: int) -> str:
    raw = slug.encode("utf-8")[:limit]
    return raw.decode("utf-8", errors="ignore").rstrip(".-")


def safe_name(text: str) -> str:
    """*text* as a file-name-safe stem (never empty, never a dot path).

    NFC-normalised; Unicode letters and digits (CJK included), ``_``, ``.`` and ``-`` are
    kept, every other run of characters (spaces, separators, controls, ``<>:"/\\|?*``)
    becomes one ``-``; leading and trailing dots and dashes go; at most
    :data:`MAX_NAME_BYTES` bytes; Windows device names (``CON``, ``nul.txt``) get a
    leading ``_``.
    """
    slug = _bounded(_UNSAFE.sub("-", _nfc(text)).strip(".-"), MAX_NAME_BYTES)
    if slug.split(".")[0].lower() in _RESERVED:
        slug = f"_{slug}"
    return slug or "unnamed"


def distinct_name(text: str) -> str:
    """:func:`safe_name` of *text*, plus ``-`` and a 6-digit hash of *text* when cleaning
    changed it: two different texts never share a stem (``rep li`` vs ``rep-li``)."""
    slug = safe_name(text)
    if slug == _nfc(text):
        return slug
    return f"{_bounded(slug, MAX_NAME_BYTES - 7)}-{_short_hash(_nfc(text))}"


def unique_names(keys: Iterable[str], *, on_collision: str = "hash") -> dict[str, str]:
    """A file stem per key (key order kept), no two alike even on a case-insensitive disk.

    ``on_collision="hash"``: stems are :func:`distinct_name` (so ``rep li`` and ``rep-li``
    already differ), and keys whose stems differ only in case (``Li``, ``li``) each get
    ``-`` and a hash of the key; the same key always gets the same stem.
    ``on_collision="error"``: stems are :func:`safe_name`, and keys that would share one
    raise a :class:`~sim.errors.ConfigError` naming them.
    """
    if on_collision not in ("hash", "error"):
        raise ValueError(f"on_collision must be 'hash' or 'error', got {on_collision!r}")
    keys = list(dict.fromkeys(keys))
    name = distinct_name if on_collision == "hash" else safe_name
    stems = {key: name(key) for key in keys}
    groups: dict[str, list[str]] = defaultdict(list)
    for key, stem in stems.items():
        groups[stem.casefold()].append(key)
    for group in (g for g in groups.values() if len(g) > 1):
        if on_collision == "error":
            shown = ", ".join(repr(k) for k in group)
            raise ConfigError(f"{shown} would all be written as {stems[group[0]]!r}")
        for key in group:
            stems[key] = f"{_bounded(safe_name(key), MAX_NAME_BYTES - 7)}-{_short_hash(key)}"
    folded = [stem.casefold() for stem in stems.values()]
    if len(set(folded)) < len(folded):  # only when two keys' hashes coincide
        raise ConfigError(f"file names still clash after disambiguation: {sorted(stems)}")
    return stems


def confined(folder: Path, name: str) -> Path:
    """``folder / name``, refusing any name that would resolve outside *folder*."""
    base = folder.resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise ConfigError(f"{name}: output path escapes the output folder {folder}")
    return path
