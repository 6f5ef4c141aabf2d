"""Locating the project's folders (scenarios, notebooks, reports) from anywhere.

Notebooks run with their own folder as working directory (papermill, nbval, JupyterLab),
so paths given relative to the project root must be resolved explicitly.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["project_root", "resolve"]


def project_root() -> Path:
    """The folder holding ``scenarios/`` and ``notebooks/``: searched upwards from the
    working directory, else the checkout this package was installed from."""
    for folder in (Path.cwd(), *Path.cwd().parents):
        if (folder / "scenarios").is_dir() and (folder / "notebooks").is_dir():
            return folder
    return Path(__file__).resolve().parents[2]


def resolve(path: str | Path) -> Path:
    """An absolute path for *path*: as given if it exists from here, else from the root."""
    path = Path(path)
    if path.is_absolute() or path.exists():
        return path.resolve()
    return (project_root() / path).resolve()
