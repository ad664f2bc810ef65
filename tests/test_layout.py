"""The code's layout holds what the README's map says: core/ is a few packages by concern, imports between
its modules run one way (no circles, function-local imports included), and core/ never imports Streamlit."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _core_graph() -> dict[str, set[str]]:
    modules = {
        _module_name(path): path for path in CORE.rglob("*.py") if path.parent != CORE or path.stem != "__init__"
    }
    return {
        name: {other for other in _imports(path) if other in modules and other != name}
        for name, path in modules.items()
    }


def test_core_has_at_most_ten_entries_at_its_top_level():
    entries = [entry.name for entry in CORE.iterdir() if entry.name != "__pycache__"]
    assert len(entries) <= 10, sorted(entries)
    for package in (entry for entry in CORE.iterdir() if entry.is_dir() and entry.name != "__pycache__"):
        opening = ast.get_docstring(ast.parse((package / "__init__.py").read_text()))
        assert opening and "May use" in opening, f"core/{package.name}/__init__.py must say what it owns and may use"


def test_core_modules_import_in_one_direction():
    graph = _core_graph()
    state: dict[str, int] = {}  # 1 on the current path, 2 done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for other in sorted(graph[module]):
            if state.get(other) == 1:
                cycle = path[path.index(other) :] + [other]
                raise AssertionError("import circle: " + " -> ".join(cycle))
            if other not in state:
                visit(other, path + [other])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


# Each package may import those before it, never one after it.
LAYERS = ["config", "runs", "keras_file", "drawings", "training", "views", "engine", "live_feed", "cli"]


def test_packages_import_only_those_below_them():
    for module, imported in _core_graph().items():
        for other in imported:
            here, there = module.split(".")[1], other.split(".")[1]
            assert LAYERS.index(there) <= LAYERS.index(here), f"{module} imports {other}, above it"


def test_core_never_imports_streamlit():
    for path in CORE.rglob("*.py"):
        assert not any(name.split(".")[0] == "streamlit" for name in _imports(path)), path


def test_the_readme_stays_a_users_guide_of_at_most_25000_characters():
    assert len((ROOT / "README.md").read_text()) <= 25_000  # measurements go to docs/benchmarks.md
