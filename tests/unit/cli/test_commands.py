"""include/cli/commands: the monitoring commands called directly, without the parser.

Everything they print through ``python -m include.cli`` is tested in tests/unit/test_cli*.py,
tests/unit/test_own_models_cli.py and tests/unit/model/test_register_command.py.
"""

from __future__ import annotations

import argparse

from include.cli.commands import EXIT_CODES, models_command
from include.tutorial import TUTORIAL_CONFIG_PATH


def test_models_lists_the_tutorial_of_the_default_folder(home, capsys) -> None:
    assert models_command(None, argparse.Namespace()) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"models in {TUTORIAL_CONFIG_PATH.parent}: 1 of 1 file(s)"
    assert out[1].startswith("  fraud_authorization (fraud_tutorial.yaml): source train, store ")
    assert out[1].endswith("DAGs data_drift_monitor, recursive_mes")


def test_a_broken_file_makes_models_exit_two(home, tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "broken.yaml").write_text("name: [")
    monkeypatch.setenv("MES_CONFIG_DIR", str(tmp_path))
    assert models_command(None, argparse.Namespace()) == 2
    assert "broken.yaml: CANNOT BE READ" in capsys.readouterr().out


def test_each_outcome_has_its_exit_code() -> None:
    assert EXIT_CODES == {"OK": 0, "WARNING": 3, "ERROR": 4, "EMPTY": 5}
