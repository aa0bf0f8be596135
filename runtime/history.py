"""Detecting an accumulator that keeps every iteration's graph alive (VL203).

Two shapes are observed:

(a) `total += loss` / `total = total + loss` in a loop. Each add/sub/mul node remembers its
    *site*: the chain of (code object, bytecode offset) of the frames outside the runtime that
    created it. A new add/sub/mul at the same site whose input's grad_fn was created at that
    same site can only be a later execution of the same instruction consuming the result of
    an earlier one: the graph spans iterations. (Helper functions are handled because the
    whole frame chain is part of the site.)

(b) `losses.append(loss)` in a loop. A profile hook (`install_append_watch`), installed by the
    loader, watches `list.append` calls made from program frames: when a tensor with a
    grad_fn is appended to a list that already holds a tensor with a grad_fn appended from
    the same line, the list keeps several iterations' graphs.

Keeping several graphs is wanted when they are backpropagated together afterwards: the
REINFORCE loss list (`policy_loss.append(-log_prob * R)`, then `torch.cat(policy_loss).sum()
.backward()`), a seq2seq `loss += criterion(...)` over the time steps before one backward.
So an accumulation of either shape is only a *candidate*, decided by what happens to the
earlier graph it holds (`earlier`: the earlier accumulator's node, or the earlier item's):
- it was already backpropagated (that node or one of its inputs ran in a backward before):
  the accumulator keeps a finished iteration's graph. The event is recorded at once.
- a later backward (or autograd.grad) runs through it: wanted, the candidate is dropped.
- it dies, or the program ends normally, without a backward through it: the graphs were
  kept for nothing (an evaluation loop without no_grad). The event is recorded then, at the
  accumulation's line, once per line. A crash or an early stop leaves candidates undecided
  (the backward may have been to come): nothing is recorded for them.
"""

from __future__ import annotations

import sys
import weakref

from . import events


# The runtime functions through which a program applies + - * directly. An add made inside
# other runtime code (a layer, a loss, a composite op) is not the program's accumulator, and
# two such adds called from one program line would otherwise share a site.
_ARITHMETIC_ENTRY_POINTS = frozenset({
    "add", "sub", "mul", "add_", "sub_", "mul_", "__radd__", "__rmul__", "__rsub__",
    "__iadd__", "__isub__", "__imul__",
})


def current_site():
    """The (code, offset) chain of the frames outside the runtime, innermost first; None when
    the op was not applied directly by the program (see _ARITHMETIC_ENTRY_POINTS)."""
    site = []
    frame = sys._getframe(1)
    entry = None
    while frame is not None:
        if events._is_runtime_file(frame.f_code.co_filename):
            if not site:
                entry = frame.f_code.co_name  # ends as the outermost runtime frame
        else:
            site.append((frame.f_code, frame.f_lasti))
        frame = frame.f_back
    if entry not in _ARITHMETIC_ENTRY_POINTS:
        return None
    return tuple(site)


def check_accumulator(site, inputs, node_name: str) -> None:
    """A candidate (see the module doc) if an input was produced at this same site before."""
    if site is None:
        return
    for tensor in inputs:
        grad_fn = getattr(tensor, "_grad_fn", None)
        if grad_fn is not None and getattr(grad_fn, "_site", None) == site:
            _candidate(grad_fn, f"{node_name}: the result keeps the graph of an earlier iteration alive")
            return


# -- candidates: decided by what happens to the earlier graph ------------------------------

# id(node) -> (weak reference to the node, file, line, related lines, detail)
_candidates: dict[int, tuple] = {}
_candidate_lines: dict[tuple[str, int], int] = {}  # (file, line) -> candidates pending there
_recorded_lines: set[tuple[str, int]] = set()  # lines a never-backpropagated event was recorded at
_deciding = [True]  # False once the program crashed or stopped: candidates stay undecided


def _backpropagated(node) -> bool:
    return getattr(node, "_backpropagated", False) or any(
        getattr(child, "_backpropagated", False) for child, _ in getattr(node, "next_functions", ()))


def _candidate(earlier, detail: str) -> None:
    if _backpropagated(earlier):
        events.record("history-across-iterations", detail + " (that iteration's backward already ran)")
        return
    key = id(earlier)
    if key in _candidates:
        return
    file, line = events.program_location()
    related = events.caller_lines(file) if file else []

    def died(reference, key=key):
        entry = _candidates.get(key)
        if entry is not None and entry[0] is reference:
            _forget(key)
            _record_unconsumed(entry)

    try:
        reference = weakref.ref(earlier, died)
    except TypeError:
        return
    _candidates[key] = (reference, file, line, related, detail)
    _candidate_lines[(file, line)] = _candidate_lines.get((file, line), 0) + 1


def _forget(key: int) -> None:
    entry = _candidates.pop(key)
    place = (entry[1], entry[2])
    _candidate_lines[place] -= 1
    if not _candidate_lines[place]:
        del _candidate_lines[place]


def _record_unconsumed(entry) -> None:
    _, file, line, related, detail = entry
    if not _deciding[0] or (file, line) in _recorded_lines:
        return
    _recorded_lines.add((file, line))
    events.record_at("history-across-iterations", file, line,
                     detail + " (and no backward ran through it)", related, callers=False)


def backpropagated(nodes) -> None:
    """The engine ran these nodes in a backward: the candidates holding them are wanted."""
    for node in nodes:
        node._backpropagated = True
        if id(node) in _candidates and _candidates[id(node)][0]() is node:
            _forget(id(node))


def pending_at(file: str, line: int) -> bool:
    """A candidate of this line is undecided (its event may still come)."""
    return (file, line) in _candidate_lines


def program_ended() -> None:
    """The program ran to its end: every candidate left was never backpropagated."""
    for key in list(_candidates):
        entry = _candidates.get(key)
        if entry is not None and entry[0]() is not None:
            _forget(key)
            _record_unconsumed(entry)
    _deciding[0] = False


def stop_deciding() -> None:
    """The program crashed or was stopped: candidates are left undecided."""
    _deciding[0] = False


# -- (b) list.append watch --------------------------------------------------------------

# (id(list), file, line) -> weak references to the grad tensors appended from that line.
_appended: dict[tuple, list] = {}
_pending: dict[int, tuple] = {}  # id(append builtin) -> (list, file, line) between call/return


def _profile(frame, event, arg):
    if event == "c_call":
        if getattr(arg, "__name__", None) == "append" and type(getattr(arg, "__self__", None)) is list:
            if events.is_program_file(frame.f_code.co_filename):
                _pending[id(arg)] = (arg.__self__, frame.f_code.co_filename, frame.f_lineno)
    elif event == "c_return" and _pending:
        entry = _pending.pop(id(arg), None)
        if entry is not None:
            _after_append(*entry)


def _after_append(target: list, file: str, line: int) -> None:
    if not target:
        return
    item = target[-1]
    if getattr(item, "_grad_fn", None) is None:  # only tensors have one (core imports history)
        return
    key = (id(target), file, line)
    earlier = _appended.setdefault(key, [])
    holders = [ref() for ref in earlier]
    held = next((h for h in reversed(holders) if h is not None and any(h is other for other in target[:-1])), None)
    if held is not None:
        _candidate(held._grad_fn, "list.append of a tensor with a grad_fn: the list keeps every iteration's graph")
    try:
        earlier.append(weakref.ref(item))
    except TypeError:
        pass


def install_append_watch() -> None:
    sys.setprofile(_profile)


def uninstall_append_watch() -> None:
    sys.setprofile(None)
