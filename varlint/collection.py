"""When the garbage collector runs during a `varlint check` (engine.check_paths).

Parsing and analysing allocate millions of small objects, nearly all acyclic and freed by
reference counting when their file is done. A collection traverses every tracked object alive
at the time: one in the middle of a file traverses that file's libcst tree and analyses (all
still alive, none garbage); one between two files finds them freed already and traverses only
the little that lasts (results, memo entries) and the file's few reference cycles. So:

- `fewer_collections()`, for the whole run: the objects alive at its start (modules, settings)
  are frozen (never traversed again), and a young-generation collection waits for 50,000 new
  objects instead of 700.
- `between_files()`, around the check of one file (and the indexing of a share of modules):
  no collection inside unless the file allocates far more than any real one (a pathological
  file still has its cycles collected), and one at its end, of the young generation (or of an
  older one when its count is due), when the file's objects are freed already.
- `freeze_index()`, once the project index is built: the index and the trees it keeps for the
  checks (varlint/ast_stash.py) are never traversed; acyclic, they are freed as usual.

Measured on the speed corpus (--jobs 1, a loaded machine): collections took 2.6 s of CPU with
only `fewer_collections`, 0.8-1.0 s with all three; peak memory 205 -> 185 MiB. What is left
is the reference cycles of each file's analyses (and of every `ast.literal_eval` call).
"""

from __future__ import annotations

import contextlib
import gc

# CPython's default: (700, 10, 10). The middle generation is collected every 100 files (each
# file ends with a collection of the young one, see `between_files`): its count stays under
# the default 10 of the oldest for a run of up to 1,000 files, which then ends without a full
# collection falling due.
RUN_THRESHOLD = (50_000, 100, 100)
# Within one file, the young generation is collected only past this many new objects (those
# allocated less those freed, what the threshold counts): a hundred times what the largest
# files of the speed corpus end with (about 45,000), so that only a pathological file is
# collected midway.
FILE_THRESHOLD = 5_000_000


_runs = 0  # `fewer_collections` in force (nested: a check run inside another)


@contextlib.contextmanager
def fewer_collections():
    global _runs
    before = gc.get_threshold()
    gc.freeze()  # what is alive now (modules, settings) is never collected: not traversed again
    gc.set_threshold(*RUN_THRESHOLD)
    _runs += 1
    try:
        yield
    finally:
        _runs -= 1
        gc.set_threshold(*before)
        gc.unfreeze()


@contextlib.contextmanager
def between_files():
    before = gc.get_threshold()
    if not before[0] or not gc.isenabled():  # automatic collections are off, and stay so
        yield
        return
    gc.set_threshold(FILE_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        _collect_due()


def _collect_due() -> None:
    """The collection CPython would run at the next allocation, run now whatever the count of
    new objects: the youngest generation, or an older one when its own count is due (a
    collection of the young generation counts one for the next)."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    generation = 0
    for older in (1, 2):
        if counts[older] >= thresholds[older]:
            generation = older
    gc.collect(generation)


def freeze_index() -> None:
    """Leave what is alive now (the index just built) out of the collections to come, until
    `fewer_collections` ends (outside it: nothing)."""
    if _runs:
        gc.freeze()
