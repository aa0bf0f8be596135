"""torch.optim Adagrad/Adadelta/Adamax and torch.optim.lr_scheduler, held to PyTorch 2.13.

Each case runs the same small program on the runtime's `torch` and on real PyTorch (in-process;
skips without it): parameter trajectories of the optimizers over steps with changing
gradients, the lr sequence of each scheduler (including `step(epoch)` and ReduceLROnPlateau's
patience and cooldown), and the warning of a scheduler stepped before its optimizer.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np
import pytest


@pytest.fixture(scope="module")
def real_torch():
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def ours():
    return importlib.import_module("runtime.torch_facade")


def _trajectory(T, make_optimizer, steps=6):
    w = T.tensor([[0.5, -1.5, 2.0], [0.25, 3.0, -0.75]], requires_grad=True)
    b = T.tensor([0.1, -0.2], requires_grad=True)
    optimizer = make_optimizer(T, [w, b])
    x = T.tensor([[1.0, 2.0, -1.0], [0.5, -0.5, 1.5], [2.0, 0.0, 1.0]])
    seen = []
    for step in range(steps):
        optimizer.zero_grad()
        loss = ((x @ w.t() + b) ** 2).mean() * (1 + step % 3) + w.abs().sum() * 0.1
        loss.backward()
        optimizer.step()
        seen.append(np.concatenate([w.detach().numpy().ravel(), b.detach().numpy().ravel()]))
    return np.array(seen)


OPTIMIZERS = {
    "Adagrad": lambda T, p: T.optim.Adagrad(p, lr=0.1),
    "Adagrad-decay": lambda T, p: T.optim.Adagrad(p, lr=0.05, lr_decay=0.1, weight_decay=0.01,
                                                   initial_accumulator_value=0.5),
    "Adadelta": lambda T, p: T.optim.Adadelta(p),
    "Adadelta-options": lambda T, p: T.optim.Adadelta(p, lr=0.5, rho=0.8, eps=1e-5, weight_decay=0.1),
    "Adamax": lambda T, p: T.optim.Adamax(p),
    "Adamax-options": lambda T, p: T.optim.Adamax(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.05),
    "Adamax-maximize": lambda T, p: T.optim.Adamax(p, lr=0.01, maximize=True),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_trajectory_matches_torch(real_torch, ours, name):
    expected = _trajectory(real_torch, OPTIMIZERS[name])
    actual = _trajectory(ours, OPTIMIZERS[name])
    np.testing.assert_allclose(actual, expected, rtol=2e-6, atol=1e-7)


def _lrs(T, make_scheduler, epochs=12, metrics=None):
    p = T.zeros(2, requires_grad=True)
    optimizer = T.optim.SGD([{"params": [p]}, {"params": [T.zeros(1, requires_grad=True)], "lr": 0.5}],
                            lr=0.1, momentum=0.9)
    scheduler = make_scheduler(T.optim.lr_scheduler, optimizer)
    seen = []
    for epoch in range(epochs):
        p.sum().backward()
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[epoch])
        seen.append([group["lr"] for group in optimizer.param_groups] + list(scheduler.get_last_lr()))
    return seen


SCHEDULERS = {
    "StepLR": lambda S, o: S.StepLR(o, step_size=3, gamma=0.5),
    "MultiStepLR": lambda S, o: S.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3),
    "ExponentialLR": lambda S, o: S.ExponentialLR(o, gamma=0.9),
    "LambdaLR": lambda S, o: S.LambdaLR(o, lr_lambda=lambda epoch: 0.95 ** epoch / (1 + epoch)),
    "LambdaLR-list": lambda S, o: S.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.5 ** e]),
}


@pytest.mark.parametrize("name", sorted(SCHEDULERS))
def test_scheduler_lrs_match_torch(real_torch, ours, name):
    assert _lrs(ours, SCHEDULERS[name]) == _lrs(real_torch, SCHEDULERS[name])


PLATEAU_METRICS = [5.0, 4.0, 4.0, 4.1, 3.99, 4.0, 4.0, 4.0, 4.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
PLATEAUS = {
    "min": lambda S, o: S.ReduceLROnPlateau(o, patience=1),
    "min-abs-cooldown": lambda S, o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=0.05,
                                                         threshold_mode="abs", cooldown=2, min_lr=0.02),
    "max": lambda S, o: S.ReduceLROnPlateau(o, mode="max", patience=0, min_lr=[0.001, 0.3]),
}


@pytest.mark.parametrize("name", sorted(PLATEAUS))
def test_plateau_lrs_match_torch(real_torch, ours, name):
    run = lambda T: _lrs(T, PLATEAUS[name], epochs=len(PLATEAU_METRICS), metrics=PLATEAU_METRICS)  # noqa: E731
    assert run(ours) == run(real_torch)


def test_step_with_epoch_uses_closed_form(real_torch, ours):
    def run(T):
        p = T.zeros(1, requires_grad=True)
        optimizer = T.optim.SGD([p], lr=1.0)
        scheduler = T.optim.lr_scheduler.MultiStepLR(optimizer, [2, 4])
        optimizer.step()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for epoch in (5, 1, 3):
                scheduler.step(epoch)
        return [optimizer.param_groups[0]["lr"], [str(w.message) for w in caught]]

    assert run(ours) == run(real_torch)


def _warnings_of(T, optimizer_first):
    p = T.zeros(1, requires_grad=True)
    optimizer = T.optim.Adagrad([p], lr=0.1)
    scheduler = T.optim.lr_scheduler.StepLR(optimizer, step_size=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(2):
            if optimizer_first:
                optimizer.step()
            scheduler.step()
            if not optimizer_first:
                optimizer.step()
        scheduler.get_lr()
    return [(w.category.__name__, str(w.message)) for w in caught]


@pytest.mark.parametrize("optimizer_first", [False, True])
def test_scheduler_warnings_match_torch(real_torch, ours, optimizer_first):
    ours_warnings = _warnings_of(ours, optimizer_first)
    assert ours_warnings == _warnings_of(real_torch, optimizer_first)
    assert any("before `optimizer.step()`" in text for _, text in ours_warnings) is not optimizer_first
