"""Writing results without losing or half-writing anything of the user's.

A command checks every output target before any work (:func:`check_output_file`), computes everything, renders
every output to bytes, and only then writes them all with :func:`write_all`: each file goes to a temporary file
beside its target and all of them are renamed into place once every one has been written, so a failure leaves none
of the command's outputs behind and never a partial file. Messages name the user's path, never a temporary name.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

FIGURE_FORMATS = (".png", ".pdf", ".svg")


def _writable_folder(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def check_output_file(path, suffixes: tuple[str, ...], flag: str = "output file") -> Path:
    """Fail early (before any work) when ``path`` cannot be written: its suffix must be one of ``suffixes``, its
    folder must exist and be writable, and it must not be a folder itself. ``flag`` names the option in messages."""
    shown = str(path)
    path = Path(path)
    if path.is_dir() or shown.endswith(("/", os.sep)):
        raise ValueError(f"{flag} {shown!r} is a folder; give a file name ending in {', '.join(suffixes)}")
    if path.suffix.lower() not in suffixes:
        raise ValueError(f"{flag} must end in {', '.join(suffixes)}, got {shown!r}")
    folder = path.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise ValueError(f"{flag} {shown!r}: the folder {str(folder)!r} {what}")
    if not _writable_folder(folder):
        raise ValueError(f"{flag} {shown!r}: the folder {str(folder)!r} is not writable")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{flag} {shown!r} exists and is read-only")
    return path


def write_all(outputs: dict) -> list[Path]:
    """Write ``{path: bytes | str}`` all together or not at all: every file is first written in full to a temporary
    file beside its target, then all are renamed over their targets. If any write fails, every temporary file is
    removed and the targets are left as they were; the error names the user's path."""
    staged: list[tuple[str, Path]] = []
    try:
        for target, data in outputs.items():
            target = Path(target)
            try:
                fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
                staged.append((tmp, target))
                with os.fdopen(fd, "wb") as f:
                    os.fchmod(f.fileno(), _mode_of(target))  # mkstemp makes it private (0600)
                    f.write(data.encode("utf-8") if isinstance(data, str) else data)
            except OSError as e:
                raise OSError(f"cannot write {str(target)!r}: {e.strerror or e}") from None
        for tmp, target in staged:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    return [target for _, target in staged]


def write_atomic(path, data: bytes | str) -> Path:
    """One file, whole or not at all (see :func:`write_all`)."""
    return write_all({path: data})[0]


def _mode_of(target: Path) -> int:
    """The permissions ``open(target, "w")`` would leave: an existing file keeps its own, a new one gets
    0o666 & ~umask (0644 under the usual umask 022)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read from /proc where it can be: setting it to read it (the portable way) would, for a
    moment, give files that other threads create (the playground's server, Dask's) the wrong permissions."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def figure_bytes(fig, path) -> bytes:
    """A matplotlib Figure rendered in the format its target's suffix names."""
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format=Path(path).suffix.lstrip(".").lower(), dpi=120)
    return buffer.getvalue()


def save_figure(fig, path) -> Path:
    """Save a matplotlib Figure atomically; the format follows the suffix."""
    return write_atomic(path, figure_bytes(fig, path))


def same_file(a, b) -> bool:
    """Whether two output paths name the same file (after resolving the folder)."""
    return Path(a).resolve() == Path(b).resolve()
