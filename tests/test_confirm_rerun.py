"""`varlint confirm` runs a program again after fixing the crash a diagnostic predicted.

When the run stops on an exception that a confirmed diagnostic with a fix predicted (the
`.data[0]` IndexError of 0.3-era code), the lines after it never ran. confirm then runs a
copy with that fix applied, so that the later diagnostics are decided by a real run, and says
which run decided each. Rows are mapped through the fix's edits (varlint/linemap.py): a
diagnostic on a row the fix changed is never decided by the modified copy.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

from click.testing import CliRunner

from varlint import engine
from varlint.cli import main
from varlint.config import Settings
from varlint.confirm import CONFIRMED, CUT_SHORT, UNCONFIRMED, confirm_file
from varlint.diagnostic import Edit, Position
from varlint.linemap import LineMap, MapChain

ALL = frozenset(engine.known_codes())


def write(tmp_path: Path, source: str, name: str = "program.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source).lstrip())
    return path


def confirm_json(*args: str) -> dict:
    result = CliRunner().invoke(main, ["confirm", "--output-format", "json", *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def edit(row: int, column: int, end_row: int, end_column: int, content: str) -> Edit:
    return Edit(Position(row, column), Position(end_row, end_column), content)


# --- rows through edits ---------------------------------------------------------------------


def test_rows_after_an_edit_that_adds_lines_move_down_and_its_rows_map_to_nothing():
    line_map = LineMap([edit(3, 5, 3, 9, "a\nb\nc")])  # row 3 becomes rows 3-5
    assert [line_map.new_row(row) for row in (1, 2, 3, 4, 10)] == [1, 2, None, 6, 12]
    assert [line_map.old_row(row) for row in (2, 3, 4, 5, 6, 12)] == [2, None, None, None, 4, 10]


def test_rows_after_an_edit_that_removes_lines_move_up():
    line_map = LineMap([edit(2, 1, 4, 3, "x")])  # rows 2-4 become row 2
    assert [line_map.new_row(row) for row in (1, 2, 3, 4, 5)] == [1, None, None, None, 3]
    assert [line_map.old_row(row) for row in (1, 2, 3)] == [1, None, 5]


def test_edits_sharing_a_row_are_one_change_and_rounds_of_edits_compose():
    same_row = LineMap([edit(5, 1, 5, 3, "p\n"), edit(5, 7, 5, 9, "q")])  # row 5 becomes 2 rows
    assert [same_row.new_row(row) for row in (4, 5, 6)] == [4, None, 7]
    chain = MapChain().then(same_row).then(LineMap([edit(1, 1, 1, 1, "import torch\n")]))
    assert [chain.new_row(row) for row in (1, 4, 6)] == [None, 5, 8]
    assert [chain.old_row(row) for row in (5, 8, 6, 7)] == [4, 6, None, None]


# --- the reruns -------------------------------------------------------------------------------


CRASH_THEN_MORE = """
    import torch
    from torch.autograd import Variable
    from helper import scale

    w = torch.ones(3, requires_grad=True)
    loss = (w * scale).sum()
    print(loss.data[0])
    x = Variable(torch.ones(2))
    print(x)
