"""Helpers shared by the runtime test suites (test_runtime_*.py).

- find the fixture programs and read their directives and annotations;
- run a program under real PyTorch (a plain ``python PROGRAM.py`` in its folder) or under the
  reference runtime (``python -m runtime PROGRAM.py``) and keep what the two must agree on:
  stdout and the final line of the traceback;
- find the lines of a program that carry a marker comment (``# event: backward-without-grad``),
  so tests never hard-code line numbers.

Starting an interpreter costs ~1.5 s of ``import torch`` per program under real PyTorch and
~0.3 s of ``import numpy`` + runtime under the runtime. To keep the suites fast, both go through
small fork servers: one process imports torch (another one the runtime) once and forks a fresh
child per program; the child runs the program exactly like ``python PROGRAM.py`` (or
``python -m runtime --events FILE PROGRAM.py``) would. A forked result that makes a test fail is
always re-checked with a fresh interpreter (``fork=False``; for the runtime that is
``runtime.run()``) before the test fails, so the shortcut can make tests faster but never make
one fail. ``VARLINT_NO_FORK=1`` turns the fork servers off.

This module is also the fork servers' entry point: ``python runtime_harness.py --torch-worker``
(or ``--runtime-worker``).
"""

from __future__ import annotations

import atexit
import dataclasses
import difflib
import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tokenize
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES_DIR = REPO_ROOT / "fixtures"
#: folder fixtures: each sub-folder is one tree of modules, checked as one project
PROJECT_FIXTURES_DIR = FIXTURES_DIR / "project"

#: directives (``# fixture: WORD ...``) that exclude a program from the comparison with PyTorch
NOT_COMPARED_WITH_TORCH = frozenset({"no-run", "no-torch-compare"})

DEFAULT_TIMEOUT = 60.0


# --------------------------------------------------------------------------------------------
# fixtures: discovery, directives, annotations, markers
# --------------------------------------------------------------------------------------------

_DIRECTIVE_RE = re.compile(r"^#\s*fixture:\s*(.*?)\s*$")
_FIXED_SUFFIXES = (".unsafe-fixed.py", ".fixed.py")


def read_text(path: Path) -> str:
    """The program's text; undecodable bytes are replaced (no-run fixtures may have some)."""
    return Path(path).read_bytes().decode("utf-8", errors="replace")


def original_of(path: Path) -> Path | None:
    """For ``name.fixed.py`` / ``name.unsafe-fixed.py``: the fixture ``name.py`` it derives from."""
    path = Path(path)
    for suffix in _FIXED_SUFFIXES:
        if path.name.endswith(suffix):
            return path.with_name(path.name[: -len(suffix)] + ".py")
    return None


def own_directives(path: Path) -> frozenset[str]:
    """Words of every ``# fixture: WORD [WORD...]`` comment line of the file."""
    words: set[str] = set()
    for line in read_text(path).splitlines():
        match = _DIRECTIVE_RE.match(line.strip())
        if match:
            words.update(word.strip(",") for word in match.group(1).split())
    return frozenset(words)


def directives(path: Path) -> frozenset[str]:
    """The directives of a fixture; a fixed output inherits those of its original."""
    found = set(own_directives(path))
    original = original_of(path)
    if original is not None and original.exists():
        found |= own_directives(original)
    return frozenset(found)


def fixture_programs(root: Path = FIXTURES_DIR) -> list[Path]:
    """Every ``*.py`` under ``root`` (recursively), fixed outputs included, in a stable order.
    The modules of folder fixtures (fixtures/project/) are not single programs: they are
    left out unless ``root`` is inside one (see ``project_fixtures``)."""
    if not root.is_dir():
        return []
    inside_projects = root.resolve() == PROJECT_FIXTURES_DIR or PROJECT_FIXTURES_DIR in root.resolve().parents
    return sorted(
        p for p in root.rglob("*.py")
        if p.is_file() and "__pycache__" not in p.parts
        and (inside_projects or PROJECT_FIXTURES_DIR not in p.resolve().parents)
    )


def project_fixtures() -> list[Path]:
    """The folder fixtures: each folder under fixtures/project/ is one tree of modules."""
    if not PROJECT_FIXTURES_DIR.is_dir():
        return []
    return sorted(p for p in PROJECT_FIXTURES_DIR.iterdir() if p.is_dir() and p.name != "__pycache__")


def torch_comparable_programs(root: Path = FIXTURES_DIR) -> list[Path]:
    """The fixture programs whose output must equal real PyTorch's."""
    return [p for p in fixture_programs(root) if not (directives(p) & NOT_COMPARED_WITH_TORCH)]


def fixture_id(path: Path) -> str:
    try:
        return Path(path).relative_to(FIXTURES_DIR).as_posix()
    except ValueError:
        return Path(path).name


