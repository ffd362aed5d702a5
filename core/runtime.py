"""How the long-running processes (web workers, task clusters) set up the interpreter itself."""

from __future__ import annotations

import gc

# CPython's default is 700: collect the youngest generation after every 700 new container objects.
YOUNGEST_GENERATION_THRESHOLD = 10_000


def tune_garbage_collection() -> None:
    """Collect the youngest generation every 10,000 container allocations instead of every 700.

    Reference counting frees almost everything a request makes; the cyclic collector only finds the
    rare cycles, and each of its runs walks every young object still alive. One availability answer
    makes tens of thousands of containers (a tuple per busy period, several per answer) and held them
    through about forty collections: raising the threshold took about a millisecond (8%) off a
    ten-person answer (benchmarks/README.md). Cycles are still collected, only a little later."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST_GENERATION_THRESHOLD, middle, oldest)
