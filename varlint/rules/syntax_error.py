"""The file could not be parsed as Python 3 source.

## What it does
Reports a file that libcst cannot parse, with the position of the error. When the file looks
like Python 2 source (`print x`, `except E, e:`, backticks, `<>`, `exec "code"`), the message
says so. Code CPython's compiler refuses (a repeated keyword argument) is reported too. Valid
Python that varlint's parser cannot take (a boolean chain of thousands of operands, which
would crash libcst) is reported as such: "valid Python, but too large or too deeply nested".

## Why is this bad
No other rule can look at the file, and Python 3 cannot run it either. Legacy PyTorch code
from the 0.1-0.3 era was often written for Python 2.

## Example
```python
print "loss:", loss.data[0]
```

## Fix safety
No fix: port the file to Python 3 first (for example with `2to3`), then run varlint again.
"""

from varlint.rule import Rule


class SyntaxErrorRule(Rule):
    code = "VL900"
    name = "syntax-error"
