"""Producing the next items in a thread while the caller uses the current one.

The jobs engine overlaps Python's work with the database's this way: an import checks its
next batches while one is written, an export fetches its next rows while some are written.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Generator, Iterator
from queue import Full, Queue
from typing import TypeVar

T = TypeVar("T")
_DONE = object()
# How long the producing thread may keep the GIL when the caller wants it back, while both
# run. The caller's work is mostly waiting on the database: every reply (and every chunk of a
# COPY) needs the GIL again, and Python's default 5 ms made each of them wait that long behind
# the thread (measured: a COPY loop took 0.63 s alone, 1.17 s beside a busy thread, 0.81 s
# with 0.2 ms).
SWITCH_INTERVAL_S = 0.0002


def produced_ahead(source: Callable[[], Iterator[T]], *, name: str, depth: int) -> Generator[T]:
    """The items of source(), which a thread called `name` iterates, at most `depth` ahead.

    source() runs entirely in the thread (its set-up and clean-up too, e.g. a language to
    activate or a connection to close). An exception it raises is raised here; closing this
    generator (the caller stops early) stops the thread and waits for it.
    """
    queue: Queue = Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: object) -> bool:
        """Queue `item` unless the caller has stopped listening; False once it has."""
        while not stop.is_set():
            try:
                queue.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in source():
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as exc:  # handed to the caller, which raises it
            offer(exc)

    thread = threading.Thread(target=produce, name=name, daemon=True)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, SWITCH_INTERVAL_S))
    thread.start()
    try:
        while (item := queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
