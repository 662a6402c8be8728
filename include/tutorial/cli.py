"""The tutorial's commands of the CLI (``include.cli``): ``generate`` and ``demo``.

``generate`` writes the fraud tutorial's datasets (:mod:`include.tutorial.datasets`); ``demo``
runs the tutorial end to end with the generic commands (:mod:`include.cli.commands`).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from include.errors import ConfigurationError
from include.tutorial import TUTORIAL_DATASETS

if TYPE_CHECKING:
    from include.workflow import Workspace


def generate_command(workspace: Workspace, args: argparse.Namespace) -> None:
    """Write the tutorial's datasets; never over datasets that generate did not write."""
    from include.tutorial.datasets import generate_tutorial_data

    config = workspace.config
    if not config.is_tutorial:
        print(
            f"note: generate writes the fraud tutorial's datasets ({', '.join(TUTORIAL_DATASETS)})"
            f" into {workspace.datasets.describe()}, not the data of the configured model "
            f"{config.name!r}, which this command never writes"
        )
    started = time.perf_counter()
    delay, as_of = getattr(args, "label_delay_days", 0), getattr(args, "labels_as_of", None)
    counts = generate_tutorial_data(
        workspace.datasets,
        transactions_per_quarter=args.transactions_per_quarter,
        seed=args.seed,
        label_delay_days=delay,
        labels_as_of=as_of,
    )
    print(
        f"generated {counts} in {workspace.datasets.describe()} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    if delay:
        print(
            f"labels of the {delay} days before {as_of or 'the end of 2017'} are not in yet; "
            "generate again without --label-delay-days (same size and seed) to land them"
        )


def demo_command(workspace: Workspace, args: argparse.Namespace) -> None:
    """The tutorial end to end: data, the Q1 model, the MES of Q2-Q4, printed."""
    if not workspace.config.is_tutorial:
        raise ConfigurationError(
            f"demo runs the fraud tutorial, but the configured model is "
            f"{workspace.config.name!r}: run demo with the tutorial's configuration (no "
            "MES_CONFIG), or train, evaluate and show for your own model"
        )
    # Imported here: include.cli imports this module to build its parser.
    from include.cli.commands import evaluate_command, show_command, train_command

    generate_command(workspace, args)
    train_command(workspace, args)
    args.quarters = None
    evaluate_command(workspace, args)
    show_command(workspace, args)


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        days = -1
    if days < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days (0 or more)")
    return days


def _day(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write YYYY-MM-DD") from None


def add_tutorial_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Add ``generate`` and ``demo`` to the CLI's commands with ``add(name, run, help_text)``."""
    generate = add("generate", generate_command, "generate the tutorial's datasets")
    demo = add("demo", demo_command, "generate, train, evaluate the batch periods, show the MES")
    for sub in (generate, demo):
        sub.add_argument("--transactions-per-quarter", type=int, default=20_000)
        sub.add_argument("--seed", type=int, default=2017)
    generate.add_argument(
        "--label-delay-days",
        type=_days,
        default=0,
        metavar="D",
        help="leave the label missing on transactions of the last D days before --labels-as-of, "
        "as labels arrive late (default 0: every label in)",
    )
    generate.add_argument(
        "--labels-as-of",
        type=_day,
        metavar="YYYY-MM-DD",
        help="the day the labels are known as of (default: 2018-01-01, the end of the data)",
    )
