"""Helpers shared by the runtime test suites (test_runtime_*.py).

- find the fixture programs and read their directives and annotations;
- run a program under real PyTorch (a plain ``python PROGRAM.py`` in its folder) or under the
  reference runtime (``python -m runtime PROGRAM.py``) and keep what the two must agree on:
  stdout and the final line of the traceback;
- find the lines of a program that carry a marker comment (``# event: backward-without-grad``),
  so tests never hard-code line numbers.

Running real PyTorch costs ~1.5 s of ``import torch`` per program. To keep the suite fast, the
torch runs go through a small fork server: one process imports torch once and forks a fresh
child per program (the child runs the program as ``__main__`` exactly like ``python PROGRAM.py``
would). A result that disagrees with the runtime is always re-checked with a plain subprocess
(``run_with_torch(..., fork=False)``) before a test fails, so the shortcut can make tests faster
but never make one fail. Set ``VARLINT_TORCH_NO_FORK=1`` to use plain subprocesses only.

This module is also the fork server's entry point: ``python runtime_harness.py --torch-worker``.
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

#: directives (``# fixture: WORD ...``) that exclude a program from the comparison with PyTorch
NOT_COMPARED_WITH_TORCH = frozenset({"no-run", "random", "no-torch-compare"})

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
    """Every ``*.py`` under ``root`` (recursively), fixed outputs included, in a stable order."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.py") if p.is_file() and "__pycache__" not in p.parts)


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
    found = []
    for line, text in _comments(read_text(path)):
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


def run_with_runtime(path: Path, args: tuple[str, ...] = (), timeout: float = DEFAULT_TIMEOUT) -> ProgramRun:
    """``python -m runtime PROGRAM.py ARGS`` in the program's folder."""
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
    if fork is None:
        fork = os.environ.get("VARLINT_TORCH_NO_FORK") != "1" and hasattr(os, "fork")
    if fork:
        server = _TorchForkServer.get()
        if server is not None:
            result = server.run(path, args, timeout)
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
# the torch fork server
# --------------------------------------------------------------------------------------------


class _TorchForkServer:
    """Client side: one worker process per test session, started on first use."""

    _instance: "_TorchForkServer | None" = None
    _failed = False
    _lock = threading.Lock()

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--torch-worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_child_env(),
            cwd=str(REPO_ROOT),
        )
        ready = self._read_line(timeout=120)
        if ready != {"ready": True}:
            self.close()
            raise RuntimeError(f"torch worker did not start: {ready!r}")

    @classmethod
    def get(cls) -> "_TorchForkServer | None":
        with cls._lock:
            if cls._instance is None and not cls._failed:
                try:
                    cls._instance = cls()
                    atexit.register(cls._instance.close)
                except Exception:
                    cls._failed = True
            return cls._instance

    def _read_line(self, timeout: float):
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        if not ready:
            return None
        line = self.process.stdout.readline()
        if not line:
            return None
        return json.loads(line)

    def run(self, path: Path, args: tuple[str, ...], timeout: float) -> ProgramRun | None:
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
                type(self)._instance, type(self)._failed = None, True
                return None
            return ProgramRun(
                reply["stdout"],
                reply["stderr"],
                final_exception_line(reply["stderr"], reply["returncode"]),
                reply["returncode"],
                reply["timed_out"],
            )

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.process.stdin.close()  # type: ignore[union-attr]
                self.process.wait(timeout=5)
            except Exception:
                self.process.kill()


def _worker_run_child(path: str, args: list[str], out_path: str, err_path: str) -> None:
    """In the forked child: become ``python PATH ARGS`` run from PATH's folder, then exit."""
    folder = os.path.dirname(path)
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
    os.chdir(folder)
    sys.argv = [path, *args]
    sys.path[0] = folder
    code = 0
    try:
        import runpy

        runpy.run_path(path, run_name="__main__")
    except SystemExit as stop:
        if stop.code is None:
            code = 0
        elif isinstance(stop.code, int):
            code = stop.code
        else:
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:
        sys.excepthook(*sys.exc_info())
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _worker_main() -> None:
    """The fork server: import torch once, then run each requested program in a forked child."""
    import torch  # noqa: F401  (the point: import it once, before forking)
    import torch.nn.functional  # noqa: F401
    import torch.optim  # noqa: F401

    try:  # imported lazily by the first optimizer a program builds (~1 s): do it once here
        import torch._dynamo  # noqa: F401
    except Exception:
        pass

    protocol_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    protocol_in = sys.stdin
    protocol_out.write(json.dumps({"ready": True}) + "\n")
    protocol_out.flush()
    for line in protocol_in:
        request = json.loads(line)
        with tempfile.TemporaryDirectory() as tmp:
            out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
            open(out_path, "w").close()
            open(err_path, "w").close()
            pid = os.fork()
            if pid == 0:  # child
                protocol_out.close()
                _worker_run_child(request["path"], request["args"], out_path, err_path)
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
            returncode = os.waitstatus_to_exitcode(status)
            with open(out_path, "rb") as f:
                stdout = f.read().decode("utf-8", errors="replace")
            with open(err_path, "rb") as f:
                stderr = f.read().decode("utf-8", errors="replace")
        reply = {"stdout": stdout, "stderr": stderr, "returncode": returncode, "timed_out": timed_out}
        protocol_out.write(json.dumps(reply) + "\n")
        protocol_out.flush()


if __name__ == "__main__" and sys.argv[1:] == ["--torch-worker"]:
    _worker_main()
