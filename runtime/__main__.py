"""`python -m runtime [--events FILE] PROGRAM.py [args...]`: run a program on the runtime.

The program runs as `__main__` with `sys.argv = [PROGRAM, *args]`, its directory first on
sys.path, and `torch` served by the runtime. Its stdout is exactly what it prints. An
uncaught exception prints a Python-style traceback to stderr (without this launcher's frames)
and exits 1. `--events FILE` writes the event log as JSON, also when the program crashed; `--lines FILE`
writes the program lines that ran ({file: [line, ...]}).
(`runtime.run()` passes `--channel FD`, the pipe its records travel on (events as they happen,
then the lines that ran and the exception: see events.Channel), and `--watch FILE`, the
channel's key and the diagnostics after whose decision the program is stopped (coverage.Decider).)
"""

from __future__ import annotations

import builtins
import json
import importlib.machinery
import io
import os
import re
import signal
import sys
import tokenize
import types

from . import coverage, events, history, loader, tensor

USAGE = "usage: python -m runtime [--events FILE] [--lines FILE] PROGRAM.py [args...]"
HELP = f"""{USAGE}

Run PROGRAM.py as `__main__` with `torch` served by varlint's numpy reference runtime.

options:
  -h, --help      show this help and exit
  --events FILE   write the event log (what the rules predict, with its lines) as JSON
  --lines FILE    write the program lines that ran as JSON ({{file: [line, ...]}})
"""


