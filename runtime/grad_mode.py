"""Grad mode: whether ops record a graph (`torch.no_grad`, `enable_grad`, `set_grad_enabled`).

The flag is thread-local like PyTorch's: a thread started inside `no_grad` sees grad enabled.
`no_grad`/`enable_grad` work as context managers and as decorators, with or without
parentheses (`@torch.no_grad` is accepted since PyTorch 2.0). `set_grad_enabled(False)` used as
a plain statement is a global switch; used in a `with` it restores the previous mode on exit.
"""

from __future__ import annotations

import functools
import inspect
import threading

_state = threading.local()


def is_grad_enabled() -> bool:
    return getattr(_state, "enabled", True)


def _set_enabled(mode: bool) -> None:
    _state.enabled = bool(mode)


class _GradModeDecorator:
    """Base for no_grad / enable_grad: a reusable context manager that also decorates."""

    mode = True

    def __new__(cls, orig_func=None):
        if orig_func is None:
            return super().__new__(cls)
        return cls()(orig_func)  # used as @no_grad without parentheses

    def __enter__(self):
        self._previous = is_grad_enabled()
        _set_enabled(self.mode)

    def __exit__(self, *exc_info):
        _set_enabled(self._previous)
        return False

    def clone(self):
        return type(self)()

    def __call__(self, func):
        if inspect.isgeneratorfunction(func):
            return self._wrap_generator(func)

        @functools.wraps(func)
        def decorated(*args, **kwargs):
            with self.clone():
                return func(*args, **kwargs)

        return decorated

    def _wrap_generator(self, func):
        # Grad mode is set around each resume of the generator, not for its whole life.
        @functools.wraps(func)
        def decorated(*args, **kwargs):
            generator = func(*args, **kwargs)
            to_send = None
            while True:
                try:
                    with self.clone():
                        value = generator.send(to_send)
                except StopIteration as stop:
                    return stop.value
                to_send = yield value

        return decorated


class no_grad(_GradModeDecorator):  # noqa: N801 - torch's name
    mode = False


class enable_grad(_GradModeDecorator):  # noqa: N801 - torch's name
    mode = True


class inference_mode(_GradModeDecorator):  # noqa: N801 - approximated by no_grad
    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)
        instance = object.__new__(cls)
        instance.mode = not mode
        return instance

    def clone(self):
        return inference_mode(not self.mode)


class set_grad_enabled:  # noqa: N801 - torch's name
    """Sets the mode at construction (so a bare call is a global switch); `with` restores."""

    def __init__(self, mode: bool):
        self._previous = is_grad_enabled()
        self.mode = bool(mode)
        _set_enabled(self.mode)

    def __enter__(self):
        return None

    def __exit__(self, *exc_info):
        _set_enabled(self._previous)
        return False

    def __call__(self, func):
        _set_enabled(self._previous)  # as a decorator it only applies inside the function

        @functools.wraps(func)
        def decorated(*args, **kwargs):
            with set_grad_enabled(self.mode):
                return func(*args, **kwargs)

        return decorated

    def clone(self):
        return set_grad_enabled(self.mode)
