"""`torch.optim.Optimizer`, the base of the optimizers in optim.py (and what
lr_scheduler.py checks for): parameter groups, `zero_grad`, `state_dict`, the step
bookkeeping for the event log (see optim.py's docstring)."""

from __future__ import annotations

from collections import defaultdict


from . import events
from .grad_mode import enable_grad
from .gradbook import note_optimizer_step
from .nn.module import reset_grad, typename
from .tensor import Tensor


class _RequiredParameter:
    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or "
                "dicts, but got " + typename(params)
            )
        self.state: defaultdict = defaultdict(dict)  # keyed by the parameter (identity hash)
        self.param_groups: list[dict] = []
        self._step_sequence = 0  # what note_optimizer_step returned at the previous step

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def add_param_group(self, param_group: dict) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {typename(param_group)}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the "
                "ordering of tensors in sets will change between runs. Please use a list instead."
            )
        else:
            param_group["params"] = list(params)
        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError(
                    "optimizer can only optimize Tensors, but one of the params is "
                    + typename(param)
                )
            if not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(
                    "parameter group didn't specify a value of required optimization "
                    f"parameter {name}"
                )
            param_group.setdefault(name, default)
        existing = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in existing for p in param_group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def _all_params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the grads of this optimizer's params: to None (2.x default) or to zeros."""
        for param in self._all_params():
            reset_grad(param, set_to_none)

    def _begin_step(self, closure):
        """Common start of step(): run the closure, then tell the core the grads are used."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        self._step_sequence = note_optimizer_step(self._all_params(), self._step_sequence)
        file, line = events.program_location()
        for param in self._all_params():
            if param._grad is not None:  # the step changes it in place
                counter = param._version_counter
                counter.step_site = (file, line, counter.value)
        return loss

    def step(self, closure=None):
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Params are replaced by their index, as in PyTorch."""
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
            packed["params"] = [index_of[id(param)] for param in group["params"]]
            groups.append(packed)
        state = {index_of[id(param)]: value for param, value in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        by_index = {}
        for group, saved in zip(self.param_groups, saved_groups):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    "loaded state dict contains a parameter group that doesn't match the size "
                    "of optimizer's group"
                )
            by_index.update(zip(saved["params"], group["params"]))
            group.update({key: value for key, value in saved.items() if key != "params"})
        self.state = defaultdict(dict)
        for index, value in state_dict["state"].items():
            self.state[by_index[index]] = {
                key: item.clone() if isinstance(item, Tensor) else item
                for key, item in value.items()
            }

    def __repr__(self):
        text = type(self).__name__ + " ("
        for index, group in enumerate(self.param_groups):
            text += f"\nParameter Group {index}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    text += f"    {key}: {group[key]}\n"
        return text + ")"
