"""Citations of docs/math.md in the package's docstrings and comments point at real sections.

Docstrings and comments cite the mathematics as ``docs/math.md §N`` (or ``§N.M`` for a
subsection, several as ``§1, §4``). This test fails when such a citation names a section
that docs/math.md has no heading for (``## N.`` / ``### N.M``), when the § reference after
a citation is missing or not a number, or when the retired ``notes/math.md`` (or any path
other than docs/math.md) is cited.
"""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MATH = ROOT / "docs" / "math.md"
PACKAGE = ROOT / "accountant"

# A citation: the path, then any run of section references "§N", "§N.M", separated by
# commas, semicolons, "and" or spaces (a reference may also be §"Name": caught below).
_CITE = re.compile(r"(?P<path>[\w./-]*math\.md)(?P<tail>[^\n]*)")
_REFS = re.compile(r"^[\s,;:]*(?:and\s+|see\s+)?§")
_SECTION = re.compile(r"§\s*(?P<ref>[^\s,;:)]*)")


def _headings():
    """Section numbers with a heading in docs/math.md: "## N." and "### N.M"."""
    found = set()
    for line in MATH.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^##\s+(\d+)\.\s", line)
        if m:
            found.add(m.group(1))
        m = re.match(r"^###\s+(\d+\.\d+)\s", line)
        if m:
            found.add(m.group(1))
    return found


def _doc_texts(path):
    """(line, text) of every comment and string literal (docstrings included) of a file."""
    src = path.read_text(encoding="utf-8")
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type in (tokenize.COMMENT, tokenize.STRING):
            yield tok.start[0], tok.string


def _section_refs(tail):
    """The § references that directly follow a citation (a run such as " §1, §4")."""
    refs = []
    rest = tail
    while _REFS.match(rest):
        m = _SECTION.search(rest)
        ref = m.group("ref")
        refs.append(ref)
        rest = rest[m.end():]
    return refs


def _citations():
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, text in _doc_texts(path):
            for k, part in enumerate(text.splitlines()):
                for m in _CITE.finditer(part):
                    where = f"{path.relative_to(ROOT)}:{line + k}"
                    yield where, m.group("path"), _section_refs(m.group("tail"))


def test_math_md_has_numbered_sections():
    found = _headings()
    top = sorted(int(s) for s in found if "." not in s)
    assert top == list(range(1, len(top) + 1)) and len(top) >= 9, top


def test_citations_point_at_existing_sections():
    found = _headings()
    cites = list(_citations())
    assert cites, "no citation of docs/math.md found in accountant/: the scan is broken"
    bad = []
    for where, path, refs in cites:
        if path != "docs/math.md":
            bad.append(f"{where}: cites {path!r} (the mathematics lives in docs/math.md)")
        if not refs:
            bad.append(f"{where}: cites {path} without a section number (§N)")
        for ref in refs:
            ref = ref.rstrip(".")
            if not re.fullmatch(r"\d+(\.\d+)?", ref):
                bad.append(f"{where}: section reference §{ref} is not a number")
            elif ref not in found:
                bad.append(f"{where}: docs/math.md has no section §{ref}")
    assert not bad, "\n".join(bad)


def test_no_notes_math_md():
    bad = [where for where, path, _ in _citations() if path.endswith("notes/math.md")]
    assert not bad, "notes/math.md is not part of the project; cite docs/math.md §N: " + \
        ", ".join(bad)


def test_scanner_catches_bad_citations():
    # The checks above are only as good as the parsing: exercise it on known inputs.
    assert _section_refs(" §1, §4): grid") == ["1", "4"]
    assert _section_refs(" §6.5 unit values") == ["6.5"]
    assert _section_refs(' §"Domain")') == ['"Domain"']
    assert _section_refs(", \"Noise lookup table\")") == []
    assert _section_refs("; accountant.accountants.exact)") == []
    found = _headings()
    assert "8" in found and "4.2" in found and "99" not in found


def test_long_modules_say_why():
    """Issue 14: no library module above ~500 lines without a reason written at its top (a
    "Size:" paragraph in its docstring)."""
    import ast
    root = Path(__file__).resolve().parent.parent / "accountant"
    missing = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") <= 500:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if "\nSize:" not in "\n" + doc:
            missing.append(f"{path.relative_to(root.parent)}: {text.count(chr(10))} lines")
    assert not missing, "long modules without a 'Size:' reason:\n" + "\n".join(missing)