"""


def test_the_diagnostic_after_the_crash_is_decided_by_the_run_with_the_crash_fixed(tmp_path):
    (tmp_path / "helper.py").write_text("scale = 2.0\n")  # the copy still imports its siblings
    path = write(tmp_path, CRASH_THEN_MORE)
    report = confirm_json(str(path))
    decided = [(d["code"], d["location"]["row"], d["confirmation"], d["decided_by"]) for d in report["diagnostics"]]
    assert decided == [
        ("VL004", 7, "confirmed", "original"),
        ("VL001", 8, "confirmed", "after fixing VL004 at line 7 (safe fix)"),
    ]
    [run] = report["runs"]
    assert run["exception"].startswith("IndexError: invalid index of a 0-dim tensor")
    [rerun] = run["reruns"]
    assert rerun["fixed"] == [{"code": "VL004", "row": 7, "column": 7, "applicability": "safe"}]
    assert (rerun["exception"], rerun["stopped_because"]) == (None, "stopped once every diagnostic was decided")
    text = CliRunner().invoke(main, ["confirm", str(path)]).stdout
    assert "= runtime: confirmed by the runtime, in the run after fixing VL004 at line 7 (safe fix)" in text
    assert f"{path}: ran again after fixing VL004 at line 7 (safe fix): stopped once" in text
    assert "1 of them decided by a run with the fix of the crash before them applied." in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["helper.py", "program.py"]  # the copy went elsewhere


def test_a_diagnostic_on_the_row_the_fix_changed_is_not_decided_by_the_modified_copy(tmp_path):
    # The Variable call on the crash line never runs in the original (the index raises first);
    # in the copy it does, but the copy's line is not the original's line.
    path = write(tmp_path, """
        import torch
        from torch.autograd import Variable

        loss = (torch.ones(3, requires_grad=True) * 2).sum()
        value = (loss.data[0], Variable(torch.ones(2)))
        print(Variable(torch.zeros(1)))
    """)
    report = confirm_json(str(path))
    decided = [(d["code"], d["location"]["row"], d["confirmation"], d["decided_by"]) for d in report["diagnostics"]]
    assert decided == [
        ("VL004", 5, "confirmed", "original"),
        ("VL001", 5, "cut-short", None),
        ("VL001", 6, "confirmed", "after fixing VL004 at line 5 (safe fix)"),
    ]


def test_rows_are_mapped_through_a_fix_that_adds_lines(tmp_path):
    path = write(tmp_path, CRASH_THEN_MORE.replace("from helper import scale", "scale = 2.0"))
    diagnostics = engine.check_file(str(path), Settings(select=("ALL",))).diagnostics
    vl004 = next(d for d in diagnostics if d.code == "VL004")
    # the same repair in two lines: every later row moves down by one
    two_lines = dataclasses.replace(vl004.fix, edits=(edit(7, 1, 7, 20, "value = loss.item()\nprint(value)"),))
    diagnostics = [dataclasses.replace(d, fix=two_lines) if d is vl004 else d for d in diagnostics]
    run = confirm_file(str(path), diagnostics, ALL, timeout=60)
    statuses = [(c.diagnostic.code, c.diagnostic.start.row, run.status(c), c.run) for c in run.confirmations]
    assert statuses == [("VL004", 7, CONFIRMED, 0), ("VL001", 8, CONFIRMED, 1)]
    [event] = run.confirmations[1].events
    assert (event["line"], event["file"]) == (8, str(path))  # reported at the original's row


def test_no_rerun_without_a_fix_or_after_an_unpredicted_crash(tmp_path):
    path = write(tmp_path, """
        import torch
        from torch.autograd import Variable

        raise ValueError("not a diagnostic's crash")
        print(Variable(torch.ones(2)))
    """)
    report = confirm_json(str(path))
    assert [d["confirmation"] for d in report["diagnostics"]] == ["not-reached"]
    assert report["runs"][0]["reruns"] == []
    path = write(tmp_path, CRASH_THEN_MORE.replace("from helper import scale", "scale = 2.0"), "nofix.py")
    diagnostics = [dataclasses.replace(d, fix=None) for d in engine.check_file(str(path), Settings(select=("ALL",))).diagnostics]
    run = confirm_file(str(path), diagnostics, ALL, timeout=60)
    assert len(run.runs) == 1 and run.status(run.confirmations[1]) not in (CONFIRMED, UNCONFIRMED, CUT_SHORT)


def test_no_rerun_when_the_fix_changes_every_undecided_line(tmp_path):
    path = write(tmp_path, """
        import torch
        from torch.autograd import Variable

        loss = (torch.ones(3, requires_grad=True) * 2).sum()
        value = (loss.data[0], Variable(torch.ones(2)))
    """)
    [run] = confirm_json(str(path))["runs"]
    assert run["reruns"] == []
