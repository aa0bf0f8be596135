"""The removed `volatile` flag: a `volatile=` argument of `Variable(...)`, or `x.volatile`.

## What it does
Flags the `volatile` argument of `torch.autograd.Variable(...)` (keyword or third positional
argument), reading `x.volatile` and assigning `x.volatile = ...` on a tensor.

## Why is this bad
`volatile` was removed in PyTorch 0.4 and has no effect at all: passing or setting it only
warns ("UserWarning: volatile was removed and now has no effect. Use `with torch.no_grad():`
instead."), reading it always gives `False`. The autograd graph **is** built, so an evaluation
loop written with `volatile=True` keeps every activation alive for a backward that never comes.
Together with `requires_grad=True` it raises
`ValueError: Variable can't be volatile and require_grad at the same time!`.

## Example
```python
for images, labels in loader:
    output = model(Variable(images, volatile=True))
```

Use instead:
```python
with torch.no_grad():
    for images, labels in loader:
        output = model(images)
```

## Fix safety
- Dropping the `volatile` argument is safe: it has no effect. It is unsafe when the call may
  raise today (a non-literal `volatile` together with `requires_grad`, a `volatile=None`), and
  there is no fix when the call surely raises (`volatile=True, requires_grad=True`). When VL001
  rewrites the whole `Variable(...)` call, its fix drops `volatile` too.
- `with torch.no_grad():` around the consumer restores what `volatile` meant, but changes
  `requires_grad` and `grad_fn` of the results: it is only suggested, never applied.
- Reading `x.volatile` becomes `False`: unsafe, as it also removes the warning and code that
  tested for inference probably meant `not torch.is_grad_enabled()`.
- Deleting a statement `x.volatile = ...` is unsafe for the same reason.
"""

from __future__ import annotations

import libcst as cst

from varlint.analysis.names import VARIABLE
from varlint.diagnostic import Applicability, Edit, Position
from varlint.fixes import split_lines
from varlint.rule import Rule, to_position
from varlint.rules.variable_wrapper import (
    M4_MESSAGE,
    read_variable_call,
    volatile_drop_applicability,
)

NO_GRAD_HINT = "to skip building the graph, run the consumer under `with torch.no_grad():`"


LITERAL_TYPES = {
    cst.Float: "float",
    cst.SimpleString: "str",
    cst.ConcatenatedString: "str",
    cst.FormattedString: "str",
    cst.List: "list",
    cst.Tuple: "tuple",
    cst.Dict: "dict",
}


def literal_type_name(expression: cst.BaseExpression) -> str | None:
    """The type of a literal `volatile=` value that is not an integer (None: an integer or
    not a literal)."""
    if isinstance(expression, cst.Name) and expression.value == "None":
        return "NoneType"
    return next((name for kind, name in LITERAL_TYPES.items() if isinstance(expression, kind)), None)


class VolatileFlag(Rule):
    code = "VL003"
    name = "volatile-flag"

    def visit_Call(self, node: cst.Call) -> None:
        if not self.context.names.is_(node.func, VARIABLE):
            return
        variable = read_variable_call(node)
        argument = variable.arguments.get("volatile")
        if argument is None:
            return
        applicability = volatile_drop_applicability(variable)
        if applicability is None:
            self.report(
                argument,
                f"`volatile` was removed; together with `requires_grad=True` this call raises "
                f"`{M4_MESSAGE}`",
            )
            return
        edit = self._argument_removal(node, argument)
        type_name = literal_type_name(argument.value)
        if type_name is not None:
            self.report(
                argument,
                f"`volatile` was removed, and a `{type_name}` value makes this call raise "
                f"`TypeError: '{type_name}' object cannot be interpreted as an integer`; dropping "
                f"it turns the crash into a run",
                fix=edit and self.make_fix(Applicability.UNSAFE, "Remove the `volatile` argument", [edit]),
            )
            return
        self.report(
            argument,
            f"`volatile` was removed and has no effect (it only warns): the graph is still "
            f"built; {NO_GRAD_HINT}",
            fix=edit and self.make_fix(applicability, "Remove the `volatile` argument", [edit]),
        )

    def visit_Attribute(self, node: cst.Attribute) -> None:
        # Only on tensors: `args.volatile` may well be an option of the program.
        if node.attr.value != "volatile" or not self.context.gradflow.facts(node.value).is_tensor:
            return
        parent = self.context.parents.get(node)
        if isinstance(parent, cst.AssignTarget):
            assign = self.context.parents.get(parent)
            self.report(
                node,
                f"setting `volatile` has no effect since PyTorch 0.4 (it only warns): the "
                f"graph is still built; {NO_GRAD_HINT}",
                fix=self._statement_removal(assign) if len(assign.targets) == 1 else None,
            )
        elif not self._is_target(node):
            self.report(
                node,
                "`volatile` was removed: reading it always gives `False` (and warns); "
                "`not torch.is_grad_enabled()` tells whether gradients are being recorded",
                fix=self.make_fix(
                    Applicability.UNSAFE, "Replace with `False`", [self.context.edit(node, "False")]
                ),
            )

    # Where `x.volatile` is

    def _is_target(self, node: cst.Attribute) -> bool:
        parent = self.context.parents.get(node)
        return isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign, cst.Del)) and parent.target is node

    # Edits

    def _argument_removal(self, call: cst.Call, argument: cst.Arg) -> Edit | None:
        """Remove `argument` from `call` with the comma that separates it from its neighbour
        (None for a positional `volatile` that later positional arguments depend on)."""
        arguments = list(call.args)
        index = arguments.index(argument)
        if argument.keyword is None and any(later.keyword is None for later in arguments[index + 1 :]):
            return None
        if index > 0:
            start = self.context.range(arguments[index - 1]).end
            end = self.context.range(argument).end
        elif len(arguments) > 1:
            start = self.context.range(argument).start
            end = self.context.range(arguments[1]).start
        else:
            # The only argument: remove everything up to the closing parenthesis (the call
            # ends just after it; libcst columns are 0-based, varlint's 1-based).
            start = self.context.range(argument).start
            call_end = self.context.range(call).end
            return Edit(to_position(start), Position(call_end.line, call_end.column), "")
        return Edit(to_position(start), to_position(end), "")

    def _statement_removal(self, assign: cst.Assign):
        """Delete the line of `x.volatile = ...`; `pass` when the block would be empty."""
        line = self.context.parents.get(assign)
        block = self.context.parents.get(line)
        if not isinstance(line, cst.SimpleStatementLine) or len(line.body) != 1:
            return None  # `a; x.volatile = True`: not worth a fix
        statement_range = self.context.range(assign)
        last_row = statement_range.end.line
        alone_in_block = isinstance(block, cst.IndentedBlock) and len(block.body) == 1
        # The line after it must exist to delete up to its start (no final newline otherwise).
        if alone_in_block or last_row >= len(split_lines(self.context.text)):
            edit = self.context.edit(assign, "pass")
        else:
            edit = Edit(Position(statement_range.start.line, 1), Position(last_row + 1, 1), "")
        return self.make_fix(Applicability.UNSAFE, "Remove the assignment", [edit])
