"""What a result records about how it was made: library versions and the platform."""

from __future__ import annotations

import functools
import platform
import sys


def _version(package: str) -> str | None:
    from importlib import metadata  # ~0.02 s to import: only when a result is made, not at start-up

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@functools.lru_cache(maxsize=1)
def _versions() -> tuple:
    return tuple({
        "python": sys.version.split()[0],
        "optimlab": _version("optimlab"),
        "numpy": _version("numpy"),
        "matplotlib": _version("matplotlib"),
        "platform": platform.platform(),
    }.items())


def versions() -> dict[str, str | None]:
    """Versions of Python, optimlab and the libraries that shape numerical results (read once per process)."""
    return dict(_versions())
