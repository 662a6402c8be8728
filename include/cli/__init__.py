"""Command line for the monitoring core: ``python -m include.cli COMMAND``.

Commands: ``demo``, ``generate``, ``train``, ``register``, ``evaluate``, ``show``, ``check``.

Every command works on the embedded defaults (files under ``$MES_HOME``, default ``./.mes``, and
the SQLite MES) unless ``MES_DATASETS``, ``MES_MODELS`` or ``MES_DATABASE_URL`` say otherwise.
The model is ``MES_CONFIG``'s (default: the tutorial's), or ``--config FILE``, or ``--model NAME``
from the configuration folder ``MES_CONFIG_DIR``.

``check`` exits 0 when every check is OK, 3 on WARNING, 4 on ERROR, 5 when a check is EMPTY;
any command exits 1 on bad input and 2 on a bad configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from include.cli.commands import (
    EXIT_CODES,
    check_command,
    evaluate_command,
    models_command,
    register_command,
    show_command,
    train_command,
)
from include.errors import ConfigurationError, MonitoringError
from include.periods import parse_periods
from include.settings import current
from include.tutorial.cli import add_tutorial_commands

if TYPE_CHECKING:
    from include.config import MonitoringConfig

__all__ = ["DEFERRED_LIBRARIES", "EXIT_CODES", "main"]

# pandas, scikit-learn and SQLAlchemy (through include.workflow) are imported by the commands that
# use them, so that --help and a bad configuration answer at once: the configuration is read and
# validated (pydantic and YAML only) before anything heavy is imported.

# Libraries the CLI imports only in the commands that use them (not for --help or a bad
# configuration); benchmarks/cli_startup.py and tests/faults/test_cli_startup.py check it.
DEFERRED_LIBRARIES = (
    "numpy",
    "pandas",
    "pyarrow",
    "scipy",
    "sklearn",
    "sqlalchemy",
    "great_expectations",
    "mlflow",
)
# How a command uses the MES: writes (creating or upgrading it), only reads, or not at all.
WRITE, READ = "write", "read"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        current()  # a bad MES_* variable is a configuration error, before anything runs
        if args.store is None:  # the command needs no workspace (``models``)
            return args.run(None, args) or 0
        config = _chosen_config(args)
    except MonitoringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if getattr(args, "quarters", None):
            # Periods are read before anything is opened: a typo answers at once, writes nothing.
            # The same period named twice (2017Q2 and 2017-04-01/2017-07-01) is refused.
            args.quarters = [p.name for p in parse_periods(args.quarters)]
    except MonitoringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        from include.workflow import Workspace

        # Readers (show, check) need only SELECT rights on the MES and never migrate it.
        workspace = Workspace.open(config=config, read_only=args.store == READ)
    except MonitoringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        return args.run(workspace, args) or 0
    except MonitoringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (``show | head``): what it wanted was printed; stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    finally:
        workspace.close()


def _chosen_config(args: argparse.Namespace) -> MonitoringConfig:
    """``--config FILE``, else ``--model NAME`` of the configuration folder, else ``MES_CONFIG``
    or the tutorial's."""
    from include.config import config_dir, load_config, load_config_dir

    if args.config:
        return load_config(args.config)
    if not args.model:
        return load_config()
    found = load_config_dir()
    for item in found:
        if item.config is not None and item.config.name == args.model:
            return item.config
    broken = [f"{item.path.name}: {item.error}" for item in found if item.error]
    known = sorted(item.config.name for item in found if item.config is not None)
    raise ConfigurationError(
        f"no model {args.model!r} in the configuration folder {config_dir()}; its models: "
        f"{', '.join(known) or 'none'}"
        + (f"; files that cannot be read: {'; '.join(broken)}" if broken else "")
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m include.cli",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    model = parser.add_mutually_exclusive_group()
    model.add_argument("--config", help="the model's configuration file (default: MES_CONFIG)")
    model.add_argument("--model", help="a model of the configuration folder (MES_CONFIG_DIR)")
    commands = parser.add_subparsers(required=True, metavar="command")

    def add(name: str, run, help_text: str, store: str | None = WRITE) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.set_defaults(run=run, store=store)
        return sub

    add_tutorial_commands(add)  # generate, demo: first, as --help lists them
    add("train", train_command, "train the model on the reference period and save it")
    add(
        "register",
        register_command,
        "register a model trained elsewhere (file, mlflow, predictions)",
    )
    evaluate = add("evaluate", evaluate_command, "evaluate periods (default: the configured ones)")
    evaluate.add_argument("quarters", nargs="*", help="periods such as 2017Q2")
    add("show", show_command, "print the evaluations of the store", store=READ)
    add(
        "models",
        models_command,
        "list the models of the configuration folder (MES_CONFIG_DIR); exit 2 if a file is broken",
        store=None,
    )
    check = add(
        "check",
        check_command,
        "run the model's checks on an evaluation; exit 0 only when all are OK "
        "(3 WARNING, 4 ERROR, 5 EMPTY)",
        store=READ,
    )
    which = check.add_mutually_exclusive_group()
    which.add_argument(
        "period", nargs="?", help="the evaluated period, e.g. 2017Q4 (default: latest)"
    )
    which.add_argument("--evaluation", help="an evaluation id instead of a period")
    return parser
