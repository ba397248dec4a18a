"""Producing the next items in a thread while the caller uses the current one.

The jobs engine overlaps Python's work with the database's this way: an import checks its
next batches while one is written, an export fetches its next rows while some are written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator
from queue import Full, Queue
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


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
    thread.start()
    try:
        while (item := queue.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
