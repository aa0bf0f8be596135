"""`torch.optim`: `SGD`, `Adam`, `RMSprop`, `Adagrad`, `Adadelta` and `Adamax` on the
`Optimizer` base (runtime/optimizer.py), with PyTorch 2.13's updates
(`torch.optim.lr_scheduler` is runtime/lr_scheduler.py).

The update code follows torch/optim/sgd.py, adam.py, ... (their single-tensor
paths, which PyTorch runs on CPU) line by line, with the same in-place Tensor ops under
`no_grad`, so each parameter stays the same leaf object and follows PyTorch's trajectory.

Semantics that legacy code trips over, reproduced exactly:
- `zero_grad()` defaults to `set_to_none=True`: grads become None, not zeros;
- `step()` skips every parameter whose grad is None (so a None grad and a zero grad differ
  with momentum, weight decay and Adam: their state is not advanced).

Event bookkeeping (events.py): `step()` first calls the core's `note_optimizer_step`, which
records `step-after-reset` (a step on gradients reset after their backward) and marks the
gradients as consumed (so a later backward adding into them, with no reset, is recorded as
`grad-accumulated`). Resets go through the Tensor's `.grad` setter and `zero_()`, which
keep the reset bookkeeping.
"""

from __future__ import annotations

import numpy as np

from .grad_mode import no_grad
from .optimizer import Optimizer, required  # noqa: F401 - torch.optim.Optimizer
from .ops.pointwise import maximum
from .tensor import Tensor


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's momentum buffer (first buffer = grad)."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach=None, differentiable: bool = False, fused=None):
        if lr is not required and lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._begin_step(closure)
        with no_grad():
            for group in self.param_groups:
                momentum, lr = group["momentum"], group["lr"]
                for param in group["params"]:
                    if param.grad is None:
                        continue  # no grad this step: no update, momentum untouched
                    grad = _regularized_grad(param, group)
                    if momentum != 0:
                        state = self.state[param]
                        buffer = state.get("momentum_buffer")
                        if buffer is None:
                            buffer = state["momentum_buffer"] = grad.detach().clone()
                        else:
                            buffer.mul_(momentum).add_(grad, alpha=1 - group["dampening"])
                        grad = grad.add(buffer, alpha=momentum) if group["nesterov"] else buffer
                    param.add_(grad, alpha=-lr)
        return loss


class Adam(Optimizer):
    """Adam (Kingma & Ba), with PyTorch's bias corrections and eps outside the square root."""

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused=None, decoupled_weight_decay: bool = False):
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= betas[0] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
        if not 0.0 <= betas[1] < 1.0:
            raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not (isinstance(betas[0], float) and isinstance(betas[1], float)):
            raise ValueError("betas must be either both floats or both Tensors")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)

    def _state_for(self, param, amsgrad: bool) -> dict:
        state = self.state[param]
        if len(state) == 0:  # lazy initialisation, at the param's first step with a grad
            state["step"] = Tensor._wrap(np.zeros((), dtype=np.float32))
            state["exp_avg"] = Tensor._wrap(np.zeros_like(param._data))
            state["exp_avg_sq"] = Tensor._wrap(np.zeros_like(param._data))
            if amsgrad:
                state["max_exp_avg_sq"] = Tensor._wrap(np.zeros_like(param._data))
        return state

    def step(self, closure=None):
        loss = self._begin_step(closure)
        with no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
                for param in group["params"]:
                    if param.grad is None:
                        continue  # no grad this step: no update, moments and step untouched
                    grad = param.grad if not group["maximize"] else -param.grad
                    state = self._state_for(param, group["amsgrad"])
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    state["step"] += 1
                    if weight_decay != 0:
                        if group["decoupled_weight_decay"]:
                            param.mul_(1 - lr * weight_decay)
                        else:
                            grad = grad.add(param, alpha=weight_decay)
                    exp_avg.lerp_(grad, 1 - beta1)
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)

                    step = state["step"].item()
                    bias_correction1 = 1 - beta1**step
                    bias_correction2 = 1 - beta2**step
                    step_size = lr / bias_correction1
                    bias_correction2_sqrt = bias_correction2**0.5
                    if group["amsgrad"]:
                        max_exp_avg_sq = state["max_exp_avg_sq"]
                        max_exp_avg_sq.copy_(maximum(max_exp_avg_sq, exp_avg_sq))
                        denom = (max_exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                    else:
                        denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                    param.addcdiv_(exp_avg, denom, value=-step_size)
        return loss


class RMSprop(Optimizer):
    """RMSprop (the optimizer of the 2017 WGAN code), PyTorch's variant: eps outside the root."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False,
                 capturable: bool = False, foreach=None, maximize: bool = False,
                 differentiable: bool = False):
        for value, message in ((lr, "Invalid learning rate"), (eps, "Invalid epsilon value"),
                               (momentum, "Invalid momentum value"),
                               (weight_decay, "Invalid weight_decay value"),
                               (alpha, "Invalid alpha value")):
            if not 0.0 <= value:
                raise ValueError(f"{message}: {value}")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay, "capturable": capturable,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable}
        super().__init__(params, defaults)

    def _state_for(self, param, group) -> dict:
        state = self.state[param]
        if len(state) == 0:
            state["step"] = Tensor._wrap(np.zeros((), dtype=np.float32))
            state["square_avg"] = Tensor._wrap(np.zeros_like(param._data))
            if group["momentum"] > 0:
                state["momentum_buffer"] = Tensor._wrap(np.zeros_like(param._data))
            if group["centered"]:
                state["grad_avg"] = Tensor._wrap(np.zeros_like(param._data))
        return state

    def step(self, closure=None):
        loss = self._begin_step(closure)
        with no_grad():
            for group in self.param_groups:
                alpha, lr, eps = group["alpha"], group["lr"], group["eps"]
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    grad = _regularized_grad(param, group)
                    state = self._state_for(param, group)
                    state["step"] += 1
                    square_avg = state["square_avg"]
                    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
                    if group["centered"]:
                        grad_avg = state["grad_avg"]
                        grad_avg.lerp_(grad, 1 - alpha)
                        average = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
                    else:
                        average = square_avg.sqrt()
                    average = average.add_(eps)
                    if group["momentum"] > 0:
                        buffer = state["momentum_buffer"]
                        buffer.mul_(group["momentum"]).addcdiv_(grad, average)
                        param.add_(buffer, alpha=-lr)
                    else:
                        param.addcdiv_(grad, average, value=-lr)
        return loss


def _check_non_negative(**values) -> None:
    names = {"lr": "learning rate", "eps": "epsilon value"}
    for name, value in values.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {names.get(name, name + ' value')}: {value}")


def _regularized_grad(param, group) -> Tensor:
    """The gradient a step uses: negated for `maximize`, plus L2 `weight_decay` (not decoupled)."""
    grad = param.grad if not group["maximize"] else -param.grad
    if group["weight_decay"] != 0:
        grad = grad.add(param, alpha=group["weight_decay"])
    return grad


def _zeros_like(param) -> Tensor:
    return Tensor._wrap(np.zeros_like(param._data))


def _step_counter() -> Tensor:
    return Tensor._wrap(np.zeros((), dtype=np.float32))


class Adagrad(Optimizer):
    """Adagrad, PyTorch's: state made for every param at construction, lr decayed per step."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach=None, *,
                 maximize: bool = False, differentiable: bool = False, fused=None):
        _check_non_negative(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                            initial_accumulator_value=initial_accumulator_value, eps=eps)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value, "foreach": foreach,
                    "maximize": maximize, "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for param in group["params"]:
                state = self.state[param]
                state["step"] = _step_counter()
                state["sum"] = Tensor._wrap(np.full_like(param._data, initial_accumulator_value))

    def step(self, closure=None):
        loss = self._begin_step(closure)
        with no_grad():
            for group in self.param_groups:
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    state = self.state[param]
                    state["step"] += 1
                    step = state["step"].item()
                    grad = _regularized_grad(param, group)
                    clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
                    state["sum"].addcmul_(grad, grad, value=1)
                    std = state["sum"].sqrt().add_(group["eps"])
                    param.addcdiv_(grad, std, value=-clr)
        return loss


