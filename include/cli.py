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
import time
from typing import TYPE_CHECKING

from include.checks import (
    CheckOutcome,
    format_table,
    run_checks,
    validate_declared_checks,
    worst_outcome,
)
from include.errors import ConfigurationError, MonitoringError
from include.periods import Period, parse_periods
from include.settings import current

if TYPE_CHECKING:
    import pandas as pd

    from include.config import MonitoringConfig
    from include.workflow import Workspace

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
EXIT_CODES = {"OK": 0, "WARNING": 3, "ERROR": 4, "EMPTY": 5}
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


def _generate(workspace: Workspace, args: argparse.Namespace) -> None:
    """Write the tutorial's datasets; never over datasets that generate did not write."""
    from include.data.provenance import TUTORIAL_DATASETS
    from include.workflow import generate_tutorial_data

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


def _train(workspace: Workspace, _args: argparse.Namespace) -> None:
    from include.workflow import train

    model = train(workspace)
    metrics = model.metadata["test_metrics"]
    print(
        f"trained {model.metadata['model_name']} version {model.version} on "
        f"{model.metadata['training_period']['name']} ({model.metadata['train_rows']} rows): "
        f"test AUC {metrics['auc']:.3f}, threshold {model.threshold:.3f}; saved in {model.path}"
    )


def _register(workspace: Workspace, _args: argparse.Namespace) -> None:
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


def _evaluate(workspace: Workspace, args: argparse.Namespace) -> None:
    from include.model.registry import load_model
    from include.workflow import evaluate_quarter, prepare_project

    if workspace.config.model.trained_here:
        model = load_model(workspace.config, root=workspace.models)
    else:
        # A model trained elsewhere is registered on first use, as the DAGs do.
        model = prepare_project(workspace)
    for quarter in args.quarters or workspace.config.batch_periods:
        evaluation_id, evaluation = evaluate_quarter(workspace, quarter, model=model)
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


def _show(workspace: Workspace, _args: argparse.Namespace) -> None:
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


def _models(_workspace: Workspace | None, _args: argparse.Namespace) -> int:
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


def _check(workspace: Workspace, args: argparse.Namespace) -> int:
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


def _demo(workspace: Workspace, args: argparse.Namespace) -> None:
    """The tutorial end to end: data, the Q1 model, the MES of Q2-Q4, printed."""
    if not workspace.config.is_tutorial:
        raise ConfigurationError(
            f"demo runs the fraud tutorial, but the configured model is "
            f"{workspace.config.name!r}: run demo with the tutorial's configuration (no "
            "MES_CONFIG), or train, evaluate and show for your own model"
        )
    _generate(workspace, args)
    _train(workspace, args)
    args.quarters = None
    _evaluate(workspace, args)
    _show(workspace, args)


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

    generate = add("generate", _generate, "generate the tutorial's datasets")
    demo = add("demo", _demo, "generate, train, evaluate the batch periods, show the MES")
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
    add("train", _train, "train the model on the reference period and save it")
    add("register", _register, "register a model trained elsewhere (file, mlflow, predictions)")
    evaluate = add("evaluate", _evaluate, "evaluate periods (default: the configured ones)")
    evaluate.add_argument("quarters", nargs="*", help="periods such as 2017Q2")
    add("show", _show, "print the evaluations of the store", store=READ)
    add(
        "models",
        _models,
        "list the models of the configuration folder (MES_CONFIG_DIR); exit 2 if a file is broken",
        store=None,
    )
    check = add(
        "check",
        _check,
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


if __name__ == "__main__":
    sys.exit(main())
