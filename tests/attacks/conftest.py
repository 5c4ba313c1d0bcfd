"""The attack suite: each test attacks a real broker, plant or node the way a finding of
issue 14 describes, and asserts the fixed behaviour (``pytest -m attacks`` runs them alone).

Every test in this folder carries the ``attacks`` marker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.attacks)
