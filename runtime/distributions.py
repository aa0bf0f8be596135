"""`torch.distributions`: Categorical, Normal and Bernoulli, as PyTorch 2.13 defines them.

Parameters are normalised as PyTorch does (Categorical probs divided by their sum, logits minus
their logsumexp); `sample()` draws under no_grad with PyTorch's calls (`multinomial(probs, n,
True)`, `normal(loc, scale)`, `bernoulli(probs)`), so a seeded program samples the same values;
`log_prob` and `entropy` are built from differentiable Tensor ops, so REINFORCE-style losses
(`-dist.log_prob(action) * reward`) backpropagate into the parameters.
"""

from __future__ import annotations

import math

import numpy as np

from . import dtypes, functional, random_ops
from .dtypes import Size
from .grad_mode import enable_grad, no_grad
from .tensor import Tensor

__all__ = ["Distribution", "Categorical", "Normal", "Bernoulli"]


def _as_tensor(value, like=None):
    if isinstance(value, Tensor):
        return value
    dtype = like._data.dtype if like is not None else dtypes.get_default_dtype().numpy
    return Tensor._wrap(np.asarray(value, dtype=dtype))


def _broadcast_all(*values):
    """broadcast_all: numbers become tensors of the others' (or the default) dtype."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    tensors = [_as_tensor(v, like) for v in values]
    shape = np.broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return [t if tuple(t.shape) == shape else t.expand(tuple(shape)) for t in tensors]


def _clamp_probs(probs):
    eps = float(np.finfo(probs._data.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


def _logsumexp(x, dim):
    peak = Tensor._wrap(np.max(x._data, axis=dim, keepdims=True))
    peak = Tensor._wrap(np.where(np.isfinite(peak._data), peak._data, 0).astype(x._data.dtype))
    return (x - peak).exp().sum(dim, keepdim=True).log() + peak


class Distribution:
    has_rsample = False

    def __init__(self, batch_shape=Size(), event_shape=Size(), validate_args=None):
        self._batch_shape = Size(batch_shape)
        self._event_shape = Size(event_shape)

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=Size()):
        return Size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def sample_n(self, n):
        return self.sample(Size((n,)))

    def rsample(self, sample_shape=Size()):
        raise NotImplementedError

    def __repr__(self):
        names = [name for name in self.arg_constraints if name in self.__dict__]
        inner = ", ".join(f"{name}: {self.__dict__[name] if self.__dict__[name].numel() == 1 else self.__dict__[name].size()}"
                          for name in names)
        return f"{type(self).__name__}({inner})"


class Categorical(Distribution):
    arg_constraints = {"probs": "simplex", "logits": "real_vector"}

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        if probs is not None:
            if probs.dim() < 1:
                raise ValueError("`probs` parameter must be at least one-dimensional.")
            self.probs = probs / probs.sum(-1, keepdim=True)
            self._param = self.probs
        else:
            if logits.dim() < 1:
                raise ValueError("`logits` parameter must be at least one-dimensional.")
            self.logits = logits - _logsumexp(logits, -1)
            self._param = self.logits
        self._num_events = self._param.shape[-1]
        super().__init__(tuple(self._param.shape[:-1]), validate_args=validate_args)

    def __getattr__(self, name):
        # PyTorch's lazy_property: computed on first use, under enable_grad (even when the
        # first use is sample(), under no_grad), and kept
        if name not in ("logits", "probs"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        with enable_grad():
            if name == "logits":
                value = _clamp_probs(self.probs).log()
            else:
                value = functional.softmax(self.logits, dim=-1)
        self.__dict__[name] = value
        return value

    @property
    def param_shape(self):
        return self._param.size()

    @property
    def mean(self):
        return Tensor._wrap(np.full(self._extended_shape(), np.nan, dtype=self.probs._data.dtype))

    @property
    def mode(self):
        return self.probs.argmax(-1)

    def sample(self, sample_shape=Size()):
        sample_shape = Size(sample_shape) if not isinstance(sample_shape, Size) else sample_shape
        with no_grad():
            probs_2d = self.probs.reshape(-1, self._num_events)
            count = int(np.prod(tuple(sample_shape))) if len(sample_shape) else 1
            samples_2d = random_ops.multinomial(probs_2d, count, True).t()
            return samples_2d.reshape(*self._extended_shape(sample_shape))

    def log_prob(self, value):
        value = _as_tensor(value).long().unsqueeze(-1)
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.logits.shape))
        log_pmf = self.logits if tuple(self.logits.shape) == shape else self.logits.expand(tuple(shape))
        index = Tensor._wrap(np.ascontiguousarray(np.broadcast_to(value._data, shape)[..., :1]))
        return log_pmf.gather(-1, index).squeeze(-1)

    def entropy(self):
        min_real = float(np.finfo(self.logits._data.dtype).min)
        logits = self.logits.clamp(min=min_real)
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        values = Tensor._wrap(np.arange(self._num_events, dtype=np.int64))
        values = values.view(-1, *((1,) * len(self._batch_shape)))
        return values.expand(-1, *self._batch_shape) if expand else values


class Normal(Distribution):
    arg_constraints = {"loc": "real", "scale": "positive"}
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast_all(loc, scale)
        if isinstance(loc, (int, float)) and isinstance(scale, (int, float)):
            batch_shape = Size()
        else:
            batch_shape = self.loc.size()
        if (self.scale._data <= 0).any():
            raise ValueError(
                f"Expected parameter scale ({type(self.scale).__name__} of shape {tuple(self.scale.shape)}) "
                f"of distribution {self!r} to satisfy the constraint GreaterThan(lower_bound=0.0), "
                f"but found invalid values:\n{self.scale}")
        super().__init__(batch_shape, validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return random_ops.normal(self.loc.expand(tuple(shape)), self.scale.expand(tuple(shape)))

    def rsample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        eps = random_ops.normal_(Tensor._wrap(np.zeros(tuple(shape), dtype=self.loc._data.dtype)))
        return self.loc + eps * self.scale

    def log_prob(self, value):
        value = _as_tensor(value, self.loc)
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()


class Bernoulli(Distribution):
    arg_constraints = {"probs": "unit_interval", "logits": "real"}

    def __init__(self, probs=None, logits=None, validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("Either `probs` or `logits` must be specified, but not both.")
        is_scalar = isinstance(probs if probs is not None else logits, (int, float))
        if probs is not None:
            (self.probs,) = _broadcast_all(probs)
            self._param = self.probs
        else:
            (self.logits,) = _broadcast_all(logits)
            self._param = self.logits
        super().__init__(Size() if is_scalar else self._param.size(), validate_args=validate_args)

    def __getattr__(self, name):  # lazy_property, as in Categorical
        if name not in ("logits", "probs"):
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        with enable_grad():
            if name == "logits":
                clamped = _clamp_probs(self.probs)
                value = clamped.log() - (-clamped).log1p()
            else:
                value = self.logits.sigmoid()
        self.__dict__[name] = value
        return value

    @property
    def mean(self):
        return self.probs

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=Size()):
        shape = self._extended_shape(sample_shape)
        with no_grad():
            return random_ops.bernoulli(self.probs.expand(tuple(shape)))

    def log_prob(self, value):
        logits, value = _broadcast_all(self.logits, value)
        return -functional.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return functional.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")
