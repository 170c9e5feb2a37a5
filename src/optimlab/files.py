"""Writing results without leaving anything half-written: every file appears whole or not at all."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

FIGURE_FORMATS = (".png", ".pdf", ".svg")


def check_output_file(path, suffixes: tuple[str, ...]) -> Path:
    """Fail early (before any work) when ``path`` cannot be written: its folder must exist and its suffix be one of
    ``suffixes``."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"output file must end in one of {', '.join(suffixes)}, got {str(path)!r}")
    if not path.parent.resolve().is_dir():
        raise ValueError(f"folder {str(path.parent)!r} for output file {path.name!r} does not exist")
    if path.is_dir():
        raise ValueError(f"output file {str(path)!r} is a folder")
    return path


def write_atomic(path, data: bytes | str) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path`` in one step."""
    path = Path(path)
    mode = "w" if isinstance(data, str) else "wb"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_figure(fig, path) -> Path:
    """Save a matplotlib Figure atomically; the format follows the suffix."""
    import io

    path = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=path.suffix.lstrip(".").lower(), dpi=120)
    return write_atomic(path, buffer.getvalue())
