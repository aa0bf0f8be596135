"""The removal of the `Variable` imports the fixes left unused (varlint/variable_imports.py): its
shortcuts (the stdlib AST and the text) say what NameResolver says, its splice of the import
lines gives the text a transform of the whole module gives, and a fix pass hands the lint the
parse of the very text it lints."""

from __future__ import annotations

import ast

import libcst as cst
import pytest

from varlint import engine, fixes, variable_imports
from varlint.diagnostic import Applicability, Diagnostic, Edit, Fix, Position

IMPORT = "from torch.autograd import Variable\n"

# (text, the bound names NameResolver finds unused)
REFERENCES = [
    ("import torch\n" + IMPORT + "x = torch.ones(1)\n", {"Variable"}),
    (IMPORT + "x = Variable(t)\n", set()),
    (IMPORT + "def f(t):\n    return Variable(t)\n", set()),
    (IMPORT + "# Variable(t) is t\n'''Variable in a docstring'''\nx = torch.autograd.Variable\n", {"Variable"}),
    (IMPORT + "def f(Variable):\n    return Variable\n", {"Variable"}),  # a parameter shadows it
    (IMPORT + "def f():\n    Variable = 1\n    return Variable\n", {"Variable"}),
    (IMPORT + "def f():\n    global Variable\n    return Variable\n", set()),
    (IMPORT + "class K:\n    Variable = 1\n    def f(self):\n        return Variable\n", set()),  # class scope skipped
    (IMPORT + "x = [Variable for Variable in y]\n", {"Variable"}),
    (IMPORT + "del Variable\n", set()),
    (IMPORT + "match x:\n    case K(Variable=1):\n        pass\n", set()),  # libcst: a Name read
    (IMPORT + "match x:\n    case Variable:\n        pass\n", set()),
    (IMPORT + "__all__ = ['Variable']\n", set()),  # re-exported
    (IMPORT + "__all__ = ['other']\n", {"Variable"}),
    (IMPORT + "f(Variable=1)\nself.Variable = 2\n", {"Variable"}),  # a keyword, an attribute
    ("from torch.autograd import Variable as V\nx = V(t)\n", set()),
    ("from torch.autograd import Variable as V\nx = Variable(t)\n", {"V"}),
    ("import os; from torch.autograd import Variable; y = Variable(1)\n", set()),
    ("from torch.autograd import (Variable,  # Variable\n    grad)\nx = grad\n", {"Variable"}),
]


@pytest.mark.parametrize("text, unused", REFERENCES)
def test_the_shortcuts_say_what_name_resolver_says(text, unused):
    module = cst.parse_module(text)
    found, _ = variable_imports.unused_variable_imports(text, ast.parse(text), lambda: module)
    assert found == variable_imports._resolved_unused(module)
    assert {alias or name for name, alias in found} == unused


SPLICES = [
    "import torch\nfrom torch.autograd import Variable\n\nx = 1\n",
    "import torch\n# about it\nfrom torch.autograd import Variable, grad\nx = grad\n",
    "import torch; from torch.autograd import Variable\nx = 1\n",
    "import torch\r\n\r\n# lead\r\nfrom torch.autograd import Variable\r\nx = 1\r\n",
    "# header\n\nfrom torch.autograd import Variable\nimport os\n",
    "from torch.autograd import (Variable,\n   grad)\ny = grad\n",
    "from torch.autograd import Variable\n",
    "import os\nfrom torch.autograd import Variable",
    "from torch.autograd import Variable; \\\nx = 1\n",
    "from torch.autograd import Variable; y = (1,\n  2)\n",
    "from torch.autograd import Variable\nfrom torch.autograd import Variable\nif x:\n    pass\n",
    "def f():\n    pass\n    # indented\n# dedented\nfrom torch.autograd import Variable\nx = 1\n",
]


@pytest.mark.parametrize("text", SPLICES)
def test_the_splice_of_the_import_lines_is_the_transform_of_the_module(text):
    unused = {("Variable", None)}
    module = cst.parse_module(text)
    expected = _whole_module_transform(module, unused)
    original = variable_imports.OriginalImports("from torch.autograd import Variable\nx = Variable(t)\n")
    cleaned = variable_imports.remove_unused_variable_imports(text, ast.parse(text), lambda: module, original)
    assert (text if cleaned is None else cleaned) == expected


def _whole_module_transform(module: cst.Module, unused) -> str:
    """The removal as it was before the splice (module-level lines only)."""
    remover = variable_imports._RemoveImportAliases(unused)
    body = [line.visit(remover) if isinstance(line, cst.SimpleStatementLine) else line for line in module.body]
    return module.with_changes(body=[line for line in body if not isinstance(line, cst.SimpleStatementLine) or line.body]).code


def test_a_nested_import_of_the_same_name_is_not_removed():
    # Only the module-level import lost its references: the function's own import (another
    # binding, still read) stays. (A transform of the whole module used to remove it too,
    # leaving `f` with a NameError.)
    text = IMPORT + "def f():\n    from mylib import Variable\n    return Variable(1)\nx = t\n"
    original = variable_imports.OriginalImports(IMPORT + "def f():\n    from mylib import Variable\n    return Variable(1)\nx = Variable(t)\n")
    cleaned = variable_imports.remove_unused_variable_imports(text, ast.parse(text), lambda: cst.parse_module(text), original)
    assert cleaned == "def f():\n    from mylib import Variable\n    return Variable(1)\nx = t\n"


def _unwrap(text: str, row: int) -> Diagnostic:
    """VL001 at `row`: `Variable(a)` -> `a` (the call spans columns 5 to 16)."""
    start, end = Position(row, 5), Position(row, 16)
    fix = Fix(Applicability.SAFE, "unwrap", (Edit(start, end, text.splitlines()[row - 1][13:14]),))
    return Diagnostic("VL001", "legacy-variable", "Variable()", "f.py", start, end, fix)


def test_the_import_goes_in_the_pass_that_removes_its_last_use_and_the_lint_gets_its_parse():
    text = "import torch\n" + IMPORT + "a = Variable(x)\nb = Variable(y)\n"
    seen = []

    def lint(path, source, codes, parsed=None):
        if parsed is not None:  # the parse of the very text linted
            module, tree = parsed
            assert module.code == source and ast.dump(tree) == ast.dump(ast.parse(source))
        seen.append(source)
        if "a = Variable(x)" in source:
            return [_unwrap(source, source.splitlines().index("a = Variable(x)") + 1)]  # one fix a pass
        if "b = Variable(y)" in source:
            return [_unwrap(source, source.splitlines().index("b = Variable(y)") + 1)]
        return []

    outcome = fixes.fix_until_stable("f.py", text, frozenset({"VL001"}), Applicability.SAFE, lint)
    assert seen == [
        text,
        "import torch\n" + IMPORT + "a = x\nb = Variable(y)\n",  # still used: kept
        "import torch\na = x\nb = y\n",  # unused after the second pass: gone in it
    ]
    assert outcome.text == seen[-1]


def test_the_lint_of_a_parsed_text_is_the_lint_of_the_text():
    text = "import torch\nfrom torch.autograd import Variable\nx = Variable(torch.ones(1), volatile=True)\n"
    codes = engine.known_codes()
    assert engine.lint_text("f.py", text, codes, parsed=fixes.parse_fixed(text)) == engine.lint_text("f.py", text, codes)
