"""How much memory a computation's arrays will take, checked before they are allocated.

Sizes a user gives (epochs, configurations, range-test points and steps) decide the size of arrays that are
allocated at once: refusing them up front with the estimate beats a MemoryError traceback halfway through.
"""

from __future__ import annotations

import os

# The share of this machine's physical memory one request may take: the rest is left to Python, numpy's temporaries
# and everything else running. Where the size cannot be read (not POSIX), FALLBACK_BYTES stands in.
MEMORY_FRACTION = 0.5
FALLBACK_BYTES = 8 * 2 ** 30


def allowed_bytes() -> int:
    """The most bytes one request may allocate: :data:`MEMORY_FRACTION` of physical memory."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        total = 2 * FALLBACK_BYTES
    return int(MEMORY_FRACTION * total)


def gib(nbytes: float) -> str:
    """Bytes in the unit a reader takes in at a glance: MiB, GiB or TiB, three significant digits."""
    for unit, size, from_ in (("TiB", 2 ** 40, 2 ** 40), ("GiB", 2 ** 30, 2 ** 27)):
        if nbytes >= from_:
            return f"{nbytes / size:.3g} {unit}"
    return f"{nbytes / 2 ** 20:.3g} MiB"


def check_fits(what: str, given: str, nbytes: float) -> None:
    """Raise ``ValueError`` if ``nbytes`` (for ``what``, because of ``given``, e.g. "epochs=100000000") exceeds
    :func:`allowed_bytes`: "epochs=100000000 would need 74.5 GiB for the loss records; at most 11.7 GiB allowed"."""
    limit = allowed_bytes()
    if nbytes > limit:
        raise ValueError(f"{given} would need {gib(nbytes)} for {what}; at most {gib(limit)} allowed "
                         f"(half of this machine's memory)")


def float_array_bytes(*shape: int) -> float:
    """Bytes of a float64 array of ``shape`` (a float, so that absurd sizes do not overflow)."""
    size = 8.0
    for s in shape:
        size *= float(s)
    return size
