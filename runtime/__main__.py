"""`python -m runtime [--events FILE] PROGRAM.py [args...]`: run a program on the runtime.

The program runs as `__main__` with `sys.argv = [PROGRAM, *args]`, its directory first on
sys.path, and `torch` served by the runtime. Its stdout is exactly what it prints. An
uncaught exception prints a Python-style traceback to stderr (without this launcher's frames)
and exits 1. `--events FILE` writes the event log as JSON, also when the program crashed.
(`--exception-file FILE` is used by `runtime.run()`: it receives the exception's final line.)
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import traceback

from . import events, history, loader

USAGE = "usage: python -m runtime [--events FILE] PROGRAM.py [args...]"


def _parse(argv):
    options = {"--events": None, "--exception-file": None}
    index = 0
    while index < len(argv) and argv[index] in options:
        if index + 1 >= len(argv):
            raise SystemExit(USAGE)
        options[argv[index]] = argv[index + 1]
        index += 2
    if index >= len(argv):
        raise SystemExit(USAGE)
    return options["--events"], options["--exception-file"], argv[index], argv[index + 1:]


def _program_traceback(error):
    """The traceback from the program's first frame on, as Python shows a script's."""
    tb = error.__traceback__
    while tb is not None and (tb.tb_frame.f_code.co_filename == __file__
                              or os.path.basename(tb.tb_frame.f_code.co_filename) == "runpy.py"):
        tb = tb.tb_next
    return tb


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # so that the event log is still written on a timeout


def main(argv=None) -> int:
    events_path, exception_path, program, args = _parse(sys.argv[1:] if argv is None else argv)
    program = os.path.abspath(program)
    loader.install()
    sys.argv = [program, *args]
    sys.path.insert(0, os.path.dirname(program))
    signal.signal(signal.SIGTERM, _on_sigterm)
    returncode = 0
    exit_request = None
    history.install_append_watch()
    try:
        runpy.run_path(program, run_name="__main__")
    except SystemExit as request:
        exit_request = request
    except BaseException as error:  # noqa: BLE001 - report anything the program raised
        history.uninstall_append_watch()
        sys.stdout.flush()
        traceback.print_exception(type(error), error, _program_traceback(error))
        if exception_path:
            lines = "".join(traceback.format_exception_only(type(error), error)).strip()
            final_line = lines.splitlines()[-1] if lines else type(error).__name__
            with open(exception_path, "w", encoding="utf-8") as handle:
                handle.write(final_line)
        returncode = 1
    finally:
        history.uninstall_append_watch()
        sys.stdout.flush()
        if events_path:
            events.write_json(events_path)
    if exit_request is not None:
        raise exit_request
    return returncode


if __name__ == "__main__":
    sys.exit(main())
