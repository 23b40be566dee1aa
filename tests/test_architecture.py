"""docs/architecture.json held against the code, with Python's own ``ast``.

The whiteboard names the parts of the package (each some files or folders of
``offpcc_pl/``), the arrows between them and the "never" rules. Here: every package file is
on exactly one part, every import from one part into another is an arrow of the whiteboard
and every arrow an import, no "never" rule is broken, no modules import each other in a
loop, and docs/ARCHITECTURE.md names every module.

An import is read as written, wherever it stands (inside a function or under
``TYPE_CHECKING`` too): an arrow says who names whom. ``importlib.import_module`` with a
constant package prefix (the commands' lazy loading) counts as an import of every module
under that prefix.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = "offpcc_pl"
WHITEBOARD = ROOT / "docs" / "architecture.json"
DOC = ROOT / "docs" / "ARCHITECTURE.md"
KEYS = {"parts", "ideas", "arrows", "never", "notes"}
Graph = dict[str, set[str]]


def package_files(root: Path = ROOT) -> list[str]:
    """Every Python file of the package, as a path from the repository root."""
    return sorted(p.relative_to(root).as_posix() for p in (root / PACKAGE).rglob("*.py"))


def module_name(path: str) -> str:
    """``offpcc_pl/envs/__init__.py`` -> ``offpcc_pl.envs``."""
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_prefix(call: ast.Call, here: str) -> str | None:
    """The constant package prefix of ``importlib.import_module(...)``, if any."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name != "import_module" or not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if not isinstance(arg, ast.JoinedStr):
        return None
    prefix = ""
    for value in arg.values:
        if isinstance(value, ast.Constant):
            prefix += str(value.value)
        elif isinstance(value.value, ast.Name) and value.value.id == "__name__":
            prefix += here
        else:
            break
    return prefix