def _comments(source: str) -> list[tuple[int, str]]:
    """(line, text) of every comment; falls back to a line scan when tokenizing fails."""
    try:
        tokens = tokenize.generate_tokens(io.StringIO(source).readline)
        return [(tok.start[0], tok.string) for tok in tokens if tok.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        found = []
        for number, line in enumerate(source.splitlines(), start=1):
            index = line.find("#")
            if index >= 0:
                found.append((number, line[index:]))
        return found


_EXPECT_RE = re.compile(r"#\s*expect:\s*([A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)")
_EXPECT_LINE_RE = re.compile(r"#\s*expect-line\s+(\d+):\s*([A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)")


def expected_diagnostics(path: Path) -> list[tuple[int, str]]:
    """Sorted (line, code) pairs of the ``# expect:`` / ``# expect-line N:`` annotations."""
    return expected_in_source(read_text(path))


def expected_in_source(source: str) -> list[tuple[int, str]]:
    """`expected_diagnostics` of a program's text (a notebook cell, say)."""
    found = []
    for line, text in _comments(source):
        for match in _EXPECT_LINE_RE.finditer(text):
            found += [(int(match.group(1)), code.strip()) for code in match.group(2).split(",")]
        for match in _EXPECT_RE.finditer(text):
            found += [(line, code.strip()) for code in match.group(1).split(",")]
    return sorted(found)


_EVENT_MARKER_RE = re.compile(r"#\s*event:\s*([a-z-]+(?:\s*,\s*[a-z-]+)*)")


def event_markers(source: str) -> list[tuple[int, str]]:
    """Sorted (line, kind) pairs of ``# event: KIND[, KIND]`` comments in ``source``."""
    found = []
    for line, text in _comments(source):
        for match in _EVENT_MARKER_RE.finditer(text):
            found += [(line, kind.strip()) for kind in match.group(1).split(",")]
    return sorted(found)


def marker_line(source: str, marker: str) -> int:
    """The only line of ``source`` containing ``marker`` (fails loudly if not exactly one)."""
    lines = [n for n, text in enumerate(source.splitlines(), start=1) if marker in text]
    if len(lines) != 1:
        raise AssertionError(f"marker {marker!r} found on lines {lines}, expected exactly one")
    return lines[0]


# --------------------------------------------------------------------------------------------
# running programs
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ProgramRun:
    """What one run of a program showed."""

    stdout: str
    stderr: str
    exception: str | None  # the final line of the traceback, None when the program did not crash
    returncode: int
    timed_out: bool = False
    events: list = dataclasses.field(default_factory=list)  # runtime runs only
    forked: bool = False  # produced by a fork server (see the module docstring)

    def summary(self) -> str:
        status = "timed out" if self.timed_out else f"exit {self.returncode}"
        return f"{status}, exception: {self.exception!r}"


def final_exception_line(stderr: str, returncode: int = 1) -> str | None:
    """The last line of the traceback in ``stderr`` (``"IndexError: invalid index ..."``)."""
    if returncode == 0 or "Traceback (most recent call last):" not in stderr:
        # SyntaxErrors of the program itself have no "Traceback" header under some runners
        if returncode != 0:
            lines = [line for line in stderr.splitlines() if line.strip()]
            if lines and re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Interrupt)\b", lines[-1]):
                return lines[-1].strip()
        return None
    tail = stderr.rsplit("Traceback (most recent call last):", 1)[1]
    lines = [line for line in tail.splitlines() if line.strip()]
    return lines[-1].strip() if lines else None


