"""A training loop consumes gradients that are never reset, so they accumulate across iterations.

## What it does
Finds a `for` / `while` loop that calls `.backward()` and consumes the gradients (an optimizer
`step()`, or a manual update such as `w.data -= lr * w.grad.data` or
`with torch.no_grad(): w -= lr * w.grad`) but never resets them inside the loop: no
`opt.zero_grad()`, `model.zero_grad()`, `x.grad.zero_()`, `x.grad.data.zero_()`,
`x.grad = None`, `x.grad.fill_(0)`, no loop over the parameters doing one of these, and no call
of a function of the same module that does. A helper of another module of the tree
(`from training import train_step`) is followed too when what it steps and resets are the
objects it receives (`def train_step(model, optimizer, x, y)`), with no loop, no unknown call
and no early `return` in it (analysis/foreign_helpers.py). A reset in the other branch of an
`if` on the same condition as the step (`if args.use_optimizer: ... else: model.zero_grad()`),
when nothing in the loop may change that condition, does not count: it never runs with the step.

It also reports a step that applies again gradients another optimizer's step already applied
(InfoGAN's `optimizer_info` over both networks, with `optimizer_D.zero_grad()` missing): the last
reset of one of its modules comes before a backward whose loss is surely computed from a call
of that module, and the other step runs after that backward (analysis/stale_steps.py; only when
every gradient site of the loop runs once per iteration).

It stays silent for gradient accumulation (a reset under the same `if` as the step, e.g.
`if (i + 1) % k == 0`), a reset at the end of the body or in a helper, several `.backward()`
calls feeding one step (GANs, WGAN-GP critics), a fresh leaf created in every iteration (also
a module rebuilt in every iteration, its optimizer built from `params.values()` of
`params = {n: p for n, p in module.named_parameters()}`), and
`torch.autograd.grad(...)`, which does not accumulate. A reset only *outside* the loop (before
it, or once per epoch while an inner loop steps every batch) does not help, and is reported.

An optimizer is recognised by its construction (`torch.optim.SGD(model.parameters())`, also
through aliases such as `self.optimizer = optimizer`) or, when it is built elsewhere (a
function parameter, another library), by its name (`optimizer`, `opt`, `optimizerD`,
`g_optim`...); a scheduler's `step()` and `step(closure)` are not gradient consumptions. A call
of code from another module that receives the optimizer or the model might reset them, so the
rule stays silent then; a call of a module (`netD(x)`, or `self.D(x)` of a trainer class that
assigns `self.D`) is a forward pass, not such a call.

It is reported at the `.backward()` call; when several optimizers are stepped in the loop, at
the `step()` of each optimizer that is never reset (nor the module it was built from).

## Why is this bad
`backward()` adds into `.grad`; it never overwrites it. Without a reset, each step uses the sum
of the gradients of every earlier iteration (a second backward doubles `0.25` to `0.5`), so the
model takes ever larger steps in stale directions and trains wrong, silently.

## Example
```python
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in data:
    loss = loss_fn(model(x), y)
    loss.backward()
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
Unsafe: when exactly one optimizer is stepped in the loop, the fix inserts `opt.zero_grad()`
as the first statement of the loop body; for manual updates, it inserts `w.grad = None` after
the update of `w` (when `w.grad` is not read again later in the iteration). This changes what
the program computes (that is the point), so it is never applied by plain `--fix`.
"""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from varlint.analysis.foreign_helpers import site_label
from varlint.analysis.stale_steps import stale_use
from varlint.analysis.tree import walk
from varlint.analysis.loops import Loop, Site, SiteKind, conditional, related
from varlint.analysis.names import path_of
from varlint.diagnostic import Applicability, Edit, Fix, Position
from varlint.fixes import split_lines
from varlint.rule import TrainingLoopRule, to_position


