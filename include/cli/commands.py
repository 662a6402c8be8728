"""The monitoring commands of the CLI (``include.cli``): train, register, evaluate, show, models,
check; and how they print an evaluation.

Each command takes the opened workspace and the parsed arguments and returns its exit code (None
for 0). pandas, scikit-learn and SQLAlchemy are imported inside the commands that use them, so
that ``--help`` and a bad configuration answer at once (``include.cli.DEFERRED_LIBRARIES``).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from include.checks import (
    CheckOutcome,
    format_table,
    run_checks,
    validate_declared_checks,
    worst_outcome,
)
from include.errors import ConfigurationError
from include.periods import Period

if TYPE_CHECKING:
    import pandas as pd

    from include.workflow import Workspace

EXIT_CODES = {"OK": 0, "WARNING": 3, "ERROR": 4, "EMPTY": 5}


def train_command(workspace: Workspace, _args: argparse.Namespace) -> None:
    from include.workflow import train

    model = train(workspace)
    metrics = model.metadata["test_metrics"]
    print(
        f"trained {model.metadata['model_name']} version {model.version} on "
        f"{model.metadata['training_period']['name']} ({model.metadata['train_rows']} rows): "
        f"test AUC {metrics['auc']:.3f}, threshold {model.threshold:.3f}; saved in {model.path}"
    )


def register_command(workspace: Workspace, _args: argparse.Namespace) -> None:
    """Register the configured external model as a version, its reference profiled once."""
    from include.model.registry import list_versions, register_model
    from include.workflow import reference_rows

    config = workspace.config
    if config.model.trained_here:
        print(
            f"model {config.name!r} has model.source 'train': this project trains it, so there "
            "is nothing to register; run train instead"
        )
        return
    rows, description = reference_rows(workspace)
    existing = set(list_versions(config.name, workspace.models))
    model = register_model(config, rows, root=workspace.models, reference_description=description)
    metadata = model.metadata
    details = metadata[model.source]
    if model.source == "file":
        origin = f"file {details['path']} ({details['format']}, SHA-256 {details['sha256'][:12]})"
    elif model.source == "mlflow":
        origin = f"MLflow {details['uri']}"
        if details.get("name"):
            origin += f" = {details['name']} version {details['version']}"
        if details.get("run_id"):
            origin += f", run {details['run_id']}"
    else:
        origin = f"scores in column {details['score_column']!r}" + (
            f", predicted classes in {details['prediction_column']!r}"
            if details.get("prediction_column")
            else ""
        )
    reference = metadata["reference"]
    auc = metadata["test_metrics"].get("auc")
    done = "already registered" if model.version in existing else "registered"
    print(
        f"{done}: {config.name} version {model.version} from {origin}; threshold "
        f"{model.threshold:g}; in {model.path}"
    )
    print(
        f"  reference: {reference['rows']:,} rows ({reference['description']}); AUC on it "
        f"{'n/a' if auc is None else format(auc, '.3f')}"
    )
    if reference["small"]:
        print(f"  warning: small reference. {reference['note']}")


def evaluate_command(workspace: Workspace, args: argparse.Namespace) -> None:
    from include.model.registry import load_model
    from include.workflow import evaluate_period, prepare_project

    if workspace.config.model.trained_here:
        model = load_model(workspace.config, root=workspace.models)
    else:
        # A model trained elsewhere is registered on first use, as the DAGs do.
        model = prepare_project(workspace)
    for quarter in args.quarters or workspace.config.batch_periods:
        evaluation_id, evaluation = evaluate_period(workspace, quarter, model=model)
        print(
            f"evaluated {quarter}: {evaluation.row_count} rows, AUC "
            f"{_auc_text(evaluation)} -> evaluation {evaluation_id}"
        )
        estimated = _estimate_text(evaluation)
        if estimated:
            print(f"  {estimated}")
        for line in _evaluation_notes(evaluation):
            print(f"  {line}")
        print(f"  {(evaluation.quality or {}).get('summary', 'data quality not checked')}")
        if evaluation.drift is not None:
            drifted = ", ".join(evaluation.drift.drifted_features) or "none"
            print(
                f"  data drift: {evaluation.drift.data_drift.verdict()}; drifted features: "
                f"{drifted}"
            )
            print(f"  drift report: {workspace.report_path(evaluation)}")


def _auc_text(evaluation) -> str:
    """``0.853 [0.842, 0.864]``, ``undefined (no positive in the batch)``, or ``n/a`` unlabelled."""
    from include.evaluation.metrics import undefined_text

    metrics = evaluation.metrics()
    auc = metrics.get("auc")
    if auc is None:
        reason = evaluation.undefined_metrics.get("auc")
        return undefined_text(reason) if reason else "n/a"
    low, high = metrics.get("auc_ci_low"), metrics.get("auc_ci_high")
    interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
    return f"{auc:.3f}{interval}"


def _estimate_text(evaluation) -> str | None:
    """The performance estimated without labels, when some rows are not labelled yet; why it
    is not, when it cannot be trusted."""
    metrics = evaluation.metrics()
    share = metrics.get("label_share", 1.0)
    if share >= 1.0:
        return None
    parts = []
    for name, title in (("auc", "AUC"), ("accuracy", "accuracy"), ("f1", "F1")):
        value = metrics.get(f"estimated_{name}")
        if value is not None:
            low, high = (
                metrics.get(f"estimated_{name}_ci_low"),
                metrics.get(f"estimated_{name}_ci_high"),
            )
            interval = f" [{low:.3f}, {high:.3f}]" if low is not None and high is not None else ""
            parts.append(f"{title} {value:.3f}{interval}")
    untrusted = evaluation.estimate.untrusted if evaluation.estimate is not None else {}
    reasons = "; ".join(dict.fromkeys(untrusted.values()))
    if not parts:
        why = reasons or evaluation.all_notes.get("estimation", "no estimate")
        return f"labelled rows: {share:.0%}; performance not estimated: {why}"
    estimated = ", ".join(parts) + (f" (not estimated: {reasons})" if reasons else "")
    return f"labelled rows: {share:.0%}; estimated from the scores: {estimated}"


def _evaluation_notes(evaluation) -> list[str]:
    """The undefined metrics with their reasons, then every warning about the numbers."""
    by_reason: dict[str, list[str]] = {}
    for name, reason in evaluation.undefined_metrics.items():
        by_reason.setdefault(reason, []).append(name)
    lines = [f"undefined ({reason}): {', '.join(names)}" for reason, names in by_reason.items()]
    notes = evaluation.all_notes
    if "in_sample" in notes:
        lines.append(f"warning: {notes.pop('in_sample')}")
    lines += [f"note: {text}" for text in notes.values()]
    return lines


def show_command(workspace: Workspace, _args: argparse.Namespace) -> None:
    import pandas as pd

    from include.mes.store import evaluations_table

    stored = workspace.mes.evaluations(workspace.config.store_name)
    print(
        f"model evaluation store {workspace.config.store_name!r} in {workspace.mes.description}: "
        f"{len(stored)} evaluation(s)"
    )
    if stored:
        with pd.option_context(
            "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4f}".format
        ):
            columns = ["auc", "accuracy", "f1", "log_loss", "data_drift"]
            if any(e.metrics.get("label_share", 1.0) < 1.0 for e in stored):
                # Labels still to come somewhere: how much is labelled, and the estimate.
                columns[1:1] = ["estimated_auc", "label_share"]
            table = evaluations_table(stored, columns)
            print(_with_reasons(table, stored).to_string(index=False))
        for evaluation in stored:
            notes = {k: v for k, v in evaluation.labels.items() if k.startswith("note:")}
            for topic, text in notes.items():
                kind = "warning" if topic == "note:in_sample" else "note"
                print(f"{evaluation.name} ({evaluation.model_version}): {kind}: {text}")


SHOWN_METRICS = ("auc", "accuracy", "f1", "log_loss")


def _with_reasons(table: pd.DataFrame, stored) -> pd.DataFrame:
    """The table with "undefined (reason)" where a metric is undefined, and an ``in_sample``
    column when an evaluation is."""
    import pandas as pd

    from include.evaluation.metrics import undefined_text

    for column in SHOWN_METRICS:
        reasons = [e.labels.get(f"undefined:{column}") for e in stored]
        if not any(reasons):
            continue
        if column not in table:  # undefined in every evaluation: a column of reasons
            table.insert(table.columns.get_loc("created_at"), column, None)
        table[column] = [
            undefined_text(reason)
            if reason and pd.isna(value)
            else "n/a"
            if pd.isna(value)
            else f"{value:.4f}"
            for value, reason in zip(table[column], reasons, strict=True)
        ]
    if any(e.metrics.get("in_sample") == 1.0 for e in stored):
        table.insert(
            4, "in_sample", ["yes" if e.metrics.get("in_sample") == 1.0 else "" for e in stored]
        )
    return table


def models_command(_workspace: Workspace | None, _args: argparse.Namespace) -> int:
    """The models of the configuration folder: what each is, its DAGs, or why it cannot load."""
    from include.config import config_dir, load_config_dir

    folder = config_dir()
    found = load_config_dir(folder)
    print(f"models in {folder}: {sum(f.config is not None for f in found)} of {len(found)} file(s)")
    for item in found:
        config = item.config
        if config is None:
            print(f"  {item.path.name}: CANNOT BE READ: {item.error}")
            continue
        dags = (
            "data_drift_monitor, recursive_mes"
            if config.is_tutorial
            else f"{config.name}__data_drift_monitor, {config.name}__recursive_mes"
        )
        print(
            f"  {config.name} ({item.path.name}): source {config.model.source}, store "
            f"{config.store_name!r}, cadence {config.cadence}, schedule "
            f"{config.monitor_schedule or 'manual only'}, {len(config.checks)} check(s); "
            f"DAGs {dags}"
        )
    return 2 if any(f.config is None for f in found) else 0


def check_command(workspace: Workspace, args: argparse.Namespace) -> int:
    """Run the model's declared checks on one stored evaluation; the exit code says the worst."""
    config, store = workspace.config, workspace.mes
    if args.evaluation:
        evaluation = store.get(args.evaluation)
        if evaluation.store_name != config.store_name:
            raise ConfigurationError(
                f"evaluation {args.evaluation!r} belongs to store {evaluation.store_name!r}, not "
                f"to {config.store_name!r} of model {config.name!r}: choose the model with "
                "--model or --config"
            )
    else:
        evaluation = _evaluation_of_period(workspace, args.period)
    results = run_checks(
        validate_declared_checks(config.checks, config),
        evaluation.metrics,
        labels=evaluation.labels,
    )
    outcome = worst_outcome(results)
    if any(r.outcome is CheckOutcome.EMPTY for r in results) and outcome is CheckOutcome.OK:
        outcome = CheckOutcome.EMPTY
    print(
        f"checks of model {config.name!r} on evaluation {evaluation.evaluation_id} "
        f"({evaluation.name}, model version {evaluation.model_version}) in store "
        f"{config.store_name!r} at {store.description}:"
    )
    print(format_table(results))
    print(f"outcome: {outcome.value}")
    return EXIT_CODES[outcome.value]


def _evaluation_of_period(workspace: Workspace, period_text: str | None):
    """The newest stored evaluation of the period (any model version); the latest when None."""
    config, store = workspace.config, workspace.mes
    if period_text is None:
        latest = store.latest(config.store_name)
        if latest is None:
            raise ConfigurationError(
                f"store {config.store_name!r} at {store.description} holds no evaluation of "
                f"model {config.name!r}: evaluate a period first"
            )
        return latest
    period = Period.parse(period_text)
    matching = [
        e
        for e in store.evaluations(config.store_name)
        if (e.period_start.date(), e.period_end.date()) == (period.start, period.end)
    ]
    if not matching:
        held = sorted({e.name for e in store.evaluations(config.store_name)})
        raise ConfigurationError(
            f"store {config.store_name!r} holds no evaluation of {period} for model "
            f"{config.name!r}; it holds {', '.join(held) or 'none'}"
        )
    return max(matching, key=lambda e: e.created_at)
