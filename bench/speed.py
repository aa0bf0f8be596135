"""The speed benchmark: varlint against a libcst parse of the same files.

    python bench/corpus.py                 # once: assemble /work/corpus/sdists
    python bench/speed.py [CORPUS] [--repeat 3]

Each measurement runs in a fresh subprocess (start-up included), several times; the table
shows medians of CPU time (user + system of the process and its workers), wall time and peak
memory (max RSS of the main process), and the ratio of CPU time to the libcst parse-only loop.
Rows: parse-only loops (libcst, ast); `check --select ALL` cold in one process and with the
default parallelism; the same with the cache warm; one small file; one file concatenated 1x,
4x and 16x (linear growth); `--fix` and `--diff` on a copy of the corpus.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent

PARSE_LOOP = """
import sys, pathlib, {module}
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.py")):
    try:
        {call}(path.read_text(encoding="utf-8", errors="replace"))
    except Exception:
        pass
"""

VARLINT = "import sys; from varlint.cli import main; sys.argv[0] = 'varlint'; main()"


def measure(arguments: list[str], cwd: Path | None = None) -> tuple[float, float, float]:
    """(cpu seconds, wall seconds, peak MiB) of one subprocess run, its workers included."""
    environment = dict(os.environ, PYTHONPATH=str(REPOSITORY))
    start = time.perf_counter()
    process = subprocess.Popen(arguments, cwd=cwd, env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    # On Linux, wait4's figures include the workers the child waited for.
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024


def varlint_run(*options: str) -> list[str]:
    return [sys.executable, "-c", VARLINT, *options]


def run_rows(label: str, command: list[str], repeat: int, cwd: Path | None = None, setup=None) -> dict:
    cpus, walls, peaks = [], [], []
    for _ in range(repeat):
        if setup is not None:
            setup()
        cpu, wall, peak = measure(command, cwd)
        cpus.append(cpu)
        walls.append(wall)
        peaks.append(peak)
    return {"label": label, "cpu": statistics.median(cpus), "wall": statistics.median(walls),
            "peak": statistics.median(peaks)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=Path("/work/corpus/sdists"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="comma-separated row prefixes to run")
    arguments = parser.parse_args()
    corpus = arguments.corpus.resolve()
    files = sorted(corpus.rglob("*.py"))
    lines = sum(len(p.read_bytes().splitlines()) for p in files)
    print(f"corpus {corpus}: {len(files)} files, {lines} lines; {os.cpu_count()} cores; "
          f"medians of {arguments.repeat} runs; load average {load_average()}")
    work = Path(tempfile.mkdtemp(prefix="varlint-bench-"))
    cache = work / "cache"
    small = work / "small.py"
    small.write_text("import torch\nx = torch.ones(2)\n")
    # The scaling unit: the largest training-loop fixture, concatenated 1x, 4x, 16x.
    unit = max((REPOSITORY / "fixtures" / "VL201").glob("*.py"), key=lambda p: p.stat().st_size)
    scaled = {}
    for factor in (1, 4, 16):
        scaled[factor] = work / f"scaled_{factor}x.py"
        scaled[factor].write_text(unit.read_text() * factor)
    copy = work / "copy"

    def fresh_copy():
        if copy.exists():
            shutil.rmtree(copy)
        shutil.copytree(corpus, copy)

    def clear_cache():
        shutil.rmtree(cache, ignore_errors=True)

    check = ["check", "--select", "ALL", "--exit-zero", "-q"]
    plans = [
        ("libcst parse-only loop", [sys.executable, "-c", PARSE_LOOP.format(module="libcst", call="libcst.parse_module"), str(corpus)], None),
        ("ast parse-only loop", [sys.executable, "-c", PARSE_LOOP.format(module="ast", call="ast.parse"), str(corpus)], None),
        ("check cold, --jobs 1", varlint_run(*check, "--no-cache", "--jobs", "1", str(corpus)), None),
        ("check cold, default jobs", varlint_run(*check, "--no-cache", str(corpus)), None),
        ("check warm cache", varlint_run(*check, "--cache-dir", str(cache), str(corpus)), "warm"),
        ("check one small file", varlint_run(*check, "--no-cache", str(small)), None),
        ("check 1x file", varlint_run(*check, "--no-cache", "--jobs", "1", str(scaled[1])), None),
        ("check 4x file", varlint_run(*check, "--no-cache", "--jobs", "1", str(scaled[4])), None),
        ("check 16x file", varlint_run(*check, "--no-cache", "--jobs", "1", str(scaled[16])), None),
        ("check cold on the copy, --jobs 1", varlint_run(*check, "--no-cache", "--jobs", "1", str(copy)), "copy"),
        ("--fix on the copy, --jobs 1", varlint_run(*check, "--fix", "--jobs", "1", str(copy)), "copy"),
        ("--diff on the copy, --jobs 1", varlint_run(*check, "--diff", "--jobs", "1", str(copy)), "copy"),
    ]
    only = [prefix for prefix in arguments.only.split(",") if prefix]
    rows = []
    for label, command, setup in plans:
        if only and not any(label.startswith(prefix) for prefix in only):
            continue
        if setup == "warm":
            clear_cache()
            measure(varlint_run(*check, "--cache-dir", str(cache), str(corpus)))  # fill it
            row = run_rows(label, command, arguments.repeat)
        elif setup == "copy":
            row = run_rows(label, command, arguments.repeat, setup=fresh_copy)
        else:
            row = run_rows(label, command, arguments.repeat)
        rows.append(row)
        base = next((r for r in rows if r["label"].startswith("libcst")), None)
        ratio = f"{row['cpu'] / base['cpu']:6.2f}x parse" if base else ""
        print(f"{label:<34} cpu {row['cpu']:7.2f} s  wall {row['wall']:7.2f} s  peak {row['peak']:6.0f} MiB  {ratio}",
              flush=True)
    by = {row["label"]: row for row in rows}

    def ratio(a, b, key):
        if a in by and b in by and by[b][key]:
            print(f"  {a} / {b} ({key}): {by[a][key] / by[b][key]:.2f}")

    print("ratios:")
    ratio("check cold, --jobs 1", "libcst parse-only loop", "cpu")
    ratio("check cold, default jobs", "check cold, --jobs 1", "wall")
    ratio("check 16x file", "check 1x file", "cpu")
    ratio("--fix on the copy, --jobs 1", "check cold on the copy, --jobs 1", "cpu")
    ratio("--diff on the copy, --jobs 1", "check cold on the copy, --jobs 1", "cpu")
    print(f"load average at the end: {load_average()}")
    shutil.rmtree(work, ignore_errors=True)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (other work on the machine inflates wall times)."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()