class MissingGradZeroing(TrainingLoopRule):
    code = "VL201"
    name = "missing-grad-zeroing"

    def check_loop(self, loop: Loop) -> None:
        facts = self.context.loops
        consumers = [site for site in facts.consumers(loop) if not facts.fresh_each_iteration(loop, site)]
        unreset = [site for site in consumers if not facts.resets(loop, site)]
        if not unreset:
            if not self.check_partial_resets(loop, consumers):
                self.check_stale_uses(loop, consumers)
            return
        optimizers = list(dict.fromkeys(site.key for site in consumers if site.kind is SiteKind.STEP))
        unreset_steps = [site for site in unreset if site.kind is SiteKind.STEP]
        unreset_updates = [site for site in unreset if site.kind is SiteKind.UPDATE]
        if len(optimizers) > 1:
            for key in dict.fromkeys(site.key for site in unreset_steps):
                step = next(site for site in unreset_steps if site.key == key)
                self.report(
                    step.where,
                    f"the gradients `{key}.step()` uses are never reset in this loop, so each step "
                    f"uses the sum of the gradients of every earlier iteration; call "
                    f"`{key}.zero_grad()` in each iteration",
                )
            if unreset_updates:
                self.report_at_backward(loop, unreset_updates, None)
            return
        self.report_at_backward(loop, unreset_updates, unreset_steps[0] if unreset_steps else None)

    def check_partial_resets(self, loop: Loop, consumers: list[Site]) -> bool:
        """Every step is reset, but some of the objects it steps never are."""
        facts = self.context.loops
        reported = False
        for step in dict((site.key, site) for site in consumers if site.kind is SiteKind.STEP).values():
            missing = facts.unreset_roots(loop, step, facts.resets(loop, step))
            if missing:
                reported = True
                names = ", ".join(f"`{root}`" for root in missing)
                self.report(
                    step.where,
                    f"the gradients of {names}, which `{step.key}.step()` ({self.line(step)}) "
                    f"updates, are never reset in this loop, so each step uses the sum of their "
                    f"gradients of every earlier iteration; call `{step.key}.zero_grad()` in each "
                    f"iteration",
                )
        return reported

    def check_stale_uses(self, loop: Loop, consumers: list[Site]) -> None:
        """A step that applies again the gradients another optimizer's step applied (see
        analysis/stale_steps.py)."""
        for step in dict((site.key, site) for site in consumers if site.kind is SiteKind.STEP).values():
            stale = stale_use(self.context.loops, loop, step)
            if stale is None:
                continue
            backward = self.context.module.code_for_node(stale.backward.node)
            self.report(
                step.where,
                f"`{step.key}.step()` applies again the gradients of `{stale.module}` that "
                f"`{stale.first_step.key}.step()` ({self.line(stale.first_step)}) already applied: "
                f"`{backward}` ({self.line(stale.backward)}) wrote them after their last reset "
                f"({self.line(stale.reset)}) and nothing resets them before this step; call "
                f"`{step.key}.zero_grad()` before its backward in each iteration",
            )

    def report_at_backward(self, loop: Loop, updates: list[Site], step: Site | None) -> None:
        backward = self.first_backward(loop)
        consumed = [f"`{step.key}.step()` ({self.line(step)})"] if step else []
        first_update: dict[str, Site] = {}
        for site in updates:
            first_update.setdefault(site.targets[0], site)
        consumed += [f"the update of `{path}` ({self.line(site)})" for path, site in first_update.items()]
        message = (
            f"gradients are never reset in this loop: {' and '.join(consumed)} "
            f"{'uses' if len(consumed) == 1 else 'use'} the sum of the gradients of every earlier "
            f"iteration, since `.backward()` adds into `.grad`"
        )
        if step is not None and not updates:
            fix = self.zero_grad_fix(loop, step)
        elif updates and step is None:
            fix = self.grad_none_fix(loop, updates)
        else:
            fix = self.make_fix(Applicability.DISPLAY_ONLY, "Reset the gradients in each iteration", [])
        self.report(backward.where, message, fix=fix)

    def first_backward(self, loop: Loop) -> Site:
        """The backward a reader looks at first: unconditional in the loop body if there is one."""
        backwards = self.context.loops.training_backwards(loop)
        plain = [site for site in backwards if not conditional(site.frames_inside(loop))]
        return (plain or backwards)[0]

    def line(self, site: Site) -> str:
        return site_label(self.context, site)

    # --- fixes ---------------------------------------------------------------------------

    def zero_grad_fix(self, loop: Loop, step: Site) -> Fix:
        message = f"Insert `{step.key}.zero_grad()` at the start of the loop body"
        facts = self.context.loops
        if step.via is not None or facts.rebound(loop, step.key.split(".", 1)[0]) or facts.branches(loop, step):  # type: ignore[union-attr]
            # Stepped in a helper (its names may not be the loop's), (re)built inside the
            # loop, or stepped only under `if args.use_optimizer:`: the optimizer may not
            # exist at the top of the body.
            return self.make_fix(Applicability.DISPLAY_ONLY, message, [])
        edit = self.insert_first(loop.node.body, f"{step.key}.zero_grad()")
        return self.make_fix(Applicability.UNSAFE, message, [edit])

    def grad_none_fix(self, loop: Loop, updates: list[Site]) -> Fix:
        last_update: dict[str, Site] = {}
        for site in updates:
            last_update[site.targets[0]] = site
        names = ", ".join(f"`{path}.grad = None`" for path in last_update)
        message = f"Insert {names} after {'its update' if len(last_update) == 1 else 'their updates'}"
        edits = []
        if any(site.via is not None for site in updates):  # updated in a helper
            return self.make_fix(Applicability.DISPLAY_ONLY, message, [])
        for path, site in last_update.items():
            edit = self.insert_after(site.node, f"{path}.grad = None")
            if edit is None or self.grad_read_after(loop, site, path):
                return self.make_fix(Applicability.DISPLAY_ONLY, message, [])
            edits.append(edit)
        return self.make_fix(Applicability.UNSAFE, message, edits)

    @cached_property
    def lines(self) -> list[str]:
        # As the fixes count them: a file ending in a newline has an empty last line.
        return split_lines(self.context.text)

    def insert_first(self, body: cst.BaseSuite, statement: str) -> Edit:
        """An edit putting `statement` before the first statement of a loop body."""
        start = self.context.range(body.body[0]).start
        if isinstance(body, cst.IndentedBlock):
            indent = self.lines[start.line - 1][: start.column]
            content = f"{statement}{self.context.module.default_newline}{indent}"
        else:  # `for x in xs: a(); b()`
            content = f"{statement}; "
        position = to_position(start)
        return Edit(position, position, content)

    def insert_after(self, node: cst.CSTNode, statement: str) -> Edit | None:
        """An edit putting `statement` on a line of its own after the line holding `node`."""
        line = self.statement_line(node)
        if line is None:
            return None
        code_range = self.context.range(line)
        if code_range.end.line >= len(self.lines):  # the file's last line, without a newline
            return None
        indent = self.lines[code_range.start.line - 1][: code_range.start.column]
        position = Position(code_range.end.line + 1, 1)
        return Edit(position, position, f"{indent}{statement}{self.context.module.default_newline}")

    def statement_line(self, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
        parents = self.context.parents
        while node in parents and not isinstance(node, cst.SimpleStatementLine):
            if isinstance(node, cst.BaseCompoundStatement):
                return None
            node = parents[node]
        return node if isinstance(node, cst.SimpleStatementLine) else None

    def grad_read_after(self, loop: Loop, update: Site, path: str) -> bool:
        """Whether the iteration reads `path.grad` (or a related tensor's) after `update`."""
        end = self.context.range(update.node).end
        reads = []

        class GradReads(cst.CSTVisitor):
            def visit_Attribute(self, attribute: cst.Attribute) -> None:
                owner = path_of(attribute.value)
                if attribute.attr.value == "grad" and (owner is None or related(owner, path)):
                    reads.append(attribute)

        walk(loop.node.body, GradReads())
        return any(
            (self.context.range(read).start.line, self.context.range(read).start.column) > (end.line, end.column)
            for read in reads
        )
