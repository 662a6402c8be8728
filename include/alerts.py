"""The emails the monitor sends: the drift warning (the tutorial's mail reporter) and its log.

Pure text and HTML from what the run produced; the Airflow side only sends them.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote


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
    warned = [r for r in results if r.get("outcome") == "WARNING"]
    rows = "".join(
        "<tr>"
        f"<td>{html.escape(str(r.get('name')))}</td>"
        f"<td>{html.escape(str(r.get('metric')))}</td>"
        f"<td>{_value(r.get('value'), undefined.get(str(r.get('metric'))))}</td>"
        f"<td>{html.escape(str(r.get('message') or ''))}</td>"
        "</tr>"
        for r in warned
    )
    evaluated = ""
    if evaluation:
        model = evaluation.get("model")
        of_model = f"model <b>{html.escape(str(model))}</b>, " if model else "model "
        store = evaluation.get("store")
        in_store = f" in store <b>{html.escape(str(store))}</b>" if store else ""
        evaluated = (
            f"<p>Evaluation checked: period <b>{html.escape(str(evaluation.get('name')))}</b> of "
            f"{of_model}version {html.escape(str(evaluation.get('model_version')))} "
            f"(evaluation {html.escape(str(evaluation.get('evaluation_id')))}){in_store}.</p>"
        )
    url = run_url(base_url, dag_id, run_id)
    if url:
        where = (
            "You can find the attached run log and drift report, or view the run here: "
            f'<a href="{html.escape(url)}">{html.escape(url)}</a>'
        )
    else:
        where = (
            "You can find the attached run log and drift report. No link to the run can be "
            "given: this Airflow deployment has no base URL configured ([api] base_url). "
            f"Look for run <b>{html.escape(run_id)}</b> of DAG <b>{html.escape(dag_id)}</b> in "
            "the Airflow UI."
        )
    body = (
        f"<p>The &ldquo;{html.escape(dag_id)}&rdquo; DAG returned a warning for exceeding the "
        "data drift threshold.</p>"
        f"{evaluated}"
        "<p>Here&rsquo;s the summary of warning events:</p>"
        '<table border="1" cellpadding="4" cellspacing="0">'
        "<tr><th>Check</th><th>Metric</th><th>Value</th><th>Details</th></tr>"
        f"{rows}</table>"
        f"{_notes_html(undefined, notes)}"
        f"<p>{where}</p>"
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
    width = max((len(task) for task in task_states), default=4)
    states = "\n".join(
        f"  {task:<{width}}  {state or 'none'}" for task, state in sorted(task_states.items())
    )
    return (
        f"DAG {dag_id}, run {run_id}\n\n"
        f"Task states:\n{states}\n\n"
        f"Checks (outcome {outcome or 'n/a'}):\n{check_table}\n"
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


def _notes_html(undefined: Mapping[str, str], notes: Mapping[str, str]) -> str:
    items = [
        f"<li><b>{html.escape(metric)}</b>: undefined ({html.escape(reason)})</li>"
        for metric, reason in undefined.items()
    ]
    items += [
        f"<li><b>{'warning' if topic == 'in_sample' else 'note'}</b>: {html.escape(text)}</li>"
        for topic, text in notes.items()
    ]
    if not items:
        return ""
    return f"<p>About this evaluation&rsquo;s numbers:</p><ul>{''.join(items)}</ul>"


def _value(value: Any, reason: str | None) -> str:
    if value is None and reason:
        return f"undefined ({html.escape(reason)})"
    return _number(value)


def _number(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.4g}"
    return "n/a" if value is None else html.escape(str(value))
