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
    """Record history-across-iterations if an input was produced at this same site before."""
    if site is None:
        return
    for tensor in inputs:
        grad_fn = getattr(tensor, "_grad_fn", None)
        if grad_fn is not None and getattr(grad_fn, "_site", None) == site:
            events.record(
                "history-across-iterations",
                f"{node_name}: the result keeps the graph of an earlier iteration alive",
            )
            return


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
    if any(held is not None and any(held is other for other in target[:-1]) for held in holders):
        events.record(
            "history-across-iterations",
            "list.append of a tensor with a grad_fn: the list keeps every iteration's graph",
        )
    try:
        earlier.append(weakref.ref(item))
    except TypeError:
        pass


def install_append_watch() -> None:
    sys.setprofile(_profile)


def uninstall_append_watch() -> None:
    sys.setprofile(None)
