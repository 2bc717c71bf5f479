"""The test suite's own layout: what pytest's prepend import mode (pyproject) relies on."""
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_test_module_names_are_unique():
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert [n for n, c in names.items() if c > 1] == []


def test_tests_are_not_a_package():
    assert list(TESTS.rglob("__init__.py")) == []


def test_pyblish_imports_under_the_configured_import_mode(pytestconfig):
    """pyblish puts a six importer without find_spec on sys.meta_path; importlib mode breaks on it."""
    import pyblish.api  # noqa: F401

    assert pytestconfig.getoption("importmode") != "importlib"