def _child_env(extra_pythonpath: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("PYTHONWARNINGS", None)
    env.pop("PYTHONSTARTUP", None)
    if extra_pythonpath is not None:
        parts = [str(extra_pythonpath)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(parts)
    return env


def _run_subprocess(command: list[str], cwd: Path, timeout: float, env: dict[str, str]) -> ProgramRun:
    try:
        completed = subprocess.run(
            command,
            cwd=str(cwd),
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as expired:
        out = (expired.stdout or b"").decode("utf-8", errors="replace")
        err = (expired.stderr or b"").decode("utf-8", errors="replace")
        return ProgramRun(out, err, None, -9, timed_out=True)
    out = completed.stdout.decode("utf-8", errors="replace")
    err = completed.stderr.decode("utf-8", errors="replace")
    return ProgramRun(out, err, final_exception_line(err, completed.returncode), completed.returncode)


def run_with_runtime(
    path: Path, args: tuple[str, ...] = (), timeout: float = DEFAULT_TIMEOUT, fork: bool | None = None
) -> ProgramRun:
    """``python -m runtime --events FILE PROGRAM.py ARGS`` in the program's folder; the result
    carries the event log.

    ``fork=None`` uses the fork server when it is available (see the module docstring);
    ``fork=False`` goes through ``runtime.run()``, the runtime's own API (a fresh subprocess).
    """
    path = Path(path).resolve()
    if fork is not False:
        result = _forked_run("runtime", path, args, timeout)
        if result is not None:
            return result
    import runtime

    result = runtime.run(str(path), args=args, timeout=timeout)
    return ProgramRun(
        result.stdout, result.stderr, result.exception, result.returncode, result.timed_out, events=list(result.events)
    )


def run_with_runtime_cli(path: Path, args: tuple[str, ...] = (), timeout: float = DEFAULT_TIMEOUT) -> ProgramRun:
    """Exactly ``python -m runtime PROGRAM.py ARGS`` in the program's folder (no event log)."""
    path = Path(path).resolve()
    command = [sys.executable, "-m", "runtime", str(path), *args]
    return _run_subprocess(command, path.parent, timeout, _child_env(REPO_ROOT))


_torch_available: bool | None = None


def torch_available() -> bool:
    """Whether real PyTorch can be imported by a child Python (checked once, without importing
    torch into the test process)."""
    global _torch_available
    if _torch_available is None:
        import importlib.util

        _torch_available = importlib.util.find_spec("torch") is not None
    return _torch_available


def run_with_torch(
    path: Path, args: tuple[str, ...] = (), timeout: float = DEFAULT_TIMEOUT, fork: bool | None = None
) -> ProgramRun:
    """``python PROGRAM.py ARGS`` in the program's folder, with real PyTorch.

    ``fork=None`` uses the fork server when it is available (see the module docstring),
    ``fork=False`` always starts a fresh interpreter (the reference behaviour).
    """
    path = Path(path).resolve()
    if fork is not False:
        result = _forked_run("torch", path, args, timeout)
        if result is not None:
            return result
    command = [sys.executable, str(path), *args]
    return _run_subprocess(command, path.parent, timeout, _child_env())


def compare_runs(reference: ProgramRun, candidate: ProgramRun, *, reference_name: str = "torch",
                 candidate_name: str = "runtime") -> str | None:
    """None when stdout and final exception line agree, otherwise a readable report."""
    problems = []
    if reference.timed_out or candidate.timed_out:
        problems.append(f"timed out: {reference_name}={reference.timed_out} {candidate_name}={candidate.timed_out}")
    if reference.stdout != candidate.stdout:
        diff = difflib.unified_diff(
            reference.stdout.splitlines(keepends=True),
            candidate.stdout.splitlines(keepends=True),
            fromfile=f"stdout under {reference_name}",
            tofile=f"stdout under {candidate_name}",
        )
        problems.append("stdout differs:\n" + "".join(diff))
    if reference.exception != candidate.exception:
        problems.append(
            "final exception line differs:\n"
            f"  {reference_name:>8}: {reference.exception!r}\n"
            f"  {candidate_name:>8}: {candidate.exception!r}"
        )
    if not problems:
        return None
    problems.append(f"{reference_name}: {reference.summary()}; {candidate_name}: {candidate.summary()}")
    if candidate.stderr.strip() and (
        candidate.exception != reference.exception or (candidate.returncode == 0) != (reference.returncode == 0)
    ):
        problems.append(f"{candidate_name} stderr (tail):\n" + "\n".join(candidate.stderr.splitlines()[-25:]))
    return "\n".join(problems)


# --------------------------------------------------------------------------------------------
# the fork servers
# --------------------------------------------------------------------------------------------


class _ForkServer:
    """Client side: one worker process per kind ("torch", "runtime") and test session, started
    on first use. Any trouble with it turns it off for the session (callers fall back to plain
    subprocesses)."""

    _instances: dict[str, "_ForkServer"] = {}
    _failed: set[str] = set()
    _lock = threading.Lock()

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), f"--{kind}-worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_child_env(REPO_ROOT if kind == "runtime" else None),
            cwd=str(REPO_ROOT),
        )
        ready = self._read_line(timeout=120)
        if ready != {"ready": True}:
            self.close()
            raise RuntimeError(f"{kind} worker did not start: {ready!r}")

    @classmethod
    def get(cls, kind: str) -> "_ForkServer | None":
        if os.environ.get("VARLINT_NO_FORK") == "1" or not hasattr(os, "fork"):
            return None
        with cls._lock:
            if kind not in cls._instances and kind not in cls._failed:
                try:
                    server = cls(kind)
                except Exception:
                    cls._failed.add(kind)
                else:
                    cls._instances[kind] = server
                    atexit.register(server.close)
            return cls._instances.get(kind)

    def _read_line(self, timeout: float):
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.process.stdout.readline()
        if not line:
            return None
        return json.loads(line)

    def run(self, path: Path, args: tuple[str, ...], timeout: float) -> dict | None:
        with self._lock:
            if self.process.poll() is not None:
                return None
            request = {"path": str(path), "args": list(args), "timeout": timeout}
            try:
                assert self.process.stdin is not None
                self.process.stdin.write((json.dumps(request) + "\n").encode())
                self.process.stdin.flush()
                reply = self._read_line(timeout + 30)
            except (OSError, ValueError):
                reply = None
            if not reply:
                self.close()
                type(self)._instances.pop(self.kind, None)
                type(self)._failed.add(self.kind)
                return None
            return reply

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # type: ignore[union-attr]
                self.process.wait(timeout=5)
            except Exception:
                self.process.kill()


def _forked_run(kind: str, path: Path, args: tuple[str, ...], timeout: float) -> ProgramRun | None:
    server = _ForkServer.get(kind)
    if server is None:
        return None
    reply = server.run(path, args, timeout)
    if reply is None:
        return None
    return ProgramRun(
        reply["stdout"],
        reply["stderr"],
        final_exception_line(reply["stderr"], reply["returncode"]),
        reply["returncode"],
        reply["timed_out"],
        events=reply.get("events") or [],
        forked=True,
    )


def _redirect_child_io(out_path: str, err_path: str) -> None:
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    out_fd = os.open(out_path, os.O_WRONLY | os.O_TRUNC)
    err_fd = os.open(err_path, os.O_WRONLY | os.O_TRUNC)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="strict")
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False), encoding="utf-8", errors="backslashreplace", write_through=True
    )


