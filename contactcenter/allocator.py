"""glibc's allocator, set for a worker that lives for many jobs and handles big batches.

Elsewhere (musl, macOS) both functions do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt's parameter for the size from which a block gets a mapping of its own (malloc.h).
M_MMAP_THRESHOLD = -3
# glibc's initial threshold, kept fixed.
LARGE_BLOCK = 128 * 1024


def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    if libc is None or not hasattr(libc, "malloc_trim") or not hasattr(libc, "mallopt"):
        return None
    return libc


_libc = _glibc()


def trim() -> None:
    """Give the heap's free memory back to the system (glibc's malloc_trim)."""
    if _libc is not None:
        _libc.malloc_trim(0)


def keep_large_blocks_apart() -> bool:
    """Every block of LARGE_BLOCK bytes or more in a mapping of its own, unmapped when freed.

    glibc starts so, then raises the threshold to the size of each such block freed (up to
    32 MB). After an import's first batches, their big blocks (a batch's COPY text, its dict of
    rows, psycopg's buffers) all come from the heaps, the worker thread's and the check-ahead
    thread's, where freed memory stays resident and fragments them. Measured on the address
    book's bench, run (c): the worker peaked at 147-149 MB so, at 140 MB with the threshold
    fixed, as fast. Returns whether the allocator took the setting.
    """
    return _libc is not None and _libc.mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK) == 1
