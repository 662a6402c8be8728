"""``MESCheckOperator``: run checks on one evaluation of the MES and branch on the outcome.

The tutorial's ``MES_Warn`` step as an Airflow task. It checks the evaluation named by
``evaluation_id`` (in a monitoring DAG: the one its own run just built, in its model's store),
else the latest evaluation of the store. The worst outcome of the checks decides:

- ``ERROR`` fails the task (retries, then the run's failure alert, apply as for any failure);
- ``WARNING`` follows ``warning_task_ids`` (e.g. the task sending the warning email);
- ``OK`` follows ``ok_task_ids`` and the run ends quietly;
- ``EMPTY`` (a metric missing or not a number) fails the task when the evaluation is the run's
  own (``evaluation_id`` given): a monitor that cannot read what it was built to check must not
  succeed quietly. On a store's latest evaluation it follows ``ok_task_ids``.

Every other task directly downstream is skipped. The outcome, each check's result and the
evaluation read are pushed to XCom (keys ``outcome``, ``results``, ``evaluation``) and logged as a
table, so the outcome is visible in the run; the results are also recorded in the MES with the
evaluation (``mes.check_results``), where the MES page of the Airflow UI shows them.
The checks themselves live in ``include.checks``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseBranchOperator
from airflow.sdk.exceptions import AirflowException, AirflowFailException

from include.checks import (
    Check,
    CheckOutcome,
    CheckResult,
    empty_results,
    format_table,
    parse_checks,
    run_checks,
    worst_outcome,
)
from include.errors import ConfigurationError
from include.tutorial import TUTORIAL_STORE
from mes_hook import DEFAULT_MES_CONN_ID, MESHook

if TYPE_CHECKING:
    from airflow.sdk import Context

# Without store_name, the tutorial's store.
DEFAULT_STORE_NAME = TUTORIAL_STORE


class MESCheckOperator(BaseBranchOperator):
    """Check the latest evaluation of a model evaluation store and branch on the worst outcome.

    :param checks: check definitions, e.g. ``[{"name": "data drift < 0.45", "metric":
        "data_drift", "soft_max": 0.45}]`` (see ``include.checks.parse_checks``); templated, so a
        bound may be ``"{{ params.drift_threshold }}"``.
    :param warning_task_ids: task id(s) to follow on WARNING.
    :param ok_task_ids: task id(s) to follow on OK or EMPTY; None skips every downstream task.
    :param store_name: the evaluation store to read (templated).
    :param mes_conn_id: the Airflow connection of the MES database; when it does not exist, the
        embedded SQLite store under ``$MES_HOME`` is read.
    :param model_version: read the latest evaluation of this model version only (templated);
        None reads the latest evaluation of any version.
    :param evaluation_id: the evaluation to check (templated, e.g. from the XCom of the task that
        built it); None checks the store's latest. A named evaluation that is not in the store,
        or in another store, fails the task.
    """

    template_fields: Sequence[str] = (
        "checks",
        "store_name",
        "model_version",
        "evaluation_id",
        "warning_task_ids",
        "ok_task_ids",
    )
    ui_color = "#fdf1d6"

    def __init__(
        self,
        *,
        checks: Sequence[Mapping[str, Any] | Check],
        warning_task_ids: str | Iterable[str],
        ok_task_ids: str | Iterable[str] | None = None,
        store_name: str = DEFAULT_STORE_NAME,
        mes_conn_id: str = DEFAULT_MES_CONN_ID,
        model_version: str | None = None,
        evaluation_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # Runs at every DAG parse: keep the arguments, read and check nothing yet (the checks may
        # still hold templates).
        self.checks = checks
        self.warning_task_ids = warning_task_ids
        self.ok_task_ids = ok_task_ids
        self.store_name = store_name
        self.mes_conn_id = mes_conn_id
        self.model_version = model_version
        self.evaluation_id = evaluation_id

    def choose_branch(self, context: Context) -> str | Iterable[str] | None:
        try:
            checks = parse_checks(self.checks)
        except ConfigurationError as exc:
            # A wrong check definition will not fix itself on a retry.
            raise AirflowFailException(f"invalid checks for task {self.task_id}: {exc}") from None

        ti = context["ti"]
        own = bool(self.evaluation_id)
        with _reader(MESHook(mes_conn_id=self.mes_conn_id).get_uri()) as (store, description):
            where = f"store {self.store_name!r} at {description}"
            if own:
                evaluation = self._own_evaluation(store, where)
            elif store is None:
                evaluation = None
            else:
                evaluation = store.latest(self.store_name, model_version=self.model_version)
            if evaluation is None:
                version = f" for model version {self.model_version}" if self.model_version else ""
                reason = f"the store {self.store_name!r} holds no evaluation{version}"
                results = empty_results(checks, reason)
                subject = f"{where}: no evaluation{version}"
                evaluation_info = None
            else:
                results = run_checks(checks, evaluation.metrics, labels=evaluation.labels)
                # The MES keeps the outcome with the evaluation (the MES page shows it).
                self._record(store, evaluation.evaluation_id, results, ti)
                subject = (
                    f"evaluation {evaluation.name!r} (model version {evaluation.model_version}, "
                    f"id {evaluation.evaluation_id}) of {where}"
                )
                evaluation_info = {
                    "evaluation_id": evaluation.evaluation_id,
                    "name": evaluation.name,
                    "model_version": evaluation.model_version,
                    # Why a metric is undefined, in-sample and other notes, for the email.
                    "labels": evaluation.labels,
                }
        outcome = worst_outcome(results)
        empty = [r for r in results if r.outcome is CheckOutcome.EMPTY]
        if own and empty and outcome is not CheckOutcome.ERROR:
            # Nothing to read on the evaluation this run built: that, not a partial OK or
            # WARNING, is what the run reports (and fails on, below).
            outcome = CheckOutcome.EMPTY

        self.log.info("Checks on %s:\n%s", subject, format_table(results))
        log_at = {CheckOutcome.ERROR: logging.ERROR, CheckOutcome.WARNING: logging.WARNING}
        self.log.log(log_at.get(outcome, logging.INFO), "MES check outcome: %s", outcome.value)
        ti.xcom_push(key="outcome", value=outcome.value)
        ti.xcom_push(key="results", value=[result.to_dict() for result in results])
        ti.xcom_push(key="evaluation", value=evaluation_info)

        if outcome is CheckOutcome.ERROR:
            raise AirflowException(_error_message(subject, results))
        if own and empty:
            raise AirflowFailException(_empty_message(subject, empty))
        if outcome is CheckOutcome.WARNING:
            return self.warning_task_ids
        return self.ok_task_ids

    def _record(self, store: Any, evaluation_id: str, results: list[CheckResult], ti) -> None:
        """Keep the outcomes with the evaluation; a role that may only read the MES still
        branches and alerts, with a warning that the outcomes were not recorded."""
        from include.errors import StorePermissionError

        try:
            store.record_checks(
                evaluation_id,
                results,
                checked_by={"dag_id": ti.dag_id, "run_id": ti.run_id, "task_id": ti.task_id},
            )
        except StorePermissionError as exc:
            self.log.warning("Check outcomes not recorded in the MES (read-only role): %s", exc)

    def _own_evaluation(self, store: Any, where: str) -> Any:
        """The evaluation this run built; it must exist and belong to this operator's store."""
        from include.errors import EvaluationNotFoundError

        if store is None:
            raise AirflowFailException(
                f"cannot check evaluation {self.evaluation_id!r}: the database at {where} holds "
                "no MES yet"
            )
        try:
            evaluation = store.get(str(self.evaluation_id))
        except EvaluationNotFoundError as exc:
            # Permanent: no retry finds it. A lost connection (StoreError) is retried.
            raise AirflowFailException(
                f"cannot check evaluation {self.evaluation_id!r}: {exc}"
            ) from None
        if evaluation.store_name != self.store_name:
            raise AirflowFailException(
                f"evaluation {self.evaluation_id!r} belongs to store "
                f"{evaluation.store_name!r}, not to {where}"
            )
        return evaluation


@contextlib.contextmanager
def _reader(url: str) -> Iterator[tuple[Any, str]]:
    """The MES opened for reading (a SELECT-only role will do) and its description; the store is
    None when the database holds no MES yet, which for the checks means no evaluation."""
    from include.db import describe_url
    from include.errors import StoreNotCreatedError
    from include.mes.store import ModelEvaluationStore

    try:
        store = ModelEvaluationStore.open(url, read_only=True)
    except StoreNotCreatedError:
        yield None, describe_url(url)
        return
    with store:
        yield store, store.description


def _empty_message(subject: str, empty: Sequence[CheckResult]) -> str:
    lines = [
        f"{len(empty)} check(s) found nothing to judge (EMPTY) on {subject}, which this run "
        "built to check: the monitor cannot tell whether the model is fine."
    ]
    lines += [f"  - {r.name}: {r.message}" for r in empty]
    return "\n".join(lines)


def _error_message(subject: str, results: Sequence[CheckResult]) -> str:
    failed = [r for r in results if r.outcome is CheckOutcome.ERROR]
    lines = [f"{len(failed)} check(s) ended in ERROR on {subject}:"]
    lines += [f"  - {r.name}: {r.message}" for r in failed]
    return "\n".join(lines)
