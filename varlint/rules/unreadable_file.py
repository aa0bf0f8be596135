"""The file could not be read or decoded.

## What it does
Reports a `.py` file that cannot be read (permissions, a directory, an I/O error) or decoded
with its declared encoding (UTF-8 unless a PEP 263 coding cookie says otherwise), or that holds
binary content.

## Why is this bad
varlint cannot check it, and Python cannot import it either.

## Example
A file saved as Latin-1 with a `é` in a comment and no `# -*- coding: latin-1 -*-` line.

## Fix safety
No fix: re-save the file as UTF-8, or declare its encoding with a coding cookie.
"""

from varlint.rule import Rule


class UnreadableFileRule(Rule):
    code = "VL901"
    name = "unreadable-file"
