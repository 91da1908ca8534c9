"""Arrows point down (docs/architecture.md): a module imports from its own level or below, never above.

The level of a module is read from where it lives, never from a list:

* ``tinyjax/*.py`` (not ``__init__`` or ``__main__``): foundations, level 0;
* ``tinyjax/nn/``: layers and combinators, level 1;
* ``tinyjax/tools/``: tools over any layer, level 2;
* ``tinyjax/oop/``, ``tinyjax/__init__.py``, ``tinyjax/__main__.py``: faces, level 3.

A module anywhere else has no level, and the test fails until it is placed.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "tinyjax"

FOLDERS = {"nn": 1, "tools": 2, "oop": 3}
FOUNDATIONS, FACES = 0, 3
# Public module paths that tinyjax/__init__.py maps onto their files (import tinyjax.linear ...).
ALIASES = {
    "tinyjax.linear": "tinyjax.nn.linear",
    "tinyjax.losses": "tinyjax.nn.losses",
    "tinyjax.interop": "tinyjax.tools.interop",
    "tinyjax.sharding": "tinyjax.tools.sharding",
    "tinyjax.compress": "tinyjax.tools.compress",
}


def level(module: str) -> int | None:
    """The level of ``tinyjax...`` module ``module``, or None if its place says nothing."""
    module = ALIASES.get(module, module)
    parts = module.split(".")
    if parts[0] != "tinyjax":
        return None
    if module in ("tinyjax", "tinyjax.__main__"):
        return FACES
    if len(parts) == 2 and (PACKAGE / f"{parts[1]}.py").is_file():
        return FOUNDATIONS
    return FOLDERS.get(parts[1])


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    return imports_in(path.read_text(), module_name(path), is_package=path.name == "__init__.py")


def imports_in(source: str, here: str, is_package: bool = False) -> set[str]:
    package = here if is_package else here.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _exists(candidate) else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name == "tinyjax" or name.startswith("tinyjax.")}


def _exists(module: str) -> bool:
    module = ALIASES.get(module, module)
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_level():
    unplaced = [module_name(p) for p in modules() if level(module_name(p)) is None]
    assert not unplaced, f"modules outside the levels' folders (see docs/architecture.md): {unplaced}"


def test_imports_point_down():
    upward = []
    for path in modules():
        here = module_name(path)
        for target in sorted(imports(path)):
            target_level = level(target)
            assert target_level is not None, f"{here} imports {target}, which has no level"
            if target_level > level(here):
                upward.append(f"{here} (level {level(here)}) imports {target} (level {target_level})")
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_upward_import():
    assert level("tinyjax.layer") < level("tinyjax.nn.linear") < level("tinyjax.tools.summary")
    assert level("tinyjax.tools.summary") < level("tinyjax.oop.modules")
    assert level("tinyjax.linear") == level("tinyjax.nn.linear")
    assert level("tinyjax.somewhere_else.module") is None
    assert imports(PACKAGE / "tools" / "predictor.py") >= {"tinyjax.layer"}
    # A layer file that imports a tool, absolutely or relatively, is caught: level 2 seen from level 1.
    for source in ("from tinyjax.tools import summary\n", "from ..tools.summary import summary\n"):
        (target,) = imports_in(source, "tinyjax.nn.new_layer")
        assert level(target) == 2 > level("tinyjax.nn.new_layer")


def test_the_aliases_are_the_files():
    import importlib

    import tinyjax  # noqa: F401  (installs the aliases)

    for public, real in ALIASES.items():
        assert importlib.import_module(public) is importlib.import_module(real)
