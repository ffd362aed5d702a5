"""The layers hold: dependencies point down (import-linter's contracts in pyproject.toml), and no import
hides inside a function to dodge a cycle."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from calendars.choices import CalendarProvider, ProfileProviderName
from calendars.scopes import ScopeProvider
from conferencing.models import ConferencingProvider
from core.choices import AccessMode
from directory.models import DirectoryProvider

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


# Behaviour that differs by access mode is a field or method of the mode's policy, and behaviour that
# differs by provider is a trait or a registry entry keyed by provider: comparing modes or providers is
# left to the module that defines the policy, the provider clients, and the outside world (the sandbox,
# and the demo seeding that plays each organization's admin at it).
MODE_COMPARISONS_ALLOWED = ("calendars/access_modes.py",)
PROVIDER_COMPARISONS_ALLOWED = (
    "calendars/providers/",
    "directory/providers/",
    "conferencing/providers/",
    "sandbox/",
    "cronofy_site/demo.py",
    "cronofy_site/demo_directories.py",
)
MODES = ({"AccessMode"}, {"access_mode", "mode", "ceiling"}, {str(mode) for mode in AccessMode})
PROVIDERS = (
    {"CalendarProvider", "DirectoryProvider", "ConferencingProvider", "ScopeProvider", "ProfileProviderName"},
    {"provider", "platform", "provider_name", "provider_service"},
    {
        str(member)
        for choices in (CalendarProvider, DirectoryProvider, ConferencingProvider, ScopeProvider, ProfileProviderName)
        for member in choices
    },
)


def _names_a_choice(node: ast.expr, kind: tuple[set[str], set[str], set[str]]) -> bool:
    """`AccessMode.NO_ACCESS`, or a tuple/list/set holding one (for `in`). `AccessMode.values` is not one:
    checking that input names some mode is validation, not a difference in behaviour."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_a_choice(element, kind) for element in node.elts)
    return (
        isinstance(node, ast.Attribute)
        and node.attr.isupper()
        and isinstance(node.value, ast.Name)
        and node.value.id in kind[0]
    )


def _spells_a_value(node: ast.expr, kind: tuple[set[str], set[str], set[str]]) -> bool:
    """A literal value of the choices ("google", "no_access"), alone or in a tuple/list/set."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_spells_a_value(element, kind) for element in node.elts)
    return isinstance(node, ast.Constant) and node.value in kind[2]


def _is_a_field(node: ast.expr, kind: tuple[set[str], set[str], set[str]]) -> bool:
    name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
    return name in kind[1]


def comparisons(source: str, kind: tuple[set[str], set[str], set[str]]) -> list[int]:
    """Lines comparing against a mode (or a provider): `x == AccessMode.READ_WRITE`, `x in (...)`,
    `service.provider != "google"`, `case CalendarProvider.GOOGLE:`."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if any(_names_a_choice(operand, kind) for operand in operands) or (
                any(_is_a_field(operand, kind) for operand in operands)
                and any(_spells_a_value(operand, kind) for operand in operands)
            ):
                lines.append(node.lineno)
        elif isinstance(node, ast.MatchValue) and _names_a_choice(node.value, kind):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [(MODES, MODE_COMPARISONS_ALLOWED), (PROVIDERS, PROVIDER_COMPARISONS_ALLOWED)],
    ids=["modes", "providers"],
)
def test_modes_and_providers_are_compared_only_by_the_policy_and_the_provider_registries(kind, allowed):
    found = []
    for path in product_modules():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(allowed):
            continue
        found += [f"{relative}:{line}" for line in comparisons(path.read_text(), kind)]
    assert not found, "Ask the access-mode policy or the provider registry instead: " + ", ".join(found)


@pytest.mark.parametrize(
    ("snippet", "kind"),
    [
        ("if profile.access_mode == AccessMode.NO_ACCESS: pass", MODES),
        ("hosted = service.access_mode in (AccessMode.FREE_BUSY, AccessMode.NO_ACCESS)", MODES),
        ("if mode != 'read_write': pass", MODES),
        ("if service.provider == CalendarProvider.GOOGLE: pass", PROVIDERS),
        ("if profile.platform != 'microsoft': pass", PROVIDERS),
        ("match service.provider:\n    case DirectoryProvider.SUCCESSFACTORS:\n        pass", PROVIDERS),
        ("named = provider_name == ProfileProviderName.CRONOFY", PROVIDERS),
    ],
)
def test_the_comparison_check_catches_a_comparison(snippet, kind):
    assert comparisons(snippet, kind) != []


