"""Issue 14: the package's import graph has no cycles (the import-linter contracts in
pyproject.toml order the layers; this also covers modules within one layer)."""
from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp")     # installed with import-linter (test extras)


def _cycles(graph) -> list:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.find_modules_directly_imported_by(w)))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycles():
    graph = grimp.build_graph("accountant")
    assert len(graph.modules) > 40          # the scan found the package
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    class G:
        modules = {"a", "b", "c"}

        @staticmethod
        def find_modules_directly_imported_by(m):
            return {"a": {"b"}, "b": {"a"}, "c": set()}[m]
    assert _cycles(G()) == [["a", "b"]]


# ---- Issue 14, item 4: public functions carry type hints ---------------------------------

import ast                      # noqa: E402
import pathlib                  # noqa: E402

_PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "accountant"


def _static_all(tree: ast.Module):
    """The names in a literal module-level ``__all__`` (``None`` if there is none)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            if isinstance(node.value, (ast.List, ast.Tuple)):
                return {e.value for e in node.value.elts
                        if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return None


def _unannotated(source: str, where: str = "<src>") -> list:
    """``where:qualname`` of each public function/method missing a parameter or return
    annotation. Public: name not starting with ``_`` (``__init__`` of a public class counts),
    defined at module level (and listed in ``__all__`` when the module has one) or in a
    public class; ``self``/``cls`` and ``*args``/``**kwargs`` need no annotation."""
    tree = ast.parse(source)
    exported = _static_all(tree)
    out = []

    def check(fn, qualname, method):
        params = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
        is_static = any(isinstance(d, ast.Name) and d.id == "staticmethod"
                        for d in fn.decorator_list)
        if method and not is_static and params and params[0].arg in ("self", "cls"):
            params = params[1:]
        missing = [a.arg for a in params if a.annotation is None]
        if fn.returns is None:
            missing.append("return")
        if missing:
            out.append(f"{where}:{qualname} ({', '.join(missing)})")

    def visit_class(cls, prefix):
        for node in cls.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if not node.name.startswith("_") or node.name == "__init__":
                    check(node, f"{prefix}.{node.name}", method=True)
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                visit_class(node, f"{prefix}.{node.name}")

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not node.name.startswith("_") and (exported is None or node.name in exported):
                check(node, node.name, method=False)
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            visit_class(node, node.name)
    return out


def _public_modules():
    for path in sorted(_PACKAGE.rglob("*.py")):
        if path.name.startswith("_") and path.name != "__init__.py":
            continue                 # numba kernel modules and private helpers
        yield path


def test_public_functions_carry_type_hints():
    modules = list(_public_modules())
    assert len(modules) > 30                 # the walk found the package
    missing = []
    for path in modules:
        rel = path.relative_to(_PACKAGE.parent).as_posix()
        missing += _unannotated(path.read_text(encoding="utf-8"), rel)
    assert missing == [], "public functions without type hints:\n" + "\n".join(missing)


def test_the_type_hint_checker_flags_a_bare_function():
    src = (
        "__all__ = ['f', 'g', 'h', 'C']\n"
        "def f(x, y: int) -> int: ...\n"                   # x unannotated
        "def g(x: int): ...\n"                              # no return annotation
        "def h(x: int, *args, **kw) -> None: ...\n"         # fine
        "def k(x): ...\n"                                   # not in __all__: skipped
        "def _p(x): ...\n"                                  # private: skipped
        "class C:\n"
        "    def __init__(self, a): ...\n"                  # a unannotated, no return
        "    def m(self, b: int) -> int: ...\n"             # fine
        "    @classmethod\n"
        "    def make(cls, z) -> 'C': ...\n"                # z unannotated
        "    def _q(self, w): ...\n"                        # private: skipped
        "class _D:\n"
        "    def m(self, w): ...\n"                         # private class: skipped
    )
    assert _unannotated(src) == [
        "<src>:f (x)", "<src>:g (return)", "<src>:C.__init__ (a, return)", "<src>:C.make (z)",
    ]
