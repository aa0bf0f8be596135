"""torch.distributions Categorical, Normal, Bernoulli, held to PyTorch 2.13 (skips without it).

Seeded samples are compared value for value (they go through the bit-exact generator), and
log_prob, entropy, the derived parameters and the gradients of a REINFORCE-style loss within
float32 rounding.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest


@pytest.fixture(scope="module")
def real_torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def ours():
    return importlib.import_module("runtime.torch_facade")


def _numpy(values):
    return [v.detach().numpy().copy() if hasattr(v, "detach") else np.asarray(v) for v in values]


def _categorical(T):
    D = T.distributions
    logits = T.tensor([[0.5, -1.0, 2.0, 0.0], [1.5, 1.5, -3.0, 0.25]], requires_grad=True)
    by_logits = D.Categorical(logits=logits)
    by_probs = D.Categorical(probs=T.tensor([0.1, 0.2, 0.3, 0.4]) * 3)
    actions = by_logits.sample()
    loss = -(by_logits.log_prob(actions) * T.tensor([1.0, -2.0])).sum() - 0.01 * by_logits.entropy().sum()
    loss.backward()
    return [actions, by_logits.sample((3,)), by_probs.sample((5,)), by_probs.sample(),
            by_logits.log_prob(T.tensor([3, 0])), by_logits.entropy(), by_logits.probs, by_logits.logits,
            by_probs.logits, by_probs.entropy(), by_probs.log_prob(T.tensor([[0], [2]])), logits.grad,
            T.tensor(list(by_logits.batch_shape)), by_logits.mode]


def _normal(T):
    D = T.distributions
    loc = T.tensor([0.0, 1.0, -2.0], requires_grad=True)
    scale = T.tensor([1.0, 0.5, 2.0], requires_grad=True)
    normal = D.Normal(loc, scale)
    action = normal.sample()
    (-normal.log_prob(action).sum() + normal.entropy().sum()).backward()
    scalar = D.Normal(0.5, 2.0)
    return [action, normal.sample((2,)), normal.rsample(), scalar.sample(), scalar.sample((4,)),
            normal.log_prob(T.tensor([0.5, 0.5, 0.5])), normal.entropy(), scalar.log_prob(T.tensor(1.0)),
            scalar.entropy(), loc.grad, scale.grad, normal.mean, normal.stddev, normal.variance]


def _bernoulli(T):
    D = T.distributions
    probs = T.tensor([0.1, 0.5, 0.9, 0.3], requires_grad=True)
    bern = D.Bernoulli(probs)
    draws = bern.sample()
    (-(bern.log_prob(draws)).sum()).backward()
    by_logits = D.Bernoulli(logits=T.tensor([-2.0, 0.0, 3.0]))
    return [draws, bern.sample((3,)), bern.log_prob(T.tensor([1.0, 0.0, 1.0, 1.0])), bern.entropy(),
            bern.logits, probs.grad, by_logits.probs, by_logits.sample((2,)), by_logits.entropy(),
            by_logits.log_prob(T.tensor([0.0, 1.0, 1.0])), D.Bernoulli(0.3).sample((6,))]


@pytest.mark.parametrize("case", [_categorical, _normal, _bernoulli], ids=["Categorical", "Normal", "Bernoulli"])
@pytest.mark.parametrize("seed", [0, 7, 123])
def test_distribution_matches_torch(real_torch, ours, case, seed):
    real_torch.manual_seed(seed)
    expected = _numpy(case(real_torch))
    ours.manual_seed(seed)
    actual = _numpy(case(ours))
    for index, (got, want) in enumerate(zip(actual, expected)):
        assert got.shape == want.shape and got.dtype == want.dtype, (index, got.shape, want.shape, got.dtype, want.dtype)
        if want.dtype.kind in "iub":  # samples: exactly
            assert np.array_equal(got, want), (index, got, want)
        else:
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6, err_msg=f"value {index}")
