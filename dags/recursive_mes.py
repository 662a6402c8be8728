"""
### recursive_mes: evaluate the model on each quarter into the model evaluation store

The tutorial's *Recursive_MES* scenario. For each quarter of the Param `quarters` (e.g.
`["2017Q2", "2017Q3"]`), one mapped task filters the quarter, validates it (the data quality
gate), evaluates the model on it, analyses drift against the reference, and stores the evaluation
in the MES (the `mes_db` connection; without it, the embedded store). Re-running a quarter
replaces its evaluation. The `the_MES` asset is updated with the evaluation ids in its extra.
"""

from __future__ import annotations

from airflow.sdk import dag, task

from mes_dag_defaults import MES_ASSET, dag_settings, open_workspace, quarters_param


@dag(
    dag_id="recursive_mes",
    schedule=None,
    **dag_settings(),
    doc_md=__doc__,
    tags=["mes", "model-monitoring"],
    params={"quarters": quarters_param()},
)
def recursive_mes():
    @task
    def prepare() -> str:
        """Make sure the data and a saved model version exist; return the model version."""
        from include.workflow import prepare_project

        workspace = open_workspace()
        try:
            return prepare_project(workspace).version
        finally:
            workspace.close()

    @task
    def quarters(params: dict | None = None) -> list[str]:
        return list(params["quarters"])

    @task(map_index_template="{{ quarter }}")
    def evaluate_quarter(quarter: str, model_version: str) -> dict:
        """Filter, validate, evaluate, analyse drift and store one quarter."""
        from include.model.registry import load_model
        from include.workflow import evaluate_quarter as evaluate
        from include.workflow import summarise

        workspace = open_workspace()
        try:
            model = load_model(workspace.config, model_version, workspace.models)
            evaluation_id, evaluation = evaluate(workspace, quarter, model=model)
            return summarise(workspace, evaluation_id, evaluation)
        finally:
            workspace.close()

    @task(outlets=[MES_ASSET])
    def publish(evaluations: list[dict], outlet_events=None) -> list[str]:
        """One asset event for the run, naming every evaluation it stored."""
        ids = [e["evaluation_id"] for e in evaluations]
        outlet_events[MES_ASSET].extra = {
            "evaluation_ids": ids,
            "quarters": [e["quarter"] for e in evaluations],
        }
        return ids

    model_version = prepare()
    publish(evaluate_quarter.partial(model_version=model_version).expand(quarter=quarters()))


recursive_mes_dag = recursive_mes()
