"""A `# noqa: VLxxx` directive that silences nothing.

## What it does
Reports a line's `# noqa` directive that lists varlint codes none of which had a diagnostic to
silence on that line (or, for a statement continued over several lines, on the statement the
directive closes). Only codes selected for the file count: a `# noqa: VL104` in a file where
VL104 is off is left alone, as are other tools' codes (`E501`) and a blanket `# noqa`.

## Why is this bad
Stale directives pile up as code is fixed. They hide nothing today, but they will silently hide
a real problem that appears on that line later.

## Example
```python
x = torch.ones(2)  # noqa: VL001
```

Use instead:
```python
x = torch.ones(2)
```

## Fix safety
The fix is safe: it removes the unused codes, or the whole comment when nothing else is in it.
It changes comments only. `# noqa: VL001, VL902` on a line keeps its directive.
"""

from varlint.rule import Rule


class UnusedNoqa(Rule):
    # Reported by varlint/noqa.py after the other rules ran, not by visiting the tree.
    code = "VL902"
    name = "unused-noqa"
