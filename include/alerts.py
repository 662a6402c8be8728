"""The emails the monitor sends: the drift warning (the tutorial's mail reporter) and its log.

Pure text and HTML from what the run produced; the Airflow side only sends them. This module
shapes the data; the body and the log are templates (``templates/alerts/warning.html``,
autoescaped, and ``run_log.txt``), as the SMTP provider keeps its email bodies in files.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from include.templating import render


@dataclass(frozen=True)
class WarningEmail:
    subject: str
    html: str


def warning_subject(dag_id: str) -> str:
    return f'Airflow DAG "{dag_id}" issued a warning'


def run_url(base_url: str | None, dag_id: str, run_id: str) -> str | None:
    """The run's page in the Airflow UI, or None when the deployment has no base URL."""
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def warning_email(
    *,
    dag_id: str,
    run_id: str,
    results: Sequence[Mapping[str, Any]],
    evaluation: Mapping[str, Any] | None,
    base_url: str | None,
) -> WarningEmail:
    """Which checks warned, with their values and bounds, and where to look next.

    ``evaluation`` may carry the evaluation's ``labels`` (or ``undefined``: metric → reason and
    ``notes``: topic → text): metrics the batch cannot define then read "undefined (reason)"
    rather than n/a, and warnings about the numbers (an in-sample evaluation) are listed.
    """
    undefined, notes = _undefined_and_notes(evaluation or {})
    rows = [
        {
            "name": result.get("name"),
            "metric": result.get("metric"),
            "value": _value(result.get("value"), undefined.get(str(result.get("metric")))),
            "message": result.get("message") or "",
        }
        for result in results
        if result.get("outcome") == "WARNING"
    ]
    body = render(
        "alerts/warning.html",
        dag_id=dag_id,
        run_id=run_id,
        evaluation=evaluation,
        rows=rows,
        undefined=undefined,
        notes=notes,
        url=run_url(base_url, dag_id, run_id),
    )
    return WarningEmail(subject=warning_subject(dag_id), html=body)


def run_log(
    *,
    dag_id: str,
    run_id: str,
    task_states: Mapping[str, Any],
    check_table: str,
    outcome: str | None,
) -> str:
    """The run's log as attached to the warning: each task's state, then the check table."""
    return render(
        "alerts/run_log.txt",
        dag_id=dag_id,
        run_id=run_id,
        task_states=sorted(task_states.items()),
        width=max((len(task) for task in task_states), default=4),
        check_table=check_table,
        outcome=outcome,
    )


def _undefined_and_notes(evaluation: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    labels = evaluation.get("labels") or {}
    undefined = {
        key.removeprefix("undefined:"): str(text)
        for key, text in labels.items()
        if key.startswith("undefined:")
    }
    notes = {
        key.removeprefix("note:"): str(text)
        for key, text in labels.items()
        if key.startswith("note:")
    }
    undefined |= {str(k): str(v) for k, v in (evaluation.get("undefined") or {}).items()}
    notes |= {str(k): str(v) for k, v in (evaluation.get("notes") or {}).items()}
    return undefined, notes


def _value(value: Any, reason: str | None) -> str:
    """A check's value as the table shows it (text, escaped by the template)."""
    if value is None and reason:
        return f"undefined ({reason})"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.4g}"
    return "n/a" if value is None else str(value)
