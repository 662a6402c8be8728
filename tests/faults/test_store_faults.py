"""Faults in saving an evaluation to the model evaluation store, on PostgreSQL and on SQLite.

An evaluation task is killed (SIGKILL, by itself, at a chosen SQL statement of its save) while it
replaces the stored evaluation of its model version and period; four tasks save the same period
at once; a store name made of SQL goes in and out. Every time, the store holds one complete
evaluation per model version and period, nothing half written, and nothing else touched.

The evaluations are real: the tutorial's Q1 model scored on 2017Q3 with the full drift analysis,
computed once and pickled for the child processes (``_child_save.py``) that save and are killed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import pickle
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from include.checks import parse_checks, run_checks
from include.data.batches import select_period
from include.db import create_engine
from include.errors import StoreError
from include.evaluation.evaluate import evaluate_batch
from include.mes.records import EvaluationRecord, finite_metrics, json_safe
from include.mes.schema import EVALUATION_CHILDREN, SCHEMA, evaluations
from include.mes.store import ModelEvaluationStore
from include.paths import REPO_ROOT
from include.periods import Period
from include.quality.gate import ReferenceExpectations, validate_batch
from tests.support.tutorial_mes import TUTORIAL_CHECK

CHILD = Path(__file__).with_name("_child_save.py")
STORE = "the_MES"
QUARTER = "2017Q3"
CHECKS = [TUTORIAL_CHECK, {"name": "auc > 0.7", "metric": "auc", "hard_min": 0.7}]
TABLES = (evaluations, *EVALUATION_CHILDREN)
# Texts a user names that would do harm if pasted into SQL: statements after a quote (which
# PostgreSQL would run), and a condition true of every row (one statement: SQLite would run it).
SQL_STORE_NAME = "x'; DROP TABLE mes.evaluations CASCADE; --"
SQL_MODEL_VERSION = "v1' OR '1'='1"
SQL_CHECK_NAME = "auc'); DELETE FROM mes.check_results WHERE ('1'='1"


@dataclasses.dataclass(frozen=True)
class Records:
    """What the tests store: an evaluation of 2017Q3, the same period re-evaluated after rows
    were withdrawn from its batch (``new``, pickled at ``new_path`` for the children), and another
    model version's evaluation of that period, which no save of ``old`` or ``new`` may touch."""

    old: EvaluationRecord
    new: EvaluationRecord
    other: EvaluationRecord
    new_path: Path


@dataclasses.dataclass(frozen=True)
class Stored:
    """A store holding ``old`` (with its check results) and ``other``, read back as saved."""

    url: str
    old_id: str
    other_id: str
    old: dict[str, Any]
    other: dict[str, Any]
    counts: dict[str, int]


@pytest.fixture(scope="module")
def records(saved_model, prepared_data, tutorial_config, tmp_path_factory) -> Records:
    period = Period.parse(QUARTER)
    batch = select_period(prepared_data, tutorial_config.date_column, period)
    expectations = ReferenceExpectations.from_dict(saved_model.metadata["quality_expectations"])

    def evaluate(rows: pd.DataFrame) -> EvaluationRecord:
        quality = validate_batch(rows, expectations, tutorial_config).to_dict()
        evaluation = evaluate_batch(saved_model, rows, tutorial_config, period, quality=quality)
        return evaluation.to_record(STORE)

    old = evaluate(batch)
    new = evaluate(batch.iloc[: len(batch) - 300])
    other = dataclasses.replace(old, model_version="another-version")
    assert new.row_count < old.row_count
    assert new.metrics != old.metrics
    assert old.feature_drift
    assert old.column_statistics
    assert old.sample is not None
    new_path = tmp_path_factory.mktemp("records") / "new.pickle"
    new_path.write_bytes(pickle.dumps(new))
    return Records(old=old, new=new, other=other, new_path=new_path)


