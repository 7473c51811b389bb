"""The documents package depends on the domain and the extensions, not on the web layer."""

import ast
from pathlib import Path

import pytest

import govern.documents

MODULES = sorted(Path(govern.documents.__file__).parent.glob("*.py"))


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=[path.name for path in MODULES])
def test_documents_do_not_import_the_web_layer(path):
    assert "govern.web" not in imported_modules(path)
