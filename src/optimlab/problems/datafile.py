"""Reading a user's data set: the one loader every command and the API go through.

Two formats, chosen by the suffix (upper or lower case):

- ``.npz`` (``numpy.savez``) holding arrays ``X`` (n × d, or n for one feature) and ``y`` (n);
- ``.csv`` (also ``.tsv``, ``.txt``): plain UTF-8 text, one example per row, y in the last column, an optional first
  row of column names. The delimiter is detected: ``,``, ``;``, a tab, or runs of spaces.

Every problem is reported in one line that names the file and, for a text file, the row (the line number in the
file, counting from 1) and the column, before any work starts. The file's absolute path and its SHA-256 are returned
with the arrays, so a saved run can tell later whether its data moved or changed.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
SUFFIXES = (".npz",) + TEXT_SUFFIXES
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", None: "spaces"}
# The loss is a mean of squared residuals and the Hessian XᵀX/n a mean of products: values beyond about
# √(float64 max / n) overflow them. Rather than a fixed cut-off, the loader computes the sums and names the largest
# value when one is not finite.


@dataclass(frozen=True)
class DataFile:
    X: np.ndarray  # (n, d)
    y: np.ndarray  # (n,)
    path: Path  # absolute
    sha256: str

    def source(self) -> dict:
        """What a run records about where its data came from."""
        return {"data": str(self.path), "sha256": self.sha256}


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read(path) -> DataFile:
    """Read ``path`` (see the module docstring); a bad file raises ``ValueError`` with one line naming it."""
    shown = str(path)
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"data file {shown!r} is a folder, not a file")
    if not path.exists():
        raise ValueError(f"data file {shown!r} does not exist")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"data file must end in .csv or .npz (or .tsv, .txt), got {path.name!r}")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ValueError(f"data file {shown!r} cannot be read: {e.strerror or e}") from None
    if not raw.strip():
        raise ValueError(f"data file {shown!r} is empty")
    X, y, rows = (*_npz(raw, shown), None) if suffix == ".npz" else _text(raw, shown)
    _check_magnitude(X, y, shown, rows)
    return DataFile(X, y, path.resolve(), hashlib.sha256(raw).hexdigest())


# -- .npz ----------------------------------------------------------------------------------------------------------

def _npz(raw: bytes, shown: str) -> tuple[np.ndarray, np.ndarray]:
    import io

    broken = (f"data file {shown!r} is not a readable .npz archive (damaged, cut short, or not written by "
              f"numpy.savez)")
    # zipfile and numpy raise many kinds of error on a damaged archive (BadZipFile, zlib.error, EOFError,
    # NotImplementedError for an unknown compression, RuntimeError for a flag read as encryption...): every one of
    # them means the same thing to the user, so all are reported as one line.
    try:
        archive = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception:
        raise ValueError(broken) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"data file {shown!r} holds a single array, not an .npz archive with X and y")
    with archive:
        missing = [k for k in ("X", "y") if k not in archive.files]
        if missing:
            holds = ", ".join(n if n.isprintable() else repr(n) for n in sorted(archive.files)) or "nothing"
            raise ValueError(f"data file {shown!r} must hold arrays named X and y; it lacks {' and '.join(missing)} "
                             f"(it holds: {holds})")
        arrays = {}
        for key in ("X", "y"):
            try:
                arrays[key] = archive[key]
            except ValueError as e:
                if "allow_pickle" in str(e):
                    raise ValueError(f"data file {shown!r}: {key} holds Python objects, not numbers") from None
                raise ValueError(broken) from None
            except Exception:  # see above: any failure to read a member is a damaged archive
                raise ValueError(broken) from None
            if not isinstance(arrays[key], np.ndarray):  # numpy hands back raw bytes for a member it cannot read
                raise ValueError(broken)
    X, y = arrays["X"], arrays["y"]
    for key, a in arrays.items():
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool) or np.issubdtype(a.dtype, np.complexfloating):
            raise ValueError(f"data file {shown!r}: {key} must hold real numbers, got dtype {a.dtype}")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"data file {shown!r}: X must be 2-D (examples × features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"data file {shown!r}: X holds no data, shape {X.shape}")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (X.shape[0],):
        raise ValueError(f"data file {shown!r}: y must hold one value per row of X, shape ({X.shape[0]},), "
                         f"got {y.shape}")
    X, y = X.astype(np.float64), y.astype(np.float64)
    for key, a in (("X", X), ("y", y)):
        bad = np.argwhere(~np.isfinite(a))
        if bad.size:
            at = ", ".join(str(i) for i in bad[0])
            raise ValueError(f"data file {shown!r}: {key}[{at}] is {a[tuple(bad[0])]}; every value must be a "
                             f"finite number")
    return X, y


# -- text ----------------------------------------------------------------------------------------------------------

def _decode(raw: bytes, shown: str) -> str:
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ValueError(f"data file {shown!r} is UTF-16 text; save it as UTF-8 plain text")
    if b"\x00" in raw[:8192]:
        raise ValueError(f"data file {shown!r} is not a text file (it holds binary data); a .csv must be plain text")
    try:
        return raw.decode("utf-8-sig")  # a byte-order mark at the start is dropped, never read into the first cell
    except UnicodeDecodeError as e:
        raise ValueError(f"data file {shown!r} is not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
                         f"save it as UTF-8 plain text") from None


def _delimiter(lines: list[str]):
    """The delimiter of the first lines: the candidate that splits every one of them into the same number (> 1) of
    cells; ';' is tried before ',' because files that use ';' often write decimal commas."""
    sample = lines[:20]
    for candidate in (";", "\t", ","):
        counts = {line.count(candidate) for line in sample}
        if len(counts) == 1 and counts != {0}:
            return candidate
    for candidate in (";", "\t", ","):
        if candidate in sample[0]:
            return candidate
    return None


def _cells(line: str, delimiter) -> list[str]:
    """The cells of one line; with a delimiter, read as CSV so that quoted cells ("x, in m") stay whole."""
    if delimiter is None:
        return line.split()
    return [c.strip() for c in next(csv.reader([line], delimiter=delimiter))]


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _text(raw: bytes, shown: str) -> tuple[np.ndarray, np.ndarray, list[int]]:
    text = _decode(raw, shown)
    rows = [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not rows:  # e.g. nothing but a byte-order mark
        raise ValueError(f"data file {shown!r} is empty")
    delimiter = _delimiter([line for _, line in rows])
    table = [(i, _cells(line, delimiter)) for i, line in rows]
    header = table[0][1] if all(_number(c) is None for c in table[0][1]) else None
    body = table[1:] if header is not None else table
    if not body:
        raise ValueError(f"data file {shown!r} has a header row but no data rows")
    width = len(header) if header is not None else len(body[0][1])
    if width < 2:
        raise ValueError(f"data file {shown!r} has one column; it needs at least two (features, then y last)"
                         + ("" if delimiter else "; columns may be separated by ',', ';', a tab or spaces"))
    values = np.empty((len(body), width))
    for r, (line_no, cells) in enumerate(body):
        if len(cells) != width:
            raise ValueError(f"data file {shown!r}, row {line_no}: {len(cells)} columns, expected {width} "
                             f"(as row {table[0][0]}; delimiter: {DELIMITERS[delimiter]})")
        for c, cell in enumerate(cells):
            where = f"data file {shown!r}, row {line_no}, column {c + 1}"
            if cell == "":
                raise ValueError(f"{where}: empty cell; every cell must hold a number")
            x = _number(cell)
            if x is None:
                hint = " (use '.' as the decimal mark)" if "," in cell and _number(cell.replace(",", ".")) is not None \
                    else ""
                raise ValueError(f"{where}: {cell[:40]!r} is not a number{hint}")
            if not math.isfinite(x):
                raise ValueError(f"{where}: {cell!r} is not a finite number")
            values[r, c] = x
    return values[:, :-1], values[:, -1], [line_no for line_no, _ in body]


def _check_magnitude(X, y, shown: str, rows=None) -> None:
    """Refuse data whose loss or curvature overflows float64, naming the largest value (row and column of a text
    file, index of an array)."""
    A = np.hstack([X, np.ones((X.shape[0], 1))])
    with np.errstate(over="ignore", invalid="ignore"):
        fine = np.isfinite(A.T @ A).all() and np.isfinite(y @ y) and np.isfinite(A.T @ y).all()
    if fine:
        return
    table = np.hstack([X, y[:, None]])
    r, c = np.unravel_index(int(np.argmax(np.abs(table))), table.shape)
    if rows is not None:
        where = f"row {rows[r]}, column {c + 1}"
    else:
        where = f"y[{r}]" if c == X.shape[1] else f"X[{r}, {c}]"
    raise ValueError(f"data file {shown!r}, {where}: {table[r, c]:.3g} is too large; squares and sums of the "
                     f"values overflow float64 in the loss: rescale the data")