@pytest.fixture(params=["postgresql", "sqlite"])
def new_mes_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """Factory of URLs of empty MES databases of one backend."""
    if request.param == "postgresql":
        return request.getfixturevalue("make_database")
    files = itertools.count()
    return lambda: f"sqlite:///{tmp_path / f'mes-{next(files)}.sqlite'}"


@pytest.fixture
def stored(new_mes_url: Callable[[], str], records: Records) -> Stored:
    return fill(new_mes_url(), records)


def fill(url: str, records: Records) -> Stored:
    """Store ``old`` with the tutorial's checks recorded on it, and ``other``."""
    with ModelEvaluationStore.open(url) as store:
        old_id = store.save(records.old)
        other_id = store.save(records.other)
        store.record_checks(
            old_id,
            run_checks(parse_checks(CHECKS), store.get(old_id).metrics),
            checked_by={"dag_id": "data_drift_monitor", "run_id": "r1", "task_id": "mes_warn"},
        )
        old, other = contents(store, old_id), contents(store, other_id)
    assert len(old["checks"]) == len(CHECKS)
    return Stored(url, old_id, other_id, old, other, table_counts(url))


# -- reading the store back --------------------------------------------------------------------


def contents(store: ModelEvaluationStore, evaluation_id: str) -> dict[str, Any]:
    """Everything a user can read of one evaluation."""
    evaluation = store.get(evaluation_id)
    sample = store.sample(evaluation_id)
    return {
        "evaluation": evaluation,
        "feature_drift": store.feature_drift(evaluation_id),
        "column_statistics": store.column_statistics(evaluation_id),
        "checks": store.check_results(evaluation.store_name).get(evaluation_id, []),
        "sample": None if sample is None else frame_digest(sample),
    }


def contents_or_none(store: ModelEvaluationStore, evaluation_id: str) -> dict[str, Any] | None:
    try:
        return contents(store, evaluation_id)
    except StoreError:
        return None


def frame_digest(frame: pd.DataFrame) -> tuple:
    """A frame as something ``==`` compares (NaN included)."""
    return list(frame.columns), pd.util.hash_pandas_object(frame, index=False).tolist()


def assert_holds_record(found: dict[str, Any], record: EvaluationRecord) -> None:
    """The evaluation read back is all of ``record``: row, metrics, drift, statistics, sample."""
    evaluation = found["evaluation"]
    assert (evaluation.store_name, evaluation.model_version, evaluation.name) == (
        record.store_name,
        record.model_version,
        record.display_name,
    )
    assert evaluation.row_count == record.row_count
    assert evaluation.metrics == finite_metrics(record.metrics)
    assert evaluation.drift == json_safe(record.drift)
    assert evaluation.quality == json_safe(record.quality)
    drift_rows = {row["feature"]: row for row in found["feature_drift"]}
    assert sorted(drift_rows) == sorted(item["feature"] for item in record.feature_drift)
    for item in record.feature_drift:
        row = drift_rows[item["feature"]]
        columns = [key for key in item if key in row]
        assert [row[key] for key in columns] == [json_safe(item[key]) for key in columns]
    assert found["column_statistics"] == sorted(
        (json_safe(stats) for stats in record.column_statistics), key=lambda s: s["name"]
    )
    assert found["sample"] == frame_digest(record.sample)


def table_counts(url: str) -> dict[str, int]:
    with engine_of(url) as engine, engine.connect() as conn:
        return {
            t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in TABLES
        }


def orphans(url: str) -> dict[str, int]:
    """Rows of each child table whose evaluation is not in ``evaluations``: none, ever."""
    known = sa.select(evaluations.c.evaluation_id)
    with engine_of(url) as engine, engine.connect() as conn:
        return {
            t.name: conn.execute(
                sa.select(sa.func.count()).where(t.c.evaluation_id.not_in(known))
            ).scalar_one()
            for t in EVALUATION_CHILDREN
        }


