"""Arrows point down (../shared/DESIGN.md): the core never imports a tool or a face.

Levels, low to high: errors and checks; initializers and the Layer type; layers; combinators;
tools over any layer; faces. A module may import from its own level or below, never above.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "tinyjax"

LEVELS = {
    "tinyjax._errors": 0,
    "tinyjax._version": 0,
    "tinyjax._checks": 0,
    "tinyjax.initializers": 1,
    "tinyjax.layer": 1,
    "tinyjax.params": 1,
    "tinyjax.linear": 2,
    "tinyjax.activations": 2,
    "tinyjax.dropout": 2,
    "tinyjax.sequential": 3,
    "tinyjax.repeat": 3,
}
TOOLS = 4  # summary, predictor, exporting, serialization, interop, losses, sharding, _templates
FACES = 5  # tinyjax.oop, tinyjax.__main__, the package's __init__


def level(module: str) -> int:
    if module in LEVELS:
        return LEVELS[module]
    if module == "tinyjax" or module.startswith("tinyjax.oop") or module == "tinyjax.__main__":
        return FACES
    return TOOLS


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "tinyjax":  # from tinyjax import submodule
            for alias in node.names:
                is_module = (PACKAGE / f"{alias.name}.py").exists() or (PACKAGE / alias.name).is_dir()
                found.add(f"tinyjax.{alias.name}" if is_module else "tinyjax")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "tinyjax" or name.startswith("tinyjax.")}


def test_every_core_module_is_placed():
    core = {module_name(p) for p in PACKAGE.glob("*.py")} & set(LEVELS)
    assert core == set(LEVELS)


def test_imports_point_down():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = module_name(path)
        for target in imports(path):
            if level(target) > level(here):
                upward.append(f"{here} (level {level(here)}) imports {target} (level {level(target)})")
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_upward_import():
    assert level("tinyjax.linear") < level("tinyjax.summary") < level("tinyjax.oop.modules")
    assert imports(PACKAGE / "predictor.py") >= {"tinyjax.summary", "tinyjax.layer"}
