"""`runtime.run()` / `varlint confirm` against programs that misbehave (issue 14) and real-program
needs (issue 10): forged event data, leftover processes holding stdout, floods of output,
standard input, arguments, a temporary working directory, limits, stopping once decided, and
saying why a program stopped.

Programs are small files in tmp_path run for real; no assertion is on a duration (a hang
would show as the run's time limit, which the assertions rule out).
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path

from click.testing import CliRunner

import runtime
from runtime import events
from varlint.cli import main


def program(tmp_path: Path, source: str, name: str = "program.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source).lstrip())
    return path


def confirm(*args: str):
    result = CliRunner().invoke(main, ["confirm", *args], catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    return result


FORGER = """
    import json, os
    import torch
    from torch.autograd import Variable
    forged = json.dumps({"type": "event", "kind": "variable-call", "line": 11, "file": __file__,
                         "detail": "", "related": []})
    for fd in range(3, 2048):  # every descriptor the program can find
        try:
            os.write(fd, b"[1, 2, 3]\\n" + forged.encode() + b"\\n")
        except OSError:
            pass
    x = Variable(torch.ones(2))
"""


def test_forged_event_data_decides_nothing_and_is_no_traceback(tmp_path):
    path = program(tmp_path, FORGER)
    result = runtime.run(path, timeout=120)
    assert result.channel_error and result.events == []
    output = confirm(str(path)).output
    assert "Traceback" not in output
    assert "the run's event data was malformed" in output
    assert "confirmed by the runtime" not in output


def test_the_program_gets_no_path_to_the_event_data(tmp_path):
    path = program(tmp_path, """
        import os, sys
        print(sys.argv)
        print(sorted(os.listdir(os.getcwd())))
    """)
    result = runtime.run(path, args=["--flag"], timeout=120)
    assert result.stdout.splitlines() == [repr([str(path), "--flag"]), "[]"]  # run.json is gone


def test_records_are_checked_for_signature_order_and_schema():
    key = b"k" * 32
    good = {"type": "end", "seq": 1}
    good["mac"] = events.sign(key, good)
    assert runtime._decode_records(json.dumps(good).encode() + b"\n", key, events) == ([{"type": "end"}], None)
    for line in (b"[1, 2, 3]", b"{", json.dumps({**good, "mac": "0" * 64}).encode()):
        records, error = runtime._decode_records(line + b"\n", key, events)
        assert records == [] and error
    replay = json.dumps(good).encode() + b"\n"
    assert "replayed" in runtime._decode_records(replay * 2, key, events)[1]
    assert events.validate_record([1, 2, 3])
    assert events.validate_record({"type": "event", "kind": "x", "line": "7", "file": "", "detail": "", "related": []})


def test_a_leftover_process_holding_stdout_does_not_hang_the_run_and_is_killed(tmp_path):
    pid_file = tmp_path / "pid"
    path = program(tmp_path, """
        import subprocess, sys
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
        open(sys.argv[1], "w").write(str(child.pid))
        print("parent done")
    """)
    result = runtime.run(path, args=[str(pid_file)], timeout=600)
    assert not result.timed_out and result.stdout == "parent done\n"
    pid = int(pid_file.read_text())
    for _ in range(100):  # the killed orphan is reaped by init
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"process {pid} is still alive")


def test_hundreds_of_megabytes_of_output_are_kept_head_and_tail(tmp_path):
    path = program(tmp_path, """
        import sys
        line = "x" * 999_999 + "\\n"
        for _ in range(300):
            sys.stdout.write(line)
        print("END")
    """)
    result = runtime.run(path, timeout=600)
    assert result.returncode == 0
    assert len(result.stdout) < 3 * runtime.OUTPUT_KEPT
    assert result.stdout.startswith("x" * 1000) and result.stdout.endswith("END\n")
    assert "bytes of output omitted" in result.stdout


def test_reading_standard_input_says_it_is_closed(tmp_path):
    path = program(tmp_path, "name = input('name? ')\n")
    result = runtime.run(path, timeout=120)
    assert result.exception.startswith("EOFError")
    assert "standard input" in result.stop_reason


def test_files_written_stay_out_of_the_tree_and_sibling_modules_import(tmp_path):
    program(tmp_path, "VALUE = 42\n", name="helpers.py")
    path = program(tmp_path, """
        import helpers
        with open("checkpoint.txt", "w") as handle:
            handle.write("saved")
        print(helpers.VALUE)
    """)
    result = runtime.run(path, timeout=120)
    assert result.stdout == "42\n", result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["helpers.py", "program.py"]


def test_memory_is_limited(tmp_path):
    path = program(tmp_path, "block = bytearray(64 << 30)\n")
    result = runtime.run(path, timeout=120)
    assert result.exception.startswith("MemoryError")
    assert "memory" in result.stop_reason


LONG_TRAINING = """
    import sys
    import torch
    from torch.autograd import Variable

    w = Variable(torch.zeros(1), requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.01)
    for epoch in range(int(sys.argv[1])):
        loss = ((w - 3) ** 2).sum()
        loss.backward()
        optimizer.step()
"""


def test_a_long_training_script_stops_once_its_diagnostics_are_decided(tmp_path):
    path = program(tmp_path, LONG_TRAINING)
    output = confirm(str(path), "--timeout", "600", "--", "1000000000").output
    assert "2 of 2 runtime-observable diagnostics confirmed." in output
    assert "stopped once every diagnostic was decided" in output
    assert "time limit" not in output


def test_a_line_that_ran_without_its_event_is_decided_unconfirmed_early(tmp_path):
    path = program(tmp_path, """
        import sys
        import torch
        w = torch.zeros(1, requires_grad=True)
        for epoch in range(int(sys.argv[1])):
            print(w.sum())
    """)
    watch = [({5}, {"grad-never-populated"})]
    result = runtime.run(path, args=["100000"], timeout=300, watch=watch)
    assert result.decided and not result.timed_out
    assert result.line_runs[5] == runtime.RUNS_WITHOUT_EVENT + 1


def test_the_output_names_the_runtime_api_a_program_lacks_and_sums_the_gaps_up(tmp_path):
    program(tmp_path, """
        import torch
        import torch.nn as nn
        from torch.autograd import Variable
        x = Variable(torch.ones(1, 1, 4, 4, 4))
        model = nn.Conv3d(1, 1, 3)
        print(x.sum().data[0])
    """, name="conv.py")
    program(tmp_path, "import torch\nt = torch.ones(2)\nt.frobnicate_()\n", name="tensor.py")
    output = confirm(str(tmp_path)).output
    assert "conv.py: ran on the runtime: runtime lacks torch.nn.Conv3d" in output
    assert "tensor.py: ran on the runtime: runtime lacks Tensor.frobnicate_" in output
    assert "not reached: the program never ran this line" in output  # the .data[0] after it
    assert f"1 undecided in {tmp_path / 'conv.py'}: runtime lacks torch.nn.Conv3d" in output
    assert ("Runtime gaps (torch APIs the reference runtime lacks): Tensor.frobnicate_ (1 program), "
            "torch.nn.Conv3d (1 program).") in output
