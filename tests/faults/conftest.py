"""The fault-injection suite: every test here carries the ``faults`` marker.

Faults are real: processes are killed with SIGKILL, servers are stopped and restarted, and bad
input goes through the public interfaces (CLI, configuration files, DAGs, the deployer). Each test
asserts what a user would see: the message, and that nothing stored was lost or half written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.faults)
