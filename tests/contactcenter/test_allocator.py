"""The worker's allocator settings (glibc): big blocks get mappings of their own, for good."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from contactcenter import allocator

# In a process of its own: whether a block is mapped depends on what the process freed before.
PROBE = textwrap.dedent(
    """
    import ctypes, sys
    from contactcenter import allocator

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd",
            "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    if sys.argv[1] == "set":
        assert allocator.keep_large_blocks_apart()
    # A 4 MB block freed: by default glibc then keeps blocks up to 4 MB in its heap.
    big = bytearray(4 * 2**20)
    del big
    mapped = libc.mallinfo2().hblks
    block = bytearray(300_000)
    print(libc.mallinfo2().hblks - mapped)
    """
)


def _mapped_after_a_big_free(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(allocator.__file__).parents[1],
        # glibc's own behaviour, whatever the environment tunes.
        env={k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")},
    )
    return int(done.stdout)


@pytest.mark.skipif(allocator._libc is None, reason="glibc's allocator only")
def test_a_big_block_is_mapped_apart_even_after_a_bigger_one_was_freed():
    assert _mapped_after_a_big_free("default") == 0  # glibc's own behaviour: in the heap
    assert _mapped_after_a_big_free("set") == 1


def test_the_worker_sets_it_at_start(monkeypatch):
    from celery.signals import worker_init

    from contactcenter import celery

    # Sent by the worker before its pool starts; sending it here would start Django's fixup.
    assert celery.set_allocator in worker_init._live_receivers(None)
    calls = []
    monkeypatch.setattr(allocator, "keep_large_blocks_apart", lambda: calls.append(True))
    celery.set_allocator()
    assert calls == [True]
