"""edge/_fastpath.pyi lists exactly what the compiled edge._fastpath exports."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from support.paths import REPO

from edge import _fastpath

STUB = Path(_fastpath.__file__).parent / "_fastpath.pyi"
SOURCE_STUB = REPO / "edge" / "_fastpath.pyi"


def _stub_names() -> dict[str, set[str]]:
    """Top-level names -> public member names (empty for functions)."""
    path = SOURCE_STUB if SOURCE_STUB.exists() else STUB
    tree = ast.parse(path.read_text())
    names: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = {
                item.name
                for item in node.body
                if isinstance(item, ast.FunctionDef) and not item.name.startswith("_")
            }
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = set()
    return names


def _module_names() -> dict[str, set[str]]:
    names: dict[str, set[str]] = {}
    for name, obj in vars(_fastpath).items():
        if name.startswith("_"):
            continue
        if inspect.isclass(obj):
            names[name] = {m for m in vars(obj) if not m.startswith("_")}
        elif callable(obj):
            names[name] = set()
    return names


def test_stub_matches_module() -> None:
    stub, module = _stub_names(), _module_names()
    assert set(stub) == set(module), "top-level names differ between _fastpath.pyi and module"
    for name, members in module.items():
        assert stub[name] == members, f"{name}: stub {sorted(stub[name])} vs {sorted(members)}"


def test_stub_signatures_name_the_same_parameters() -> None:
    tree = ast.parse(SOURCE_STUB.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            doc = getattr(_fastpath, node.name).__doc__ or ""
            for arg in node.args.args:
                assert f"{arg.arg}:" in doc, f"{node.name}: no parameter {arg.arg} in {doc!r}"
