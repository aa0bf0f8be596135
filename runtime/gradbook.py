"""Gradient bookkeeping for the event log (see events.py).

Every gradient-carrying leaf has a `GradBook` with the sequence numbers and program lines of its
last backward, reset and consumption; the Tensor methods `_note_grad_consumed`,
`_note_grad_reset` and `_note_backward` (core.py) keep it. The optimizer (runtime/optim.py)
calls `note_optimizer_step(params, previous)` at the start of `step()`.
"""

from __future__ import annotations

import itertools

from . import events

_sequence = itertools.count(1)


def next_sequence() -> int:
    """A global, monotonically increasing counter ordering backward/reset/consume/step."""
    return next(_sequence)


class GradBook:
    """When (sequence number) and where (program line) a leaf's grad was last touched."""

    __slots__ = ("backward_seq", "backward_line", "reset_seq", "reset_line",
                 "consumed_seq", "consumed_line", "stale")

    def __init__(self):
        self.backward_seq = self.reset_seq = self.consumed_seq = 0
        self.backward_line = self.reset_line = self.consumed_line = 0
        # (backward call id, file, line, consumed line) when a backward added into a grad
        # already consumed and not reset since; reported if that grad is consumed again
        self.stale = None


reported_backward_calls: set[int] = set()


def note_optimizer_step(params, previous_step_seq: int = 0) -> int:
    """Bookkeeping for `Optimizer.step()`; call it first thing in step(), before any update.

    `params`: every parameter the optimizer holds. `previous_step_seq`: the value this
    function returned at the optimizer's previous step (0 the first time); store it on the
    optimizer. It records `step-after-reset` (once, at the step line) for params that got a
    backward since the previous step but whose grad was reset after that backward, and marks
    the grads it is about to use as consumed (for `grad-accumulated`). Returns the sequence
    number to pass next time.
    """
    reset_lines = []
    for param in params:
        book = param._grad_book
        if book is None:
            continue
        if book.backward_seq > previous_step_seq and book.reset_seq > book.backward_seq:
            reset_lines.append(book.reset_line)
    if reset_lines:
        events.record("step-after-reset",
                      "step() after the gradients were reset: it sees None/zero gradients",
                      related=reset_lines)
    for param in params:
        if param._grad is not None:
            param._note_grad_consumed()
    return next_sequence()


# Program locations where a 0-dim tensor became a 0-d ndarray or a Python number
# (`loss.data.numpy()`, `loss.data.tolist()`): indexing that value on the same line crashes
# outside the runtime's reach (numpy / Python raise), so runtime/__main__.py records
# `zero-dim-index` when the program dies of exactly that error at such a line.
zero_dim_conversion_sites: set[tuple[str, int]] = set()


def note_zero_dim_conversion() -> None:
    zero_dim_conversion_sites.add(events.program_location())
