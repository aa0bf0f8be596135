"""In-place random fills: `normal_`, `uniform_`, `bernoulli_`, `random_`, `exponential_`.
They draw from runtime/random.py.
"""

from __future__ import annotations


from ..core import Tensor, _as_array
from ..random import random_generator


def normal_(self, mean=0.0, std=1.0, generator=None):
    self._check_inplace()
    values = random_generator().normal(mean, std, self._data.shape)
    return self._commit(Tensor._wrap(values.astype(self._data.dtype)))

def uniform_(self, a=0.0, b=1.0, generator=None):
    self._check_inplace()
    values = random_generator().uniform(a, b, self._data.shape)
    return self._commit(Tensor._wrap(values.astype(self._data.dtype)))

def bernoulli_(self, p=0.5, generator=None):
    self._check_inplace()
    values = random_generator().random(self._data.shape) < _as_array(p)
    return self._commit(Tensor._wrap(values.astype(self._data.dtype)))

def random_(self, low=0, high=None, generator=None):
    self._check_inplace()
    if high is None:
        low, high = 0, low if low else 2 ** 24
    values = random_generator().integers(low, high, self._data.shape)
    return self._commit(Tensor._wrap(values.astype(self._data.dtype)))

def exponential_(self, lambd=1.0, generator=None):
    self._check_inplace()
    values = random_generator().exponential(1.0 / lambd, self._data.shape)
    return self._commit(Tensor._wrap(values.astype(self._data.dtype)))


# Tensor.NAME for every NAME below (bound by runtime/tensor.py)
METHODS = {
    "normal_": normal_,
    "uniform_": uniform_,
    "bernoulli_": bernoulli_,
    "random_": random_,
    "exponential_": exponential_,
}
