"""How the long-running processes (web workers, task clusters) set up the interpreter itself."""

from __future__ import annotations

import gc

from django.urls import get_resolver

# CPython's default is 700: collect the youngest generation after every 700 new container objects.
YOUNGEST_GENERATION_THRESHOLD = 10_000


def tune_garbage_collection() -> None:
    """Collect the youngest generation every 10,000 container allocations instead of every 700.

    Reference counting frees almost everything a request makes; the cyclic collector only finds the
    rare cycles, and each of its runs walks every young object still alive. A ten-person availability
    answer holds thousands of containers at once (a tuple per busy period) and ran about five
    collections (4.4 of the youngest generation, 0.4 of the middle one, and a full one every hundred
    requests); with the higher threshold, one every twelve answers. That took 0.9 to 1.6 ms off the
    answer's mean (benchmarks/README.md). Cycles are still collected, only a little later."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST_GENERATION_THRESHOLD, middle, oldest)


def freeze_loaded_code() -> None:
    """Load the URLconf (and with it every view, serializer and form), collect what loading left
    behind, and move everything alive now out of the collector's reach for good.

    A web worker holds about 160,000 objects once loaded (modules, classes, functions, settings), and
    a full collection walks them all: 80-90 ms on a 2-core machine, charged to whichever request was
    running when it struck (the p99 of availability over HTTP). None of them ever becomes garbage, so
    they are frozen (Python's documented remedy for pre-forked servers) and full collections walk only
    what requests made since. Loading the URLconf here also surfaces an import error at start, not at
    the first request."""
    get_resolver().url_patterns  # noqa: B018  # imported for its side effect: every view module loads
    gc.collect()
    gc.freeze()
