"""Physical lines as libcst and the positions count them: `\r\n`, `\r` or `\n` ends a line.

(A module of its own so that printing diagnostics needs neither libcst nor the fix engine.)
"""

from __future__ import annotations

import re

NEWLINE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """Physical lines as libcst counts them (\\r\\n, \\r or \\n), without their newline."""
    return NEWLINE.split(text)


def line_starts(text: str) -> list[int]:
    """The offset in `text` where each physical line starts (the first line's: 0)."""
    return [0] + [match.end() for match in NEWLINE.finditer(text)]