def imported_files(path: str, modules: dict[str, str], root: Path = ROOT) -> set[str]:
    """The package files ``path`` imports. ``from a import b`` imports module ``a.b`` where
    there is one, else a name of ``a``; ``modules`` maps dotted names to files."""
    found: set[str] = set()
    here = module_name(path)
    for node in ast.walk(ast.parse((root / path).read_text(), filename=path)):
        if isinstance(node, ast.Import):
            found.update(modules.get(alias.name, "") for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                found.add(
                    modules.get(f"{node.module}.{alias.name}") or modules.get(node.module, "")
                )
        elif isinstance(node, ast.Call) and (prefix := _import_prefix(node, here)):
            found.update(file for name, file in modules.items() if name.startswith(prefix))
    return found - {"", path}


def import_graph(root: Path = ROOT) -> Graph:
    """File -> the package files it imports."""
    modules = {module_name(f): f for f in package_files(root)}
    return {path: imported_files(path, modules, root) for path in modules.values()}


def part_of(path: str, parts: dict[str, dict]) -> list[str]:
    """The parts that hold ``path``: those with its longest matching ``is`` entry (a file,
    or a folder ending in ``/``). One, for a whiteboard that places every file."""
    best, holders = -1, []
    for name, part in parts.items():
        for entry in part["is"]:
            if entry == path or (entry.endswith("/") and path.startswith(entry)):
                if len(entry) > best:
                    best, holders = len(entry), [name]
                elif len(entry) == best:
                    holders.append(name)
    return holders


def crossings(graph: Graph, parts: dict[str, dict]) -> dict[tuple[str, str], list[str]]:
    """``(part A, part B)`` -> the imports ``file -> file`` from A into B."""
    found: dict[tuple[str, str], list[str]] = {}
    for source, targets in graph.items():
        for target in sorted(targets):
            a, b = part_of(source, parts), part_of(target, parts)
            if a and b and a[0] != b[0]:
                found.setdefault((a[0], b[0]), []).append(f"{source} -> {target}")
    return found


def broken_nevers(
    found: dict[tuple[str, str], list[str]], nevers: Iterable[list[str]]
) -> list[str]:
    return [
        f"never {a} -> {b} ({why}): {', '.join(found[(a, b)])}"
        for a, b, why in nevers
        if (a, b) in found
    ]


def cycles(graph: Graph) -> list[list[str]]:
    """The groups of files that import each other in a loop (Tarjan's strongly connected
    components of more than one file)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


@pytest.fixture(scope="module")
def whiteboard() -> dict:
    return json.loads(WHITEBOARD.read_text())


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph()


def test_the_whiteboard_is_in_its_format(whiteboard: dict) -> None:
    assert set(whiteboard) <= KEYS
    names = set(whiteboard["parts"]) | set(whiteboard.get("ideas", {}))
    for name, part in whiteboard["parts"].items():
        assert set(part) <= {"is", "says", "at"}, name
        assert part["is"] and all((ROOT / entry).exists() for entry in part["is"]), name
        says = part.get("says", "")
        assert len(says) <= 60 and says.isascii() and "\n" not in says, name
        column, row = part.get("at", (0, 0))
        assert 0 <= column <= 5 and 0 <= row <= 7, name
    for arrow in whiteboard.get("arrows", []) + whiteboard.get("never", []):
        assert arrow[0] in names and arrow[1] in names, arrow


def test_every_package_file_is_on_exactly_one_part(whiteboard: dict) -> None:
    placed = {path: part_of(path, whiteboard["parts"]) for path in package_files()}
    assert not [path for path, holders in placed.items() if len(holders) != 1], placed


def test_every_import_between_parts_is_an_arrow_and_every_arrow_an_import(
    whiteboard: dict, graph: Graph
) -> None:
    found = crossings(graph, whiteboard["parts"])
    ideas = set(whiteboard.get("ideas", {}))
    drawn = {(a, b) for a, b, *_ in whiteboard["arrows"] if not {a, b} & ideas}
    undrawn = {pair: imports for pair, imports in found.items() if pair not in drawn}
    assert not undrawn, f"imports between parts that the whiteboard does not draw: {undrawn}"
    assert drawn <= set(found), f"arrows no import makes: {sorted(drawn - set(found))}"


def test_no_never_rule_is_broken(whiteboard: dict, graph: Graph) -> None:
    found = crossings(graph, whiteboard["parts"])
    assert not broken_nevers(found, whiteboard.get("never", []))


def test_no_modules_import_each_other_in_a_loop(graph: Graph) -> None:
    assert not cycles(graph)


def test_the_architecture_doc_names_every_module() -> None:
    text = DOC.read_text()
    missing = [
        path
        for path in package_files()
        if not path.endswith(("__init__.py", "__main__.py"))
        and path.removeprefix(f"{PACKAGE}/") not in text
    ]
    assert not missing, f"docs/ARCHITECTURE.md's map leaves out {missing}"


def test_the_checks_find_what_they_guard(tmp_path: Path) -> None:
    """On a made-up package: a loop, a broken never rule, an undrawn arrow, a file on no
    part, and an import made through importlib."""
    files = {
        "__init__.py": "",
        "a.py": "from offpcc_pl.b import f\n",
        "b.py": "def f():\n    from offpcc_pl import a\n",
        "c.py": "import importlib\nimportlib.import_module(f'offpcc_pl.sub.{1}')\n",
        "sub/__init__.py": "",
        "sub/d.py": "",
    }
    for name, text in files.items():
        (tmp_path / PACKAGE / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / PACKAGE / name).write_text(text)
    graph = import_graph(tmp_path)
    assert graph["offpcc_pl/a.py"] == {"offpcc_pl/b.py"}
    assert graph["offpcc_pl/b.py"] == {"offpcc_pl/a.py"}
    assert graph["offpcc_pl/c.py"] == {"offpcc_pl/sub/d.py"}
    assert cycles(graph) == [["offpcc_pl/a.py", "offpcc_pl/b.py"]]
    parts = {"A": {"is": ["offpcc_pl/a.py"]}, "B": {"is": ["offpcc_pl/b.py", "offpcc_pl/"]}}
    assert part_of("offpcc_pl/sub/d.py", parts) == ["B"]
    assert part_of("elsewhere.py", parts) == []
    found = crossings(graph, parts)
    assert found == {
        ("A", "B"): ["offpcc_pl/a.py -> offpcc_pl/b.py"],
        ("B", "A"): ["offpcc_pl/b.py -> offpcc_pl/a.py"],
    }
    assert broken_nevers(found, [["A", "B", "why"]]) == [
        "never A -> B (why): offpcc_pl/a.py -> offpcc_pl/b.py"
    ]