def evaluation_ids(url: str, record: EvaluationRecord) -> list[str]:
    """The ids stored for ``record``'s store, model version and period."""
    query = sa.select(evaluations.c.evaluation_id).where(
        evaluations.c.store_name == record.store_name,
        evaluations.c.model_version == record.model_version,
        evaluations.c.period_start == pd.Timestamp(record.period.start).to_pydatetime(),
        evaluations.c.period_end == pd.Timestamp(record.period.end).to_pydatetime(),
    )
    with engine_of(url) as engine, engine.connect() as conn:
        return list(conn.execute(query).scalars())


@contextlib.contextmanager
def engine_of(url: str) -> Iterator[sa.Engine]:
    """A plain engine on the store's tables (``mes`` schema, or SQLite's main database)."""
    engine, _ = create_engine(url, SCHEMA, what="MES database")
    try:
        yield engine
    finally:
        engine.dispose()


# -- the child processes -----------------------------------------------------------------------


def child_command(url: str, record: Path, *options: str) -> list[str]:
    return [sys.executable, str(CHILD), url, str(record), *options]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT)}


def run_child(url: str, record: Path, *options: str, killed: bool = False) -> dict | None:
    """Run one save in a child process; its report, or None when it died before printing one."""
    done = subprocess.run(
        child_command(url, record, *options),
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    expected = -signal.SIGKILL if killed else 0
    assert done.returncode == expected, (
        f"child {' '.join(options)} exited with {done.returncode}, expected {expected}:\n"
        f"{done.stderr}"
    )
    return json.loads(done.stdout) if done.stdout.strip() else None


def written_tables(steps: list[str]) -> set[tuple[str, str]]:
    """(DELETE or INSERT, table) of each statement that writes."""
    found = set()
    for step in steps:
        match = re.match(r"(DELETE FROM|INSERT INTO) (?:\w+\.)?(\w+)", step)
        if match:
            found.add((match[1].split()[0], match[2]))
    return found


# -- the tests ---------------------------------------------------------------------------------


def test_a_save_killed_at_any_point_leaves_the_evaluation_it_replaces_whole(
    stored: Stored, new_mes_url: Callable[[], str], records: Records
) -> None:
    # A full save on a copy of the store lists the points: before each statement and COMMIT.
    steps = run_child(fill(new_mes_url(), records).url, records.new_path)["steps"]
    writes = written_tables(steps)
    assert {("DELETE", t.name) for t in TABLES} <= writes, steps
    assert {("INSERT", t.name) for t in TABLES if t.name != "check_results"} <= writes, steps
    lock = "SELECT pg_advisory_xact_lock" if "postgresql" in stored.url else "BEGIN IMMEDIATE"
    assert steps[0].startswith(lock), steps
    assert steps[-1] == "COMMIT", steps
    points = [
        (f"--kill-at={n}", f"at step {n} of {len(steps)}, before {step[:70]}")
        for n, step in enumerate(steps, 1)
    ]

    unchanged = {
        "old": stored.old,
        "other": stored.other,
        "ids of the period": [stored.old_id],
        "rows": stored.counts,
        "orphans": dict.fromkeys((t.name for t in EVALUATION_CHILDREN), 0),
    }
    for option, point in points:
        run_child(stored.url, records.new_path, option, killed=True)

        with ModelEvaluationStore.open(stored.url) as store:
            found = {
                "old": contents_or_none(store, stored.old_id),
                "other": contents_or_none(store, stored.other_id),
            }
        found["ids of the period"] = evaluation_ids(stored.url, records.old)
        found["rows"] = table_counts(stored.url)
        found["orphans"] = orphans(stored.url)
        assert found == unchanged, f"killed {point}"


def test_a_save_killed_right_after_its_commit_is_kept_whole_and_the_old_one_is_gone(
    stored: Stored, records: Records
) -> None:
    report = run_child(stored.url, records.new_path, "--kill-after-commit", killed=True)

    new_id = report["evaluation_id"]
    assert evaluation_ids(stored.url, records.new) == [new_id]
    with ModelEvaluationStore.open(stored.url) as store:
        found = contents(store, new_id)
        assert_holds_record(found, records.new)
        assert found["checks"] == []  # the old evaluation's checks went with it
        with pytest.raises(StoreError, match="no evaluation"):
            store.get(stored.old_id)
        assert contents(store, stored.other_id) == stored.other
    counts = table_counts(stored.url)
    assert counts["evaluations"] == stored.counts["evaluations"]
    assert counts["check_results"] == stored.counts["check_results"] - len(CHECKS)
    assert not any(orphans(stored.url).values())


@pytest.mark.parametrize("already_evaluated", [True, False], ids=["re-evaluation", "first"])
def test_four_processes_saving_one_period_at_once_leave_one_whole_evaluation(
    new_mes_url: Callable[[], str], records: Records, tmp_path: Path, already_evaluated: bool
) -> None:
    # Each save replaces the period's evaluation, so all four succeed and the last one stays.
    # Without a previous evaluation the database is empty too: the four also create the store.
    filled = fill(new_mes_url(), records) if already_evaluated else None
    url = filled.url if filled else new_mes_url()
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(4)]
    children = [
        subprocess.Popen(
            child_command(url, records.new_path, "--ready", str(path), "--go", str(go)),
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in ready
    ]
    try:
        deadline = time.monotonic() + 120
        while not all(path.exists() for path in ready):
            dead = [child for child in children if child.poll() is not None]
            assert not dead, f"a child died opening the store: {dead[0].communicate()[1]}"
            assert time.monotonic() < deadline, "the children did not open the store in 120 s"
            time.sleep(0.01)
        go.touch()
        outputs = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()

    failed = [
        (child.returncode, err.strip().splitlines()[-1:])
        for child, (_out, err) in zip(children, outputs, strict=True)
        if child.returncode
    ]
    assert not failed, failed
    saved = [json.loads(out)["evaluation_id"] for out, _err in outputs]
    assert len(set(saved)) == 4
    [kept] = evaluation_ids(url, records.new)
    assert kept in saved
    with ModelEvaluationStore.open(url) as store:
        assert_holds_record(contents(store, kept), records.new)
        if filled:
            assert contents(store, filled.other_id) == filled.other
    assert table_counts(url)["evaluations"] == (2 if filled else 1)
    assert not any(orphans(url).values())


def test_a_store_name_made_of_sql_is_stored_and_read_as_plain_text(
    stored: Stored, records: Records
) -> None:
    record = dataclasses.replace(
        records.new,
        store_name=SQL_STORE_NAME,
        model_version=SQL_MODEL_VERSION,
        labels={**records.new.labels, "note:x": "'); DROP TABLE mes.check_results; --"},
    )
    with ModelEvaluationStore.open(stored.url) as store:
        first = store.save(record)
        again = store.save(record)  # the replacement deletes by these names
        store.record_checks(
            again,
            run_checks(parse_checks([{**CHECKS[1], "name": SQL_CHECK_NAME}]), record.metrics),
        )

        assert store.store_names() == sorted([STORE, SQL_STORE_NAME])
        [evaluation] = store.evaluations(SQL_STORE_NAME, model_version=SQL_MODEL_VERSION)
        assert evaluation.evaluation_id == again
        assert evaluation.labels["note:x"] == "'); DROP TABLE mes.check_results; --"
        assert store.latest(SQL_STORE_NAME).evaluation_id == again
        assert [s.evaluation_id for s in store.summaries(SQL_STORE_NAME)] == [again]
        assert [p.evaluation_id for p in store.metric_history("auc", SQL_STORE_NAME)] == [again]
        [check] = store.check_results(SQL_STORE_NAME)[again]
        assert (check.check_name, check.outcome) == (SQL_CHECK_NAME, "OK")
        assert_holds_record(contents(store, again), record)
        with pytest.raises(StoreError, match="no evaluation"):
            store.get(first)
        assert contents(store, stored.old_id) == stored.old
        assert contents(store, stored.other_id) == stored.other
    counts = table_counts(stored.url)
    assert counts["evaluations"] == stored.counts["evaluations"] + 1
    assert counts["check_results"] == stored.counts["check_results"] + 1
    assert not any(orphans(stored.url).values())
