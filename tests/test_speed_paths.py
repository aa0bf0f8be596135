"""The shortcuts of the fast paths give the answers of the slow ones: positions generated per
statement are libcst's PositionProvider's, the rule table read without importing the rules is
the registry's, and a run answered from the cache never loads libcst."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import libcst as cst
import pytest
from fixture_support import FIXTURES_DIR
from libcst.metadata import PositionProvider

from varlint import engine
from varlint.analysis.names import NameResolver
from varlint.analysis.positions import LazyPositions
from varlint.rules import all_rules, rule_table

PROJECT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*FIXTURES_DIR.rglob("*.py"), *(PROJECT / "examples").rglob("*.py")])

ODD_LAYOUTS = """\
# a header comment
import torch  ;  x = 1
@decorator
# between decorators
@other(
    1)
def f(a,
      b):
    if a:
        pass
    elif b:  # elif
        for i in a: y = i
        else:
            while b:
                break
    else:
        try:
            pass
        except (ValueError,
                TypeError) as error:
            raise
        else:
            pass
        finally:
            pass
    with open(a) as h, open(b):
        match a:
            case [1, 2]:
                return h
            case _:
                class C(object): pass
	# a tab-indented comment
x = [
    1,
]"""


def assert_same_positions(text: str) -> None:
    parsed = engine.parse_source("case.py", text)
    assert not isinstance(parsed, engine.Diagnostic)
    module, tree = parsed
    names = NameResolver(module)
    full = PositionProvider()
    full._gen_impl(module)
    nodes = names.order[1:]  # the module itself is not inside a statement
    for order in (nodes, nodes[::-1]):
        lazy = LazyPositions(module, names.parents, text, tree)
        assert [lazy[node] for node in order] == [full._computed[node] for node in order]
        assert not lazy._whole  # no fallback to the whole module was needed


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PROJECT)))
def test_positions_per_statement_are_libcsts(path):
    try:
        text = engine.read_source(str(path)).text
    except engine.UnreadableFile:
        pytest.skip("unreadable on purpose")
    if isinstance(engine.parse_source(str(path), text), engine.Diagnostic):
        pytest.skip("does not parse on purpose")
    assert_same_positions(text)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("trailing", [True, False])
def test_positions_of_odd_layouts(newline, trailing):
    text = ODD_LAYOUTS.replace("\n", newline) + (newline if trailing else "")
    assert_same_positions(text)


def test_a_node_outside_every_statement_falls_back_to_the_whole_module():
    text = "# header\nx = 1\n"
    module, tree = engine.parse_source("case.py", text)
    names = NameResolver(module)
    lazy = LazyPositions(module, names.parents, text, tree)
    comment = module.header[0].comment
    full = PositionProvider()
    full._gen_impl(module)
    assert lazy[comment] == full._computed[comment] and lazy._whole
    assert lazy[module] == full._computed[module]


def test_the_rule_table_is_the_registry():
    assert rule_table() == tuple((rule.code, rule.name, rule.default_enabled) for rule in all_rules())


def test_a_run_answered_from_the_cache_does_not_load_libcst(tmp_path):
    (tmp_path / "train.py").write_text("from torch.autograd import Variable\nx = Variable(y)\n")
    script = (
        "import sys\nfrom varlint.cli import main\n"
        "sys.argv = ['varlint', 'check', '--cache-dir', 'cache', '--exit-zero', '-q', '.']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED' if 'libcst' in sys.modules else 'NOT LOADED', file=sys.stderr)\n"
    )
    first = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    warm = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert "VL001" in first.stdout and first.stdout == warm.stdout
    assert first.stderr.strip().splitlines()[-1] == "LOADED"
    assert warm.stderr.strip().splitlines()[-1] == "NOT LOADED", warm.stderr


def test_pathspec_is_imported_only_for_real_ignore_patterns(tmp_path):
    """No `exclude` and a .gitignore of comments and blank lines: nothing to match, pathspec is
    not imported and every file is found; a real pattern still ignores its file."""
    (tmp_path / "train.py").write_text("from torch.autograd import Variable\nx = Variable(y)\n")
    (tmp_path / "skipped.py").write_text("from torch.autograd import Variable\nx = Variable(y)\n")
    (tmp_path / ".gitignore").write_text("# only a comment\n\n   \n")
    script = (
        "import sys\nfrom varlint.cli import main\n"
        "sys.argv = ['varlint', 'check', '--no-cache', '--exit-zero', '--output-format', 'concise', '.']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('LOADED' if 'pathspec' in sys.modules else 'NOT LOADED', file=sys.stderr)\n"
    )
    plain = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert "skipped.py" in plain.stdout and "train.py" in plain.stdout
    assert plain.stderr.strip().splitlines()[-1] == "NOT LOADED", plain.stderr
    (tmp_path / ".gitignore").write_text("# a comment\nskipped.py\n")
    ignoring = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert "skipped.py" not in ignoring.stdout and "train.py" in ignoring.stdout
    assert ignoring.stderr.strip().splitlines()[-1] == "LOADED"


def test_the_index_walk_reuses_the_walk_of_the_paths_only_when_it_is_the_same(tmp_path):
    """Within one run the tree walk of the index takes the files of a folder from the walk of
    the paths: the same files in the same order as walking it again, including for a folder
    the first walk passed over (a virtual environment, `build`) and under a .gitignore."""
    import os

    from varlint import files

    def tree(root):
        # No file of its own and no package directly in it: each tree below is a root of its own.
        for relative in ("src/main.py", "src/pkg/__init__.py", "src/pkg/models.py", "src/pkg/sub/__init__.py",
                         "src/pkg/sub/x.py", "scripts/run.py", "env/lib/__init__.py", "env/lib/y.py",
                         "out/build/lib/__init__.py", "out/build/lib/z.py", "src/nb.ipynb"):
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text("{}" if relative.endswith(".ipynb") else "import torch\n")
        (root / "env" / "pyvenv.cfg").write_text("")

    tree(tmp_path / "plain")
    tree(tmp_path / "ignoring")
    (tmp_path / "ignoring" / "src" / "pkg" / ".gitignore").write_text("models.py\n")
    for base in (tmp_path / "plain", tmp_path / "ignoring"):
        named = [str(base), str(base / "env" / "lib" / "y.py"), str(base / "out" / "build" / "lib" / "z.py")]
        walked = list(files.discover(named, (), base))
        expected = files.tree_files(walked, (), base)
        with files.remembering_walks():
            again = list(files.discover(named, (), base))
            reused = files.tree_files(again, (), base)
            remembered = list(files._WALKS)
        assert again == walked and reused == expected
        for skipped in (base / "env" / "lib" / "y.py", base / "out" / "build" / "lib" / "z.py", base / "src" / "pkg" / "sub" / "x.py"):
            assert os.path.abspath(skipped) in reused
        assert any(walk[0] == os.path.abspath(base) for walk in remembered) == (base.name == "plain")
    assert os.path.abspath(tmp_path / "ignoring" / "src" / "pkg" / "models.py") not in expected
