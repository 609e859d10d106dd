"""The shape of the package: the stages are peers over one artifact layer.

training, ensembling, optimization, exporting, benchmarking and prediction each import the shared layers
(settings, rundir, keras_files, fitting, data, models, conversion, runtime, ...) but never one
another; only workflow.py (the pipeline) and cli.py, which drive the stages, import them.
"""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fmnist_edge"
STAGES = ("training", "ensembling", "optimization", "exporting", "benchmarking", "prediction")


def _stage_of(path: Path) -> str | None:
    relative = path.relative_to(PACKAGE)
    name = relative.parts[0].removesuffix(".py")
    return name if name in STAGES else None


def _imported_modules(path: Path) -> set[str]:
    """Every fmnist_edge module a file imports, at the top or inside a function, as a dotted name."""
    package = ["fmnist_edge", *path.relative_to(PACKAGE).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names = [f"{module}.{alias.name}" for alias in node.names] if not node.module or node.level else []
            found.update([module, *names])
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m.startswith("fmnist_edge")}


def test_no_stage_imports_another():
    crossings = []
    for path in sorted(PACKAGE.rglob("*.py")):
        stage = _stage_of(path)
        if stage is None:
            continue
        for module in _imported_modules(path):
            parts = module.split(".")
            other = parts[1] if len(parts) > 1 else None
            if other in STAGES and other != stage:
                crossings.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert crossings == []


def test_the_rule_sees_imports_inside_functions(tmp_path):
    """The checker itself: a deferred import inside a function counts like a top-level one."""
    probe = PACKAGE / "training.py"
    assert "fmnist_edge.keras_files" in _imported_modules(probe)
    assert any(m.startswith("fmnist_edge.data") for m in _imported_modules(PACKAGE / "benchmarking" / "budget.py"))


def test_nothing_in_the_package_reaches_into_the_source_tree():
    """What a command needs ships as package data: no module resolves a path above its package (the checkout's
    shipped/ or web_demo/ are absent from a wheel). tests/test_deploy_install.py runs the commands from one."""
    import re

    reach = re.compile(r"__file__\)[^\n]*\.(parents\[|parent\.parent)")
    package = Path(__file__).resolve().parent.parent / "fmnist_edge"
    offenders = [f"{path.relative_to(package)}:{n}" for path in package.rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1) if reach.search(line)]
    assert offenders == []
