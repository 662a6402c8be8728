"""Command line for the monitoring core: ``python -m include.cli COMMAND``.

Commands: ``demo``, ``generate``, ``train``, ``evaluate``, ``show``.

Every command works on the embedded defaults (files under ``$MES_HOME``, default ``./.mes``, and
the SQLite MES) unless ``MES_DATASETS``, ``MES_MODELS`` or ``MES_DATABASE_URL`` say otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd

from include.errors import MonitoringError
from include.mes.store import evaluations_table
from include.model.registry import load_model
from include.workflow import Workspace, evaluate_quarter, generate_tutorial_data, train


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        workspace = Workspace.open()
    except MonitoringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        args.run(workspace, args)
    except MonitoringError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        workspace.close()
    return 0


def _generate(workspace: Workspace, args: argparse.Namespace) -> None:
    started = time.perf_counter()
    counts = generate_tutorial_data(
        workspace.datasets,
        workspace.config,
        transactions_per_quarter=args.transactions_per_quarter,
        seed=args.seed,
    )
    print(
        f"generated {counts} in {workspace.datasets.describe()} "
        f"({time.perf_counter() - started:.1f} s)"
    )


def _train(workspace: Workspace, _args: argparse.Namespace) -> None:
    model = train(workspace)
    metrics = model.metadata["test_metrics"]
    print(
        f"trained {model.metadata['model_name']} version {model.version} on "
        f"{model.metadata['training_period']['name']} ({model.metadata['train_rows']} rows): "
        f"test AUC {metrics['auc']:.3f}, threshold {model.threshold:.3f}; saved in {model.path}"
    )


def _evaluate(workspace: Workspace, args: argparse.Namespace) -> None:
    model = load_model(workspace.config, root=workspace.models)
    for quarter in args.quarters or workspace.config.batch_periods:
        evaluation_id, evaluation = evaluate_quarter(workspace, quarter, model=model)
        metrics = evaluation.metrics()
        auc = metrics.get("auc")
        print(
            f"evaluated {quarter}: {evaluation.row_count} rows, AUC "
            f"{'n/a' if auc is None else format(auc, '.3f')} -> evaluation {evaluation_id}"
        )
        print(f"  {(evaluation.quality or {}).get('summary', 'data quality not checked')}")
        if evaluation.drift is not None:
            drifted = ", ".join(evaluation.drift.drifted_features) or "none"
            print(
                f"  data drift: {evaluation.drift.data_drift.verdict()}; drifted features: "
                f"{drifted}"
            )
            print(f"  drift report: {workspace.report_path(evaluation)}")


def _show(workspace: Workspace, _args: argparse.Namespace) -> None:
    stored = workspace.mes.evaluations(workspace.config.store_name)
    print(
        f"model evaluation store {workspace.config.store_name!r} in {workspace.mes.description}: "
        f"{len(stored)} evaluation(s)"
    )
    if stored:
        with pd.option_context(
            "display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4f}".format
        ):
            print(evaluations_table(stored).to_string(index=False))


def _demo(workspace: Workspace, args: argparse.Namespace) -> None:
    """The tutorial end to end: data, the Q1 model, the MES of Q2-Q4, printed."""
    _generate(workspace, args)
    _train(workspace, args)
    args.quarters = None
    _evaluate(workspace, args)
    _show(workspace, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m include.cli", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="command")

    def add(name: str, run, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.set_defaults(run=run)
        return sub

    generate = add("generate", _generate, "generate the tutorial's datasets")
    demo = add("demo", _demo, "generate, train, evaluate the batch periods, show the MES")
    for sub in (generate, demo):
        sub.add_argument("--transactions-per-quarter", type=int, default=20_000)
        sub.add_argument("--seed", type=int, default=2017)
    add("train", _train, "train the model on the reference period and save it")
    evaluate = add("evaluate", _evaluate, "evaluate periods (default: the configured ones)")
    evaluate.add_argument("quarters", nargs="*", help="periods such as 2017Q2")
    add("show", _show, "print the evaluations of the store")
    return parser


if __name__ == "__main__":
    sys.exit(main())
