"""The cyclic garbage collector, paused while a batch is written.

A 1,000-record submission allocates some hundred thousand short-lived objects (parsed records,
canonical documents, rows); nearly all are freed by reference counting as soon as they are dropped,
yet the cyclic collector, run every few hundred allocations, scanned them again and again and took
a fifth of the batch's time (bench/exchange.py). It is paused for the batch and runs again after.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block (nesting is harmless: the outer block resumes it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