def _exit_code(stop: SystemExit) -> int:
    if stop.code is None:
        return 0
    if isinstance(stop.code, int):
        return stop.code
    print(stop.code, file=sys.stderr)
    return 1


def _worker_run_child(kind: str, path: str, args: list[str], scratch: str) -> None:
    """In the forked child: become ``python PATH ARGS`` (torch) or ``python -m runtime --events
    FILE PATH ARGS`` (runtime), run from PATH's folder, then exit."""
    folder = os.path.dirname(path)
    _redirect_child_io(os.path.join(scratch, "out"), os.path.join(scratch, "err"))
    os.chdir(folder)
    code = 0
    try:
        if kind == "torch":
            import runpy

            sys.argv = [path, *args]
            sys.path[0] = folder
            runpy.run_path(path, run_name="__main__")
        else:
            from runtime import __main__ as runtime_main

            sys.path[0] = folder  # `python -m` puts the working directory first
            sys.argv = [os.path.join(os.path.dirname(runtime_main.__file__), "__main__.py")]
            code = runtime_main.main(["--events", os.path.join(scratch, "events.json"), path, *args]) or 0
    except SystemExit as stop:
        code = _exit_code(stop)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _preload(kind: str) -> None:
    if kind == "torch":
        import torch  # noqa: F401  (the point: import it once, before forking)
        import torch.nn.functional  # noqa: F401
        import torch.optim  # noqa: F401

        try:  # imported lazily by the first optimizer a program builds (~1 s): do it once here
            import torch._dynamo  # noqa: F401
        except Exception:
            pass
    else:
        import runtime  # noqa: F401
        import runtime.__main__  # noqa: F401

        for name in ("runtime.torch_facade", "runtime.nn", "runtime.functional", "runtime.optim", "runtime.autograd"):
            try:
                __import__(name)
            except ImportError:
                pass


def _worker_main(kind: str) -> None:
    """A fork server: import torch (or the runtime) once, then run each requested program in a
    forked child."""
    _preload(kind)
    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    protocol_out.write(json.dumps({"ready": True}) + "\n")
    protocol_out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        with tempfile.TemporaryDirectory() as scratch:
            for name in ("out", "err"):
                open(os.path.join(scratch, name), "w").close()
            pid = os.fork()
            if pid == 0:  # child
                protocol_out.close()
                _worker_run_child(kind, request["path"], request["args"], scratch)
            deadline = time.monotonic() + request["timeout"]
            timed_out = False
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    _, status = os.waitpid(pid, 0)
                    timed_out = True
                    break
                time.sleep(0.002)
            reply = {"returncode": os.waitstatus_to_exitcode(status), "timed_out": timed_out}
            for name, key in (("out", "stdout"), ("err", "stderr")):
                with open(os.path.join(scratch, name), "rb") as handle:
                    reply[key] = handle.read().decode("utf-8", errors="replace")
            events_path = os.path.join(scratch, "events.json")
            try:
                with open(events_path, encoding="utf-8") as handle:
                    reply["events"] = json.load(handle)
            except (OSError, ValueError):
                reply["events"] = []
        protocol_out.write(json.dumps(reply) + "\n")
        protocol_out.flush()


if __name__ == "__main__" and sys.argv[1:] in (["--torch-worker"], ["--runtime-worker"]):
    _worker_main(sys.argv[1][2:].split("-")[0])
