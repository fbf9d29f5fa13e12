"""One place for writing a focused benchmark's section into ``benchmarks/RESULTS.md``."""
from __future__ import annotations

import os

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "RESULTS.md")


def write_section(text: str, path: str = RESULTS) -> None:
    """Replace (or append) the section whose heading is ``text``'s first line (``## …``),
    leaving the rest of the file as is."""
    head = text.split("\n", 1)[0]
    with open(path) as fh:
        body = fh.read()
    i = body.find(head)
    if i >= 0:
        j = body.find("\n## ", i + len(head))
        body = body[:i] + text.rstrip("\n") + "\n" + ("" if j < 0 else body[j:])
    else:
        body = body.rstrip("\n") + "\n\n" + text
    with open(path, "w") as fh:
        fh.write(body.rstrip("\n") + "\n")
