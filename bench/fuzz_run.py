"""A long fuzz run (issue 14): the fuzz suite's properties over many generated programs.

    nice -n 19 python bench/fuzz_run.py --programs 10000 [--chunk 200] [--log FILE]
    python bench/fuzz_run.py --summary [--log FILE]

The run is split into chunks of programs, each a fresh subprocess with its own hypothesis seed
(the chunk's index), so partial progress counts: every chunk appends one summary line to the
log (JSON lines), every failing program a line of its own with the program text (the
reproducer) and what was wrong, as soon as it is found. A run that is stopped and started
again with the same log goes on at the first chunk not yet logged. A chunk's subprocess that
dies (a crash of the parser, say) is logged with the program it was on.

Each chunk draws half its programs from the legacy-idiom generator and a quarter each from
hypothesmith's grammar and CST-node strategies, as tests/test_fuzz.py does; the properties are
tests/fuzz_programs.problems. A program that takes longer than --timeout seconds is a failure
("hang"). Programs are not shrunk: the log keeps each as generated.
"""

from __future__ import annotations

import argparse
import collections
import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
DEFAULT_LOG = Path(tempfile.gettempdir()) / "varlint-fuzz.jsonl"
SHARES = (("legacy", 0.5), ("grammar", 0.25), ("node", 0.25))


class Hang(Exception):
    pass


def strategies():
    sys.path.insert(0, str(REPOSITORY / "tests"))
    import fuzz_programs
    import hypothesmith

    return {"legacy": fuzz_programs.legacy_programs(), "grammar": hypothesmith.from_grammar(),
            "node": hypothesmith.from_node()}, fuzz_programs.problems


def run_chunk(index: int, size: int, timeout: float, log: Path, current: Path) -> None:
    """Check `size` programs with hypothesis seed `index`; append failures and a summary."""
    from hypothesis import HealthCheck, given, seed, settings

    generators, problems = strategies()
    warnings.simplefilter("ignore")  # compile() of generated code warns (SyntaxWarning) a lot
    tried = collections.Counter()
    failures = 0

    def on_alarm(signum, frame):
        raise Hang()

    signal.signal(signal.SIGALRM, on_alarm)
    started = time.monotonic()
    counts = {kind: int(size * share) for kind, share in SHARES}
    counts["legacy"] += size - sum(counts.values())  # the chunk's programs add up to `size`
    for kind, _share in SHARES:
        @seed(index * 7919 + len(kind))
        @settings(max_examples=max(1, counts[kind]), deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(generators[kind])
        def one(text):
            nonlocal failures
            tried[kind] += 1
            current.write_text(json.dumps({"chunk": index, "kind": kind, "program": text}))
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                with tempfile.TemporaryDirectory() as directory:
                    found = problems(text, directory)
            except Hang:
                found = [f"hang: more than {timeout:g} s"]
            except Exception as error:  # the properties' own code failing is a finding too
                found = [f"exception: {type(error).__name__}: {error}"]
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            if found:
                failures += 1
                append(log, {"failure": found, "chunk": index, "kind": kind, "program": text})

        one()
    append(log, {"chunk": index, "tried": dict(tried), "programs": sum(tried.values()),
                 "failures": failures, "seconds": round(time.monotonic() - started, 1)})
    current.unlink(missing_ok=True)


def append(log: Path, record: dict) -> None:
    with open(log, "a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # chunks of parallel workers share the log
        handle.write(json.dumps(record) + "\n")


def read(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def summary(log: Path) -> str:
    records = read(log)
    chunks = [r for r in records if "tried" in r]
    kinds = collections.Counter()
    for chunk in chunks:
        kinds.update(chunk["tried"])
    failures = [r for r in records if "failure" in r]
    distinct = collections.Counter(_signature(r["failure"]) for r in failures)
    lines = [f"chunks: {len(chunks)}, programs tried: {sum(c['programs'] for c in chunks)} "
             f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}), "
             f"seconds: {sum(c['seconds'] for c in chunks):.0f}",
             f"failing programs: {len(failures)}, distinct findings: {len(distinct)}"]
    lines += [f"  {count:5}x {signature}" for signature, count in distinct.most_common()]
    return "\n".join(lines)


def _signature(found: list[str]) -> str:
    return " | ".join(sorted({f.split(":")[0] + ":" + f.split(":")[1][:80] if ":" in f else f for f in found}))


def _current(log: Path, index: int) -> Path:
    """Where chunk `index` keeps the program it is on (to name it if the process dies)."""
    return log.with_name(f"{log.stem}.chunk{index}.current.json")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=200, help="programs per chunk (one seed each)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per program")
    parser.add_argument("--log", type=Path, default=DEFAULT_LOG)
    parser.add_argument("--workers", type=int, default=1, help="chunks run at once")
    parser.add_argument("--summary", action="store_true", help="print what the log holds and stop")
    parser.add_argument("--run-chunk", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.summary:
        print(summary(arguments.log))
        return 0
    if arguments.run_chunk is not None:
        run_chunk(arguments.run_chunk, arguments.chunk, arguments.timeout, arguments.log,
                  _current(arguments.log, arguments.run_chunk))
        return 0
    done = {r["chunk"] for r in read(arguments.log) if "tried" in r}
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")])}
    pending = [index for index in range((arguments.programs + arguments.chunk - 1) // arguments.chunk)
               if index not in done]
    running: dict[int, subprocess.Popen] = {}
    while pending or running:
        while pending and len(running) < arguments.workers:
            index = pending.pop(0)
            running[index] = subprocess.Popen(
                [sys.executable, __file__, "--run-chunk", str(index), "--chunk", str(arguments.chunk),
                 "--timeout", str(arguments.timeout), "--log", str(arguments.log)], env=environment)
        time.sleep(1)
        for index, process in list(running.items()):
            status = process.poll()
            if status is None:
                continue
            del running[index]
            if status != 0:
                where = _current(arguments.log, index)
                last = json.loads(where.read_text()) if where.exists() else {}
                append(arguments.log, {"failure": [f"chunk process died with status {status}"], **last})
                append(arguments.log, {"chunk": index, "tried": {}, "programs": 0, "failures": 1,
                                       "seconds": 0, "died": status})
            print(time.strftime("%H:%M:%S"), summary(arguments.log).splitlines()[0], flush=True)
    print(summary(arguments.log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
