"""The CLI answers --help, usage and configuration errors, and ``models``, without heavy libraries.

They took 2-3 s because the CLI imported pandas, scikit-learn, scipy and SQLAlchemy before it
parsed its arguments. Each case runs the real CLI in a fresh Python, as ``python -m include.cli``
does (through runpy), then lists the heavy libraries in ``sys.modules``. No time is asserted
(benchmarks/cli_startup.py measures it); asserted is what a user sees: the message, the exit
code, no traceback, nothing written, and that nothing heavy was imported to say it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from include.cli import DEFERRED_LIBRARIES

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL_CONFIG = ROOT / "include" / "tutorial" / "fraud_tutorial.yaml"
HEAVY = DEFERRED_LIBRARIES
COMMANDS = ("generate", "demo", "train", "register", "evaluate", "show", "models", "check")
# Runs the CLI as ``python -m include.cli`` does, writes the heavy libraries it left imported to
# the file named by the first argument, and exits with the CLI's exit code.
PROBE = f"""
import json, runpy, sys
out, sys.argv = sys.argv[1], ["include.cli", *sys.argv[2:]]
try:
    runpy.run_module("include.cli", run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as exc:
    code = exc.code
with open(out, "w") as handle:
    json.dump([name for name in {HEAVY!r} if name in sys.modules], handle)
sys.exit(code)
"""


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    heavy: list[str]


@pytest.fixture
def home(tmp_path) -> Path:
    """The MES_HOME of the runs; a command that fails on its configuration never creates it."""
    return tmp_path / "home"


@pytest.fixture
def cli(tmp_path, home):
    def run(*arguments: str, **env: str) -> Run:
        out = tmp_path / "heavy.json"
        out.unlink(missing_ok=True)
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
        environment.update(PYTHONPATH=str(ROOT), MES_HOME=str(home), **env)
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(out), *arguments],
            env=environment,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert out.exists(), f"the CLI did not return: {done.stderr}"
        return Run(done.returncode, done.stdout, done.stderr, json.loads(out.read_text()))

    return run


def test_help_lists_the_commands_without_heavy_libraries(cli) -> None:
    run = cli("--help")
    assert (run.code, run.stderr, run.heavy) == (0, "", [])
    assert run.stdout.startswith("usage: python -m include.cli")
    for command in COMMANDS:
        assert f"    {command} " in run.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_a_commands_help_without_heavy_libraries(cli, command) -> None:
    run = cli(command, "--help")
    assert (run.code, run.stderr, run.heavy) == (0, "", [])
    assert run.stdout.startswith(f"usage: python -m include.cli {command}")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("evaluat",), ": error: argument command: invalid choice: 'evaluat'"),
        (
            ("--config", "a.yaml", "--model", "b", "show"),
            ": error: argument --model: not allowed with argument --config",
        ),
        (
            ("check", "2017Q4", "--evaluation", "e1"),
            " check: error: argument --evaluation: not allowed with argument period",
        ),
    ],
    ids=["unknown command", "--config and --model", "period and --evaluation"],
)
def test_a_usage_error_without_heavy_libraries(cli, home, arguments, message) -> None:
    run = cli(*arguments)
    assert (run.code, run.stdout, run.heavy) == (2, "", [])
    assert run.stderr.startswith("usage: python -m include.cli")
    assert message in run.stderr
    assert not home.exists()


def _tutorial_with(tmp_path: Path, name: str, old: str, new: str) -> Path:
    text = TUTORIAL_CONFIG.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


def _typo(tmp_path: Path) -> tuple[list[str], dict[str, str], str]:
    path = _tutorial_with(tmp_path, "typo.yaml", "\nname:", "\nnmae:")
    return (
        ["evaluate", "2017Q2"],
        {"MES_CONFIG": str(path)},
        f"error: {path} is invalid: name: Field required; nmae: Extra inputs are not permitted\n",
    )


def _not_yaml(tmp_path: Path) -> tuple[list[str], dict[str, str], str]:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\n  label: [\n")
    return (
        ["show"],
        {"MES_CONFIG": str(path)},
        f"error: configuration file {path} is not valid YAML: mapping values are not allowed",
    )


def _not_a_mapping(tmp_path: Path) -> tuple[list[str], dict[str, str], str]:
    path = tmp_path / "list.yaml"
    path.write_text("- name\n- label\n")
    return (
        ["check"],
        {"MES_CONFIG": str(path)},
        f"error: configuration file {path} must hold a mapping of settings\n",
    )


def _missing_env(tmp_path: Path) -> tuple[list[str], dict[str, str], str]:
    path = tmp_path / "absent.yaml"
    return (
        ["evaluate", "2017Q2"],
        {"MES_CONFIG": str(path)},
        f"error: cannot read configuration file {path}: No such file or directory\n",
    )


def _missing_option(tmp_path: Path) -> tuple[list[str], dict[str, str], str]:
    path = tmp_path / "absent.yaml"
    return (
        ["--config", str(path), "train"],
        {},
        f"error: cannot read configuration file {path}: No such file or directory\n",
    )


def _unknown_metric(tmp_path: Path) -> tuple[list[str], dict[str, str], str]:
    path = _tutorial_with(tmp_path, "metric.yaml", "metric: data_drift", "metric: data_drfit")
    return (
        ["check", "2017Q4"],
        {"MES_CONFIG": str(path)},
        "check 'data drift < 0.45': no evaluation can have metric 'data_drfit'; metrics are",
    )


def _unknown_model(tmp_path: Path) -> tuple[list[str], dict[str, str], str]:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "fraud.yaml").write_text(TUTORIAL_CONFIG.read_text())
    (folder / "half.yaml").write_text("name: half\n")
    return (
        ["--model", "fraud", "evaluate"],
        {"MES_CONFIG_DIR": str(folder)},
        f"error: no model 'fraud' in the configuration folder {folder}; its models: "
        "fraud_authorization; files that cannot be read: half.yaml: ",
    )


@pytest.mark.parametrize(
    "case",
    [
        _typo,
        _not_yaml,
        _not_a_mapping,
        _missing_env,
        _missing_option,
        _unknown_metric,
        _unknown_model,
    ],
    ids=lambda case: case.__name__.strip("_").replace("_", " "),
)
def test_a_configuration_error_is_clear_and_imports_nothing_heavy(
    cli, home, tmp_path, case
) -> None:
    arguments, env, message = case(tmp_path)
    run = cli(*arguments, **env)
    assert (run.code, run.stdout, run.heavy) == (2, "", [])
    assert run.stderr.startswith("error: ")
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert not home.exists()


def test_models_lists_a_broken_file_without_heavy_libraries(cli, home, tmp_path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "fraud.yaml").write_text(TUTORIAL_CONFIG.read_text())
    (folder / "half.yaml").write_text("name: half\n")
    run = cli("models", MES_CONFIG_DIR=str(folder), MES_CONFIG=str(tmp_path / "absent.yaml"))
    assert (run.code, run.stderr, run.heavy) == (2, "", [])
    assert run.stdout.startswith(f"models in {folder}: 1 of 2 file(s)\n")
    assert "  fraud_authorization (fraud.yaml): source train, store 'the_MES'" in run.stdout
    assert "  half.yaml: CANNOT BE READ: " in run.stdout
    assert not home.exists()
