"""include/tutorial/cli: the tutorial's commands and their options, as the CLI's parser adds them.

What ``generate`` and ``demo`` print is tested through ``include.cli.main`` in
tests/unit/test_cli.py and tests/unit/test_label_delay_cli.py.
"""

from __future__ import annotations

import argparse
from datetime import date

import pytest

from include.tutorial.cli import add_tutorial_commands, demo_command, generate_command


@pytest.fixture
def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(exit_on_error=False)
    commands = parser.add_subparsers()

    def add(name, run, help_text, store="write"):
        sub = commands.add_parser(name, help=help_text, exit_on_error=False)
        sub.set_defaults(run=run, store=store)
        return sub

    add_tutorial_commands(add)
    return parser


def test_generate_and_demo_take_the_size_and_seed(parser) -> None:
    generate = parser.parse_args(["generate"])
    assert generate.run is generate_command
    assert (generate.transactions_per_quarter, generate.seed) == (20_000, 2017)
    assert (generate.label_delay_days, generate.labels_as_of) == (0, None)
    demo = parser.parse_args(["demo", "--transactions-per-quarter", "500", "--seed", "3"])
    assert demo.run is demo_command
    assert (demo.transactions_per_quarter, demo.seed) == (500, 3)


def test_late_labels_are_days_before_a_date(parser) -> None:
    args = parser.parse_args(
        ["generate", "--label-delay-days", "120", "--labels-as-of", "2017-12-01"]
    )
    assert (args.label_delay_days, args.labels_as_of) == (120, date(2017, 12, 1))


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--label-delay-days", "-1", "is not a number of days"),
        ("--label-delay-days", "soon", "is not a number of days"),
        ("--labels-as-of", "2017-13-01", "is not a date: write YYYY-MM-DD"),
    ],
)
def test_bad_late_labels_are_refused(parser, option, value, message) -> None:
    with pytest.raises(argparse.ArgumentError, match=message):
        parser.parse_args(["generate", option, value])
