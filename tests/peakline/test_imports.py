"""The architecture, checked in the import graph of every module of the three packages.

``edge`` (the camera node) never imports ``plant`` (the plant service) and ``plant`` never
imports ``edge``: what they share lives in ``peakline``. The shared core there (``errors``,
``wire``, ``config``, ``mqtt``, ``logs``, ``procs``: everything in ``peakline`` but the
composition root) imports neither; only the ``peakline`` command (``peakline.cli``) and the
whole-plant demo (``peakline.demo``) may start both.

Every ``import`` and ``from ... import`` is read with ``ast``, wherever it stands (top level,
inside functions, under ``if TYPE_CHECKING``), relative ones resolved, and so is a call of
``importlib.import_module`` or ``__import__`` with a literal module name.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from support.paths import REPO

PACKAGES = ("peakline", "edge", "plant")
#: may import edge and plant: they put the system together
COMPOSITION_ROOT = ("peakline.cli", "peakline.demo")
#: the shared core, named so that a rename cannot make the check pass by finding nothing
CORE = ("peakline.errors", "peakline.wire", "peakline.config", "peakline.mqtt",
        "peakline.logs", "peakline.procs")


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module, absolute
    where: str  # path:line

    def __str__(self) -> str:
        return f"{self.where}: {self.module} imports {self.target}"


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module of ``from <level dots><name> import ...`` inside ``module``."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports_of(root: Path, path: Path) -> list[Import]:
    """Every module ``path`` imports (``from m import a`` counts as importing ``m``)."""
    module = module_name(root, path)
    is_package = path.name == "__init__.py"
    out: list[Import] = []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            targets = [_resolve(module, is_package, node.level, node.module) if node.level
                       else node.module or ""]
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            called = (func.attr if isinstance(func, ast.Attribute)
                      else func.id if isinstance(func, ast.Name) else "")
            first = node.args[0]
            if (called in ("import_module", "__import__") and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)):
                targets = [first.value]
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        out.extend(Import(module, t, where) for t in targets if t)
    return out


def import_graph(root: Path) -> list[Import]:
    """The imports of every module of :data:`PACKAGES` under ``root``."""
    return [imp for package in PACKAGES if (root / package).is_dir()
            for path in sorted((root / package).rglob("*.py"))
            for imp in imports_of(root, path)]


def violations(graph: list[Import]) -> list[str]:
    """Each import that crosses the architecture's lines, said in one line."""
    out = []
    for imp in graph:
        src, dst = imp.module.split(".")[0], imp.target.split(".")[0]
        if src == "edge" and dst == "plant":
            out.append(f"{imp} (the camera node must not depend on the plant)")
        elif src == "plant" and dst == "edge":
            out.append(f"{imp} (the plant must not depend on the camera node)")
        elif (src == "peakline" and dst in ("edge", "plant")
              and not any(_within(imp.module, root) for root in COMPOSITION_ROOT)):
            out.append(f"{imp} (the shared core must not depend on {dst})")
    return sorted(set(out))


def test_edge_and_plant_never_import_each_other() -> None:
    graph = import_graph(REPO)
    crossing = [v for v in violations(graph) if not v.startswith("peakline")]
    assert crossing == []


def test_the_shared_core_imports_neither_edge_nor_plant() -> None:
    graph = import_graph(REPO)
    modules = {imp.module for imp in graph}
    for core in CORE:
        assert any(_within(m, core) for m in modules), f"{core} is gone; update CORE"
    assert [v for v in violations(graph) if v.startswith("peakline")] == []


def test_the_whole_graph_is_read() -> None:
    graph = import_graph(REPO)
    modules = {imp.module for imp in graph}
    files = [p for package in PACKAGES for p in (REPO / package).rglob("*.py")]
    assert len(files) > 100
    # every module that imports anything at all was parsed; the package roots were found
    assert {"peakline.wire", "edge.node", "plant.service"} <= modules
    # an import inside a function counts (the demo opens the store lazily) ...
    assert any(i.module == "peakline.demo.line" and i.target == "plant.store" for i in graph)
    # ... and relative imports are resolved to absolute ones
    assert all(not i.target.startswith(".") for i in graph)


def test_the_check_finds_every_kind_of_crossing(tmp_path: Path) -> None:
    files = {
        "edge/__init__.py": "",
        "edge/top.py": "import plant\n",
        "edge/lazy.py": "def f():\n    from plant.store import Store\n    return Store\n",
        "edge/dynamic.py": "import importlib\nstore = importlib.import_module('plant.store')\n",
        "edge/fine.py": "from peakline.wire import Topics\nfrom . import top\n",
        "plant/__init__.py": "",
        "plant/sub/__init__.py": "",
        "plant/sub/node.py": "from edge import node\n",
        "plant/sub/fine.py": "from .. import sub\nfrom ..sub import node\n",
        "peakline/__init__.py": "",
        "peakline/mqtt.py": ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                             "    from plant.config import PlantConfig\n"),
        "peakline/wire/__init__.py": "from edge import wire_helpers\n",
        "peakline/cli.py": "import edge.node\nimport plant.service\n",
        "peakline/demo/__init__.py": "",
        "peakline/demo/line.py": "def run():\n    from plant.store import Store\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = violations(import_graph(tmp_path))
    assert [v.split(": ")[0] for v in found] == [
        "edge/dynamic.py:2", "edge/lazy.py:2", "edge/top.py:1", "peakline/mqtt.py:3",
        "peakline/wire/__init__.py:1", "plant/sub/node.py:1",
    ]
    assert "edge.lazy imports plant.store" in found[1]
    assert "the shared core must not depend on plant" in found[3]
