"""The layers hold: dependencies point down (import-linter's contracts in pyproject.toml), and no import
hides inside a function to dodge a cycle."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("core", "accounts", "calendars", "directory", "conferencing", "bookings", "connect", "cronofy_site")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def product_modules() -> list[Path]:
    paths = []
    for package in (*PRODUCT_PACKAGES, "sandbox"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts or "testing.py" in parts:
                continue
            paths.append(path)
    return paths


def _is_app_ready(function: ast.FunctionDef | ast.AsyncFunctionDef, path: Path) -> bool:
    # Django's documented place for connecting signal receivers: AppConfig.ready imports them.
    return path.name == "apps.py" and function.name == "ready"


def test_no_product_module_imports_inside_a_function():
    found = []
    for path in product_modules():
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef) or _is_app_ready(function, path):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "Imports inside functions (move them to the top, or fix the layering): " + ", ".join(found)


def test_the_layer_contracts_hold():
    result = subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "upward_import", "broken"),
    [
        ("calendars/models.py", "import bookings.models", "calendars is not allowed to import bookings"),
        ("accounts/services.py", "import calendars.services", "accounts is not allowed to import calendars"),
        ("core/encryption.py", "import accounts.models", "core is not allowed to import accounts"),
        ("directory/models.py", "import conferencing.models", "directory is not allowed to import conferencing"),
        ("calendars/providers/base.py", "import calendars.models", "Provider clients are leaves"),
        ("sandbox/models.py", "import calendars.models", "The sandbox stands in for the outside world"),
    ],
)
def test_an_upward_import_breaks_a_contract(tmp_path, module, upward_import, broken):
    """The contracts are not vacuous: the same tree with one forbidden import added fails them."""
    for package in (*PRODUCT_PACKAGES, "sandbox"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{upward_import}  # noqa\n")
    result = subprocess.run([LINT_IMPORTS, "--no-cache"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode != 0
    assert broken in result.stdout
