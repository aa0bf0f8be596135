"""Assemble the development corpus of bench/mutants.py from local git mirrors.

    python bench/assemble_repos.py OUT_DIR [--mirror /work/.mirror] [--list bench/repos.txt]

For each `owner/name commit` line of the list (bench/repos.txt), exports the `.py` files of that
commit from the mirror's git directory (`MIRROR/owner+name/repo`, bare, or its `.git`) into
`OUT_DIR/owner+name`. Missing mirrors or commits are reported and skipped. The corpus is
third-party code: keep OUT_DIR outside this repository.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def read_list(path: str) -> list[tuple[str, str]]:
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.split("#", 1)[0].strip()
            if line:
                repo, commit = line.split()
                rows.append((repo, commit))
    return rows


def git_dir(mirror: str, repo: str) -> str | None:
    base = os.path.join(mirror, repo.replace("/", "+"), "repo")
    for candidate in (os.path.join(base, ".git"), base):
        if os.path.isfile(os.path.join(candidate, "HEAD")):
            return candidate
    return None


def export(directory: str, commit: str, target: str) -> int:
    """Write the `.py` files of `commit` under `target`; the number of files. Reads blobs one
    by one (`ls-tree` + `cat-file --batch`): a mirror may lack the large data files."""
    listing = subprocess.run(
        ["git", "--git-dir", directory, "ls-tree", "-r", "-z", commit],
        check=True, capture_output=True,
    ).stdout.decode("utf-8", "surrogateescape")
    files = []
    for row in listing.split("\0"):
        if not row:
            continue
        meta, path = row.split("\t", 1)
        mode, kind, blob = meta.split()
        if kind == "blob" and mode != "120000" and path.endswith(".py") and ".." not in path.split("/"):
            files.append((blob, path))
    request = "".join(f"{blob}\n" for blob, _ in files).encode()
    output = subprocess.run(
        ["git", "--git-dir", directory, "cat-file", "--batch"], input=request,
        check=True, capture_output=True,
    ).stdout
    position = count = 0
    for _blob, path in files:
        newline = output.index(b"\n", position)
        header = output[position:newline].split()
        position = newline + 1
        if header[-1] == b"missing":
            continue
        size = int(header[2])
        data = output[position : position + size]
        position += size + 1
        destination = os.path.join(target, path)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        with open(destination, "wb") as handle:
            handle.write(data)
        count += 1
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--mirror", default="/work/.mirror")
    parser.add_argument("--list", default=os.path.join(HERE, "repos.txt"))
    args = parser.parse_args(argv)
    failures = 0
    for repo, commit in read_list(args.list):
        directory = git_dir(args.mirror, repo)
        if directory is None:
            print(f"{repo}: no mirror under {args.mirror}", file=sys.stderr)
            failures += 1
            continue
        target = os.path.join(args.out, repo.replace("/", "+"))
        os.makedirs(target, exist_ok=True)
        try:
            count = export(directory, commit, target)
        except subprocess.CalledProcessError as error:
            print(f"{repo}: {error.stderr.decode(errors='replace').strip()}", file=sys.stderr)
            failures += 1
            continue
        print(f"{repo}@{commit[:12]}: {count} .py files -> {target}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
