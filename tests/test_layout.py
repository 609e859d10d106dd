"""The shape of the package that import rules cannot express. The layer rules themselves (the stages are
peers over shared layers; the deploy-side modules never import TensorFlow) are import-linter contracts in
pyproject.toml, checked by `lint-imports` in make test.
"""
from pathlib import Path


def test_nothing_in_the_package_reaches_into_the_source_tree():
    """What a command needs ships as package data: no module resolves a path above its package (the checkout's
    shipped/ or web_demo/ are absent from a wheel). tests/test_deploy_install.py runs the commands from one."""
    import re

    reach = re.compile(r"__file__\)[^\n]*\.(parents\[|parent\.parent)")
    package = Path(__file__).resolve().parent.parent / "fmnist_edge"
    offenders = [f"{path.relative_to(package)}:{n}" for path in package.rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1) if reach.search(line)]
    assert offenders == []
