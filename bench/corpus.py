"""Assemble the speed benchmark's corpus of legacy (2017-2018) PyTorch code.

    python bench/corpus.py [--cache /work/corpus/sdists] [--out /work/corpus/sdists]

Downloads pinned source distributions from PyPI with `pip download --no-deps --no-binary
:all:` into the cache folder (once; outside the repository), unpacks their Python files into
the output folder, and adds the repository's fixtures and examples. Prints the file and line
counts. Nothing is installed and nothing is written inside the repository.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent

# Pinned releases of 2017-2018, written against the PyTorch 0.2-0.4 API.
SDISTS = [
    "fastai==0.7.0",
    "pyro-ppl==0.1.2",
    "allennlp==0.4.0",
    "torchtext==0.2.3",
    "pytorch-ignite==0.1.0",
    "pytorch-nlp==0.3.0",
    "torchnet==0.0.4",
    "spotlight==0.1.4",
    "pytorch-pretrained-bert==0.4.0",
]


def download(cache: Path) -> list[Path]:
    cache.mkdir(parents=True, exist_ok=True)
    archives = []
    for requirement in SDISTS:
        name, version = requirement.split("==")
        stems = {f"{name}-{version}", f"{name.replace('-', '_')}-{version}"}
        found = [p for p in cache.iterdir() if any(p.name.startswith(stem) for stem in stems)]
        if not found:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
                 "--dest", str(cache), requirement],
                check=True,
            )
            found = [p for p in cache.iterdir() if any(p.name.startswith(stem) for stem in stems)]
        archives.extend(p for p in found if p.name.endswith((".tar.gz", ".zip", ".tgz")))
    return archives


def unpack(archive: Path, out: Path) -> None:
    target = out / archive.name.removesuffix(".tar.gz").removesuffix(".zip").removesuffix(".tgz")
    if target.exists():
        return
    target.mkdir(parents=True)
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.namelist():
                if member.endswith(".py"):
                    (target / member).parent.mkdir(parents=True, exist_ok=True)
                    (target / member).write_bytes(bundle.read(member))
        return
    with tarfile.open(archive) as bundle:
        members = [m for m in bundle.getmembers() if m.isfile() and m.name.endswith(".py")]
        bundle.extractall(target, members=members, filter="data")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/work/corpus/sdists"))
    parser.add_argument("--out", type=Path, default=Path("/work/corpus/sdists"))
    arguments = parser.parse_args()
    for archive in download(arguments.cache):
        unpack(archive, arguments.out / "sdists")
    for folder in ("fixtures", "examples"):
        destination = arguments.out / "repository" / folder
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(REPOSITORY / folder, destination)
    files = sorted(arguments.out.rglob("*.py"))
    lines = sum(len(p.read_bytes().splitlines()) for p in files)
    print(f"{arguments.out}: {len(files)} files, {lines} lines")


if __name__ == "__main__":
    main()
