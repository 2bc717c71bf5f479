"""Layering: the core (runtime/, nodes/) never imports a host adapter (plugin/), and runtime/ never imports nodes/."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module(path: Path) -> list[str]:
    parts = ["talkinghead", *path.relative_to(ROOT).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def imported_modules(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports (relative imports resolved)."""
    here = _module(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def _violations(folder: str, forbidden: str) -> list[str]:
    return sorted(f"{p.relative_to(ROOT)} imports {m}" for p in (ROOT / folder).rglob("*.py")
                  for m in imported_modules(p) if m == forbidden or m.startswith(forbidden + "."))


def test_core_never_imports_plugin():
    assert _violations("nodes", "talkinghead.plugin") + _violations("runtime", "talkinghead.plugin") == []


def test_runtime_never_imports_nodes():
    assert _violations("runtime", "talkinghead.nodes") == []


def test_the_scanner_sees_relative_imports(tmp_path):
    """The check itself: a relative import two levels up is resolved (a broken scanner would pass anything)."""
    found = imported_modules(ROOT / "nodes" / "export" / "person_export.py")
    assert "talkinghead.runtime.errors" in found
