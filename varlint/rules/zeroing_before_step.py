"""Gradients are reset between the last `.backward()` and `step()`, so the step sees none.

## What it does
Finds a reset (`opt.zero_grad()`, `model.zero_grad()` of the module the optimizer was built
from, `w.grad = None` for a parameter of the optimizer) in a training loop that runs after the
last `.backward()` of the iteration and before the optimizer's `step()`, with no `.backward()`
in between: in the same branch as the step (or an enclosing one), with no `break`,
`continue`, `return` or `raise` and no call that may run a backward between them. It is
reported at the reset.

## Why is this bad
The step runs on gradients that were just cleared. With the default `zero_grad()`
(`set_to_none=True`) they are `None` and the optimizer skips every parameter: the parameters
never move and the loss stays where it started, without any error. (With
`set_to_none=False` they are zeros, and only momentum or weight decay still moves them.)

## Example
```python
for x, y in data:
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
```
Use instead:
```python
for x, y in data:
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
```

## Fix safety
Display-only: move the reset before the `.backward()` call (or after the `step()`). Where it
belongs depends on the rest of the loop, so varlint does not move it.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.foreign_helpers import site_label
from varlint.analysis.loops import Loop, Site, SiteKind
from varlint.diagnostic import Applicability
from varlint.rule import TrainingLoopRule, short_code


class ZeroingBeforeStep(TrainingLoopRule):
    code = "VL202"
    name = "zeroing-before-step"

    def check_loop(self, loop: Loop) -> None:
        reported: set[int] = set()
        for step in loop.of(SiteKind.STEP):
            if not loop.directly(step):
                continue
            found = self.reset_before(loop, step)
            if found is None or found[0].order in reported:
                continue
            reset, backward = found
            reported.add(reset.order)
            origin = reset.origin or self.context
            reset_code = f"`{origin.code(reset.node)}`"
            if reset.via is not None:  # the reset runs in a helper the loop calls
                reset_code = f"`{short_code(self.context.code(reset.via))}` runs {reset_code} ({self.line(reset)}), which"
            self.report(
                reset.where,
                f"{reset_code} clears the gradients after the last "
                f"`.backward()` ({self.line(backward)}) and before `{step.key}.step()` "
                f"({self.line(step)}): the step sees no gradients and the parameters do not move",
                fix=self.make_fix(
                    Applicability.DISPLAY_ONLY, "Move the reset before the `.backward()` call", []
                ),
            )

    def reset_before(self, loop: Loop, step: Site) -> tuple[Site, Site] | None:
        """(reset, backward) when `step` is preceded in its iteration by a reset of its
        gradients, itself preceded by a backward, with no backward in between."""
        facts = self.context.loops
        earlier = [site for site in loop.sites if site.order < step.order]
        step_frames = step.frames_inside(loop)
        for index in range(len(earlier) - 1, -1, -1):
            site = earlier[index]
            if self.may_backward_or_jump(site):
                return None
            if site.kind is SiteKind.RESET and self.clears(site, step):
                reset_frames = site.frames_inside(loop)
                # The reset runs whenever the step does: same branch, or an enclosing one.
                if reset_frames != step_frames[: len(reset_frames)] or not loop.directly(site):
                    return None
                backward = next(
                    (s for s in reversed(earlier[:index]) if s.kind is SiteKind.BACKWARD),
                    None,
                )
                if backward is None or facts.training_backwards(loop).count(backward) == 0:
                    return None
                return site, backward
        return None

    def may_backward_or_jump(self, site: Site) -> bool:
        facts = self.context.loops
        if site.kind in (SiteKind.BACKWARD, SiteKind.JUMP):
            return True
        if site.kind is SiteKind.CALL:
            call: cst.Call = site.node  # type: ignore[assignment]
            return facts.helper_backward(call) or facts.unknown_call(call, site.scope)
        return False

    @staticmethod
    def clears(reset: Site, step: Site) -> bool:
        """Whether `reset` certainly clears (some of) the gradients `step` uses: the same
        optimizer, or a module holding its parameters."""
        if reset.key is not None:
            return reset.key == step.key
        if reset.roots is None or step.roots is None:
            return False
        return any(root == owner or root.startswith(owner + ".") for root in step.roots for owner in reset.roots)

    def line(self, site: Site) -> str:
        return site_label(self.context, site)