@pytest.mark.parametrize(
    ("snippet", "kind"),
    [
        ("if service.policy.writes_events_natively: pass", MODES),
        ("policy = POLICIES[service.access_mode]", MODES),
        ("client = SERVICE_CLIENTS[service.provider](service)", PROVIDERS),
        ("if kind == 'google_service_account': pass", PROVIDERS),
        ("if mode not in AccessMode.values: raise ValueError", MODES),
    ],
)
def test_the_comparison_check_lets_policy_and_registry_lookups_through(snippet, kind):
    assert comparisons(snippet, kind) == []


# Transaction roles: an entry point (`@transaction.atomic(durable=True)`) is called by a view, an admin
# page, a task or a command, never inside another transaction; Django would refuse at run time, and this
# finds it before a path nobody tested does.
def _atomic_kind(node: ast.expr) -> str | None:
    text = ast.unparse(node)
    if not text.startswith(("transaction.atomic", "atomic")):
        return None
    return "durable" if "durable=True" in text else "atomic"


def _called_names(node: ast.AST) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            func = call.func
            names.add(func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else "")
    return names


def nested_entry_points(sources: dict[str, str]) -> list[str]:
    """`module:line name` for each call of an entry point from inside another transaction, directly or
    through functions it calls (followed by name)."""
    trees = {name: ast.parse(source) for name, source in sources.items()}
    # Decorated, or opening `with transaction.atomic(durable=True):` itself.
    entry_points = {
        function.name
        for tree in trees.values()
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        and (
            any(_atomic_kind(decorator) == "durable" for decorator in function.decorator_list)
            or any(
                isinstance(node, ast.With) and any(_atomic_kind(item.context_expr) == "durable" for item in node.items)
                for node in ast.walk(function)
            )
        )
    }
    # What each module-level function calls, by name, to follow calls through helpers that open no
    # transaction (methods are left out: `post` or `save` would join unrelated code).
    calls: dict[str, set[str]] = {}
    for tree in trees.values():
        for function in tree.body:
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                calls.setdefault(function.name, set()).update(_called_names(function))

    def reached(start: set[str]) -> set[str]:
        seen, todo = set(), list(start)
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += calls.get(name, ())
        return seen

    found = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                _atomic_kind(decorator) for decorator in node.decorator_list
            ):
                bodies: list[ast.AST] = list(node.body)
            elif isinstance(node, ast.With) and any(_atomic_kind(item.context_expr) for item in node.items):
                bodies = list(node.body)
            else:
                continue
            for body in bodies:
                found += [f"{name}:{body.lineno} {called}" for called in reached(_called_names(body)) & entry_points]
    return sorted(set(found))


def test_no_entry_point_is_called_inside_another_transaction():
    sources = {path.relative_to(ROOT).as_posix(): path.read_text() for path in product_modules()}
    assert nested_entry_points(sources) == []


def test_the_transaction_check_catches_a_nested_entry_point():
    services = (
        "@transaction.atomic(durable=True)\ndef thing_change(*, thing): ...\n\n"
        "@transaction.atomic\ndef other_change(*, thing):\n    thing_change(thing=thing)\n"
    )
    view = "def post(request):\n    with transaction.atomic():\n        services.thing_change(thing=1)\n"
    assert nested_entry_points({"services.py": services, "views.py": view}) == [
        "services.py:6 thing_change",
        "views.py:3 thing_change",
    ]
    opening_one = "def thing_authorize():\n    with transaction.atomic(durable=True):\n        pass\n"
    nested = "@transaction.atomic\ndef task():\n    thing_authorize()\n"
    assert nested_entry_points({"services.py": opening_one, "tasks.py": nested}) == ["tasks.py:3 thing_authorize"]
    through_a_helper = "def helper():\n    thing_change(thing=1)\n\n@transaction.atomic\ndef task():\n    helper()\n"
    assert nested_entry_points({"services.py": services, "tasks.py": through_a_helper})[-1] == "tasks.py:6 thing_change"
    assert nested_entry_points({"services.py": services.split("\n\n")[0], "views.py": "thing_change(thing=1)"}) == []