def _usage_error(message):
    print(f"{USAGE}\npython -m runtime: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _parse(argv):
    options = {"--events": None, "--exception-file": None, "--lines": None, "--channel": None, "--watch": None}
    index = 0
    while index < len(argv) and argv[index].startswith("-"):
        if argv[index] in ("-h", "--help"):
            print(HELP, end="")
            raise SystemExit(0)
        if argv[index] == "--":
            index += 1
            break
        if argv[index] not in options:
            _usage_error(f"unknown option {argv[index]}")
        if index + 1 >= len(argv):
            _usage_error(f"{argv[index]} needs a FILE")
        options[argv[index]] = argv[index + 1]
        index += 2
    if index >= len(argv):
        _usage_error("give the PROGRAM.py to run")
    if not os.path.isfile(argv[index]):
        _usage_error(f"no such program file: {argv[index]}")
    return options, argv[index], argv[index + 1:]


def _program_traceback(error):
    """The traceback from the program's first frame on, as Python shows a script's, without
    the runtime's innermost frames: PyTorch raises those errors from C++, so its tracebacks
    end at the program's line (set VARLINT_RUNTIME_FULL_TRACEBACK=1 to keep them)."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    if os.environ.get("VARLINT_RUNTIME_FULL_TRACEBACK"):
        return tb
    last_outside = None
    entry = tb
    while entry is not None:
        if not events._is_runtime_file(entry.tb_frame.f_code.co_filename):
            last_outside = entry
        entry = entry.tb_next
    if last_outside is not None:
        last_outside.tb_next = None
    return tb


_ZERO_DIM_INDEX_ERRORS = (
    "too many indices for array: array is 0-dimensional",  # loss.data.numpy()[0]
    "object is not subscriptable",                          # loss.data.tolist()[0]
)


def _note_zero_dim_index_crash(error):
    """Record zero-dim-index for a crash indexing a 0-dim tensor's numpy()/tolist() value.

    Those crashes happen in numpy / Python, where the runtime cannot see the indexing: it
    counts when the program dies of that error on a line that made such a value."""
    if not isinstance(error, (IndexError, TypeError)):
        return
    if not any(text in str(error) for text in _ZERO_DIM_INDEX_ERRORS):
        return
    tb, location = error.__traceback__, None
    while tb is not None:
        if events.is_program_file(tb.tb_frame.f_code.co_filename):
            location = (os.path.abspath(tb.tb_frame.f_code.co_filename), tb.tb_lineno)
        tb = tb.tb_next
    if location in tensor.zero_dim_conversion_sites:
        events.record_at("zero-dim-index", *location,
                         "indexing the value of a 0-dim tensor (numpy()/tolist()) fails")


def _format_like_python(error) -> str:
    """The report of an uncaught exception, produced by Python's own excepthook (so that it
    carries what `traceback` omits, like AttributeError's "Did you mean: ...?")."""
    error.__traceback__ = _program_traceback(error)
    real_stderr, sys.stderr = sys.stderr, io.StringIO()
    try:
        sys.__excepthook__(type(error), error, error.__traceback__)
        return sys.stderr.getvalue()
    finally:
        sys.stderr = real_stderr


def _write_exception(path, final_line):
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(final_line)


class _UndecodableSource(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def _check_decodable(program: str, source: bytes) -> None:
    """Python refuses a source file that is not valid in its declared (or UTF-8) encoding."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    try:
        source.decode(encoding)
    except UnicodeDecodeError as failure:
        line = source[: failure.start].count(b"\n") + 1
        byte = source[failure.start: failure.start + 1]
        raise _UndecodableSource(
            f"SyntaxError: Non-UTF-8 code starting with '\\x{byte.hex()}' in file {program} on "
            f"line {line}, but no encoding declared; see https://peps.python.org/pep-0263/ for "
            "details") from None


def _run_as_main(program: str) -> None:
    """Execute the file as `__main__`, as `python PROGRAM.py` does (runpy.run_path would
    overwrite sys.argv[0] with the absolute path)."""
    with open(program, "rb") as handle:
        source = handle.read()
    _check_decodable(program, source)
    code = compile(source, program, "exec", dont_inherit=True)
    module = types.ModuleType("__main__")
    module.__file__ = program
    module.__builtins__ = builtins
    module.__loader__ = importlib.machinery.SourceFileLoader("__main__", program)
    module.__spec__ = None
    module.__cached__ = None
    sys.modules["__main__"] = module
    exec(code, module.__dict__)


def _send_exception(channel, text, gap, line=0) -> None:
    if channel is not None:
        channel.send({"type": "exception", "text": text, "gap": gap, "line": line})


def _crash_line(error, program: str) -> int:
    """The innermost line of `program` in the exception's traceback (0: none): where the
    program crashed, for `varlint confirm` to tell which diagnostic predicted the crash."""
    tb, line = error.__traceback__, 0
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) == program:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _stop_decided(channel) -> None:
    """Every watched diagnostic is decided: report what ran and end the program right here
    (os._exit: the program's `finally` and `except BaseException` cannot keep it going)."""
    coverage.uninstall()
    history.stop_deciding()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - a closed or replaced stream: nothing to flush
            pass
    if channel is not None:
        channel.send({"type": "lines", "executed": coverage.as_json(), "runs": coverage.watched_runs()})
        channel.send({"type": "stop", "reason": "decided"})
        channel.send({"type": "end"})
    os._exit(0)


_CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)'")
_NO_ATTRIBUTE = re.compile(r"'(\w+)' object has no attribute '(\w+)'")


def _torch_name(module_name: str) -> str | None:
    """The name a program imports a runtime module by (`runtime.nn` -> `torch.nn`)."""
    if module_name == "torch" or module_name.startswith("torch."):
        return module_name
    names = [key for key, module in list(sys.modules.items())
             if (key == "torch" or key.startswith("torch.")) and getattr(module, "__name__", None) == module_name]
    return min(names, key=len) if names else None


def runtime_gap(error) -> str | None:
    """The torch API the runtime lacks, when that is what stopped the program: an attribute
    of a runtime module, tensor or class (`torch.nn.Conv3d`, `Tensor.resize_as_`), or an
    import from `torch`."""
    if isinstance(error, ModuleNotFoundError):
        name = error.name or ""
        return name if name == "torch" or name.startswith("torch.") else None
    if isinstance(error, ImportError):
        match = _CANNOT_IMPORT.search(str(error))
        module = _torch_name(error.name or "")
        return f"{module}.{match.group(1)}" if match and module else None
    if not isinstance(error, AttributeError) or getattr(error, "name", None) is None and not _raised_by_runtime(error):
        return None
    owner = getattr(error, "obj", None)
    if isinstance(owner, types.ModuleType):
        module = _torch_name(owner.__name__)
        return f"{module}.{error.name}" if module else None
    if owner is None:  # raised by a runtime __getattr__ without naming the object
        match = _NO_ATTRIBUTE.search(str(error))
        return f"{match.group(1)}.{match.group(2)}" if match and _raised_by_runtime(error) else None
    cls = owner if isinstance(owner, type) else type(owner)
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] in ("runtime", "torch"):  # runtime classes pose as torch
            return f"{'Tensor' if klass is tensor.Tensor else klass.__name__}.{error.name}"
    return None


def _raised_by_runtime(error) -> bool:
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and events._is_runtime_file(tb.tb_frame.f_code.co_filename)


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # so that the event log is still written on a timeout


def main(argv=None) -> int:
    options, given_path, args = _parse(sys.argv[1:] if argv is None else argv)
    events_path, exception_path, lines_path = (
        options["--events"], options["--exception-file"], options["--lines"])
    program = os.path.abspath(given_path)
    channel = None
    home = os.path.dirname(program)  # first on sys.path, as `python PROGRAM.py` puts it
    if options["--channel"]:
        # the run's settings (the channel's key, the diagnostics to watch) are read, and their
        # file deleted, before any program code runs
        with open(options["--watch"], encoding="utf-8") as handle:
            settings = json.load(handle)
        os.unlink(options["--watch"])
        home = settings.get("home") or home  # a modified copy imports its original's siblings
        channel = events.open_channel(int(options["--channel"]), bytes.fromhex(settings["key"]))
        if settings["diagnostics"]:
            coverage.watch(coverage.Decider(
                program, [(set(d["rows"]), set(d["kinds"])) for d in settings["diagnostics"]],
                settings["runs"], lambda: _stop_decided(channel)))
    loader.install()
    sys.argv = [given_path, *args]  # as `python PROGRAM.py` leaves it; __file__ is absolute
    # `python -m` put the working directory first on sys.path; `python PROGRAM.py` puts the
    # program's directory there instead (the runtime package is already imported)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        sys.path[0] = home
    else:
        sys.path.insert(0, home)
    signal.signal(signal.SIGTERM, _on_sigterm)
    returncode = 0
    exit_request = None
    history.install_append_watch()
    if lines_path or channel is not None:
        coverage.install()
    try:
        _run_as_main(program)
        history.program_ended()
    except SystemExit as request:
        exit_request = request
        if request.code in (None, 0):
            history.program_ended()
        history.stop_deciding()
    except _UndecodableSource as error:
        history.stop_deciding()
        sys.stdout.flush()
        print(error.message, file=sys.stderr)  # Python prints it without a traceback
        _write_exception(exception_path, error.message)
        _send_exception(channel, error.message, None)
        returncode = 1
    except BaseException as error:  # noqa: BLE001 - report anything the program raised
        history.stop_deciding()
        history.uninstall_append_watch()
        _note_zero_dim_index_crash(error)
        gap = runtime_gap(error)  # before the traceback loses the runtime's frames
        crash_line = _crash_line(error, program)
        sys.stdout.flush()
        report = _format_like_python(error)
        sys.stderr.write(report)
        lines = report.strip().splitlines()
        _write_exception(exception_path, lines[-1] if lines else type(error).__name__)
        _send_exception(channel, lines[-1] if lines else type(error).__name__, gap, crash_line)
        returncode = 1
    finally:
        coverage.uninstall()
        history.uninstall_append_watch()
        sys.stdout.flush()
        if events_path:
            events.write_json(events_path)
        if lines_path:
            with open(lines_path, "w", encoding="utf-8") as handle:
                json.dump(coverage.as_json(), handle)
        if channel is not None:
            channel.send({"type": "lines", "executed": coverage.as_json(), "runs": coverage.watched_runs()})
            channel.send({"type": "end"})
    if exit_request is not None:
        raise exit_request
    return returncode


if __name__ == "__main__":
    sys.exit(main())
