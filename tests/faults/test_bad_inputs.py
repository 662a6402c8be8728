"""Bad input through the command line, as a user meets it: each case gets its own clear message
and exit code, never a traceback, and the store keeps what it held.

One world for the module: the Seattle weather example (a model file, real public data), with
2013Q2 evaluated into the embedded MES. Each case breaks one thing (a configuration key, the data
file, the database URL, the arguments) and runs the CLI in a subprocess, as a user would.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from include.examples.seattle_weather import build_example

REPO = Path(__file__).resolve().parents[2]
FILE_CONFIG = "seattle_rain_file.yaml"


@dataclass(frozen=True)
class World:
    folder: Path
    home: Path
    config: Path
    evaluated: tuple  # the rows of the MES's evaluations table after the first evaluation

    def text(self) -> str:
        return self.config.read_text()


def cli(world: World, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MES_")}
    environment.update({"MES_HOME": str(world.home), "PYTHONPATH": str(REPO), **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "include.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=REPO,
        timeout=300,
        check=False,
    )


def evaluations(home: Path) -> list[tuple]:
    with sqlite3.connect(home / "mes.sqlite") as conn:
        return conn.execute(
            "select evaluation_id, name, model_version, row_count from evaluations order by name"
        ).fetchall()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    folder = build_example(tmp_path_factory.mktemp("seattle"), mlflow=False).folder
    home = folder / "home"
    config = folder / "configs" / FILE_CONFIG
    first = World(folder, home, config, ())
    done = cli(first, "--config", str(config), "evaluate", "2013Q2")
    assert done.returncode == 0, done.stderr
    return World(folder, home, config, tuple(evaluations(home)))


@dataclass(frozen=True)
class Case:
    """One bad input: how to make it, the command, the exit code and what the message says."""

    id: str
    make: Callable[[World, Path], dict[str, str] | None]  # writes files; returns env overrides
    args: tuple[str, ...]
    code: int
    says: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


def edited(old: str, new: str) -> Callable[[World, Path], None]:
    """A configuration (``case.yaml`` in the example's configs folder) with one edit."""

    def make(world: World, _tmp: Path) -> None:
        text = world.text()
        assert old in text, old
        (world.folder / "configs" / "case.yaml").write_text(text.replace(old, new))

    return make


def data_file(change: Callable[[pd.DataFrame], pd.DataFrame | str]) -> Callable:
    """A configuration reading a changed copy of the data (a frame, or raw text)."""

    def make(world: World, tmp: Path) -> None:
        frame = pd.read_csv(world.folder / "data" / "seattle_weather_labelled.csv")
        changed = change(frame)
        path = tmp / "data.csv"
        if isinstance(changed, str):
            path.write_text(changed)
        else:
            changed.to_csv(path, index=False)
        edited("../data/seattle_weather_labelled.csv", str(path))(world, tmp)

    return make


def in_q2(frame: pd.DataFrame, column: str, value: object) -> pd.DataFrame:
    frame = frame.astype({column: object})
    frame.loc[frame["date"] == "2013-05-05", column] = value
    return frame


CASE = ("--config", "{configs}/case.yaml")
CASES = [
    # -- configuration --------------------------------------------------------------------------
    Case("missing file", lambda w, t: None, ("--config", "{tmp}/nope.yaml", "show"), 2,
         ("cannot read configuration file", "nope.yaml")),
    Case("not YAML", edited("cadence: quarter", "cadence: [quarter"), (*CASE, "show"), 2,
         ("is not valid YAML",)),
    Case("unknown key", edited("cadence:", "cadense:"), (*CASE, "show"), 2,
         ("cadense: Extra inputs are not permitted",)),
    Case("store name leaving its folder",
         edited("store_name: seattle_rain_file_mes", "store_name: ../../../x"),
         (*CASE, "evaluate", "2013Q2"), 2, ("store_name '../../../x' is not a valid name",)),
    Case("model name leaving its folder", edited("name: seattle_rain_file\n", "name: ..\n"),
         (*CASE, "show"), 2, ("name '..' is not a valid name",)),
    Case("period listed twice", edited("2013Q1, 2013Q2", "2013Q1, 2013Q1"), (*CASE, "show"), 2,
         ("period '2013Q1' is listed twice",)),
    Case("bad period", edited("2013Q1, 2013Q2", "2013Q5, 2013Q2"), (*CASE, "show"), 2,
         ("cannot read period '2013Q5' (quarters run from Q1 to Q4)",)),
    Case("empty check bound", edited("soft_max: 0.7", "soft_max: ''"), (*CASE, "show"), 2,
         ("soft_max is empty (''): give a number",)),
    Case("check on a metric no evaluation has", edited("metric: auc", "metric: acu"),
         (*CASE, "show"), 2, ("acu",)),
    Case("unset variable", edited("../data/seattle_weather_labelled.csv", "${NO_SUCH_DATA}"),
         (*CASE, "show"), 2, ("the environment variable NO_SUCH_DATA is not set",)),
    Case("model file gone", edited("../models/rain_model.joblib", "../models/gone.joblib"),
         (*CASE, "evaluate", "2013Q2"), 1, ("gone.joblib is not a file",)),
    Case("no such model in the folder", lambda w, t: None, ("--model", "nobody", "show"), 2,
         ("no model 'nobody' in the configuration folder",),
         env={"MES_CONFIG_DIR": "{configs}"}),
    # -- data -----------------------------------------------------------------------------------
    Case("missing column", data_file(lambda f: f.drop(columns=["wind"])),
         (*CASE, "evaluate", "2013Q2"), 1, ("feature 'wind' is missing",)),
    Case("text in a numeric feature", data_file(lambda f: in_q2(f, "temp_max", "hot")),
         (*CASE, "evaluate", "2013Q2"), 1,
         ("column 'temp_max'", "is a numeric feature but 1 value(s) are not numbers, e.g. 'hot'")),
    Case("unreadable date", data_file(lambda f: in_q2(f, "date", "not a date")),
         (*CASE, "evaluate", "2013Q2"), 1, ("cannot read 1 value(s) of column 'date' as dates",)),
    Case("label outside the classes", data_file(lambda f: in_q2(f, "rain", 7)),
         (*CASE, "evaluate", "2013Q2"), 1, ("label 'rain' has 1 value outside the classes",)),
    Case("empty file", data_file(lambda f: ""), (*CASE, "evaluate", "2013Q2"), 1,
         ("is empty: its first line must name the columns",)),
    Case("header only", data_file(lambda f: ",".join(f.columns) + "\n"),
         (*CASE, "evaluate", "2013Q2"), 1, ("no rows for 2013Q2",)),
    Case("period without rows", lambda w, t: None, ("--config", "{config}", "evaluate", "2019Q1"),
         1, ("no rows for 2019Q1 (2019-01-01 <= date < 2019-04-01)",)),
    # -- arguments ------------------------------------------------------------------------------
    Case("same period twice on the command line", lambda w, t: None,
         ("--config", "{config}", "evaluate", "2013Q2", "2013-04-01/2013-07-01"), 1,
         ("is listed twice",)),
    Case("bad period argument", lambda w, t: None, ("--config", "{config}", "evaluate", "2013Q5"),
         1, ("cannot read period '2013Q5'",)),
    Case("unknown evaluation id", lambda w, t: None,
         ("--config", "{config}", "check", "--evaluation", "nope"), 1, ("no evaluation 'nope'",)),
    # -- database -------------------------------------------------------------------------------
    Case("not a URL", lambda w, t: None, ("--config", "{config}", "show"), 2,
         ("MES_DATABASE_URL", "'not a url' is not a database URL", "no scheme"),
         env={"MES_DATABASE_URL": "not a url"}),
    Case("port not a number", lambda w, t: None, ("--config", "{config}", "show"), 2,
         ("its port '54x2' is not a number",),
         env={"MES_DATABASE_URL": "postgresql://mes:secret@127.0.0.1:54x2/mes"}),
    Case("@ in the password", lambda w, t: None, ("--config", "{config}", "show"), 2,
         ("has more than one @: an @ in the password (or user name) must be written %40",),
         env={"MES_DATABASE_URL": "postgresql://mes:se@cret@127.0.0.1/mes"}),
    Case("port out of range", lambda w, t: None, ("--config", "{config}", "show"), 2,
         ("has port 99999: ports are 1 to 65535",),
         env={"MES_DATABASE_URL": "postgresql://mes@127.0.0.1:99999/mes"}),
    Case("nothing listening", lambda w, t: None, ("--config", "{config}", "show"), 2,
         ("cannot use the model evaluation store at PostgreSQL 127.0.0.1:1/mes",
          "nothing was written"),
         env={"MES_DATABASE_URL": "postgresql://mes:secret@127.0.0.1:1/mes"}),
    Case("unsupported database", lambda w, t: None, ("--config", "{config}", "show"), 2,
         ("unsupported MES database 'mysql'",), env={"MES_DATABASE_URL": "mysql://root@h/mes"}),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gets_a_clear_message_and_keeps_the_store(world: World, case: Case, tmp_path):
    def fill(text: str) -> str:
        return text.format(configs=world.folder / "configs", config=world.config, tmp=tmp_path)

    case.make(world, tmp_path)
    done = cli(world, *map(fill, case.args), env={k: fill(v) for k, v in case.env.items()})

    assert done.returncode == case.code, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ")
    for words in case.says:
        assert words in done.stderr
    assert "secret" not in done.stderr + done.stdout
    assert evaluations(world.home) == list(world.evaluated)


def test_a_model_file_replaced_in_place_is_a_new_version_not_the_old_copy(world: World, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(world.folder, folder, ignore=shutil.ignore_patterns("home"))
    config = folder / "configs" / FILE_CONFIG
    home = tmp_path / "home"
    moved = World(folder, home, config, ())
    assert cli(moved, "--config", str(config), "evaluate", "2013Q2").returncode == 0
    [(_, _, first_version, _)] = evaluations(home)

    # The team retrains and overwrites the file: a different model at the same path.
    import joblib
    from sklearn.dummy import DummyClassifier

    frame = pd.read_csv(folder / "data" / "seattle_weather_labelled.csv")
    features = frame[["temp_max", "temp_min", "wind"]]
    joblib.dump(
        DummyClassifier(strategy="prior").fit(features, frame["rain"]),
        folder / "models" / "rain_model.joblib",
    )
    done = cli(moved, "--config", str(config), "evaluate", "2013Q2")

    assert done.returncode == 0, done.stderr
    versions = {row[2] for row in evaluations(home)}
    assert len(versions) == 2
    assert first_version in versions
    # The retrained model is what was evaluated: a constant score has an AUC of 0.5.
    assert "AUC 0.5" in done.stdout