class Adadelta(Optimizer):
    """Adadelta (Zeiler), PyTorch's: lr scales the step, eps inside both square roots."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach=None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False):
        _check_non_negative(lr=lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        _check_non_negative(eps=eps, weight_decay=weight_decay)
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._begin_step(closure)
        with no_grad():
            for group in self.param_groups:
                rho, eps = group["rho"], group["eps"]
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    state = self.state[param]
                    if len(state) == 0:
                        state["step"] = _step_counter()
                        state["square_avg"] = _zeros_like(param)
                        state["acc_delta"] = _zeros_like(param)
                    state["step"] += 1
                    grad = _regularized_grad(param, group)
                    square_avg, acc_delta = state["square_avg"], state["acc_delta"]
                    square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
                    std = square_avg.add(eps).sqrt_()
                    delta = acc_delta.add(eps).sqrt_()
                    delta.div_(std).mul_(grad)
                    acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
                    param.add_(delta, alpha=-group["lr"])
        return loss


class Adamax(Optimizer):
    """Adamax (Adam with the infinity norm), PyTorch's: eps added to |grad| before the max."""

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach=None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False):
        _check_non_negative(lr=lr, eps=eps)
        for index in (0, 1):
            if not 0.0 <= betas[index] < 1.0:
                raise ValueError(f"Invalid beta parameter at index {index}: {betas[index]}")
        _check_non_negative(weight_decay=weight_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def step(self, closure=None):
        loss = self._begin_step(closure)
        with no_grad():
            for group in self.param_groups:
                beta1, beta2 = group["betas"]
                for param in group["params"]:
                    if param.grad is None:
                        continue
                    state = self.state[param]
                    if len(state) == 0:
                        state["step"] = _step_counter()
                        state["exp_avg"] = _zeros_like(param)
                        state["exp_inf"] = _zeros_like(param)
                    state["step"] += 1
                    grad = _regularized_grad(param, group)
                    exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
                    exp_avg.lerp_(grad, 1 - beta1)
                    exp_inf.copy_(maximum(exp_inf.mul_(beta2), grad.abs().add_(group["eps"])))
                    clr = group["lr"] / (1 - beta1 ** state["step"].item())
                    param.addcdiv_(exp_avg, exp_inf, value=-clr)
        return loss


def __getattr__(name):
    if name == "lr_scheduler":  # torch.optim.lr_scheduler, imported on first use (it imports us)
        import importlib

        module = importlib.import_module("runtime.lr_scheduler")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'torch.optim' has no attribute '{name}'")


__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Adamax"]
