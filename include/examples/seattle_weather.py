"""Seattle weather: three rain classifiers of a user's own, on real public data, ready to monitor.

    python -m include.examples.seattle_weather <folder> [--no-mlflow]

writes into ``<folder>`` what a user outside this project brings: data, models and one
configuration per model (``configs/``; point ``MES_CONFIG_DIR`` there). Only pandas, scikit-learn,
joblib and MLflow are used, never the project's own training code.

The data are the daily weather of Seattle, 2012-2015, as the ``vega_datasets`` package ships it
(``seattle-weather.csv``: date, precipitation, temp_max, temp_min, wind, weather), copied byte for
byte. The label ``rain`` is a day with measured precipitation (``precipitation > 0``). The
``weather`` column is not the label: its coding changes in spring 2013 (2012 has 191 "rain" days,
2014 has 3; rainy days become "fog" and "sun"), so ``weather == "rain"`` would measure that change
of coding, not the models. Precipitation itself is no feature, since it defines the label.

All three models are trained on 2012 from ``temp_max``, ``temp_min`` and ``wind``: useful (AUC
0.76-0.79 on 2013) but far from perfect; no calendar feature, so seasons reach the monitor as the
real shift of temperatures and wind they are:

- ``seattle_rain_file``: a logistic regression saved with joblib (``models/rain_model.joblib``);
- ``seattle_rain_mlflow``: a random forest in a local MLflow registry (SQLite), registered as
  ``seattle_rain_rf`` with alias ``champion`` on version 1;
- ``seattle_rain_predictions``: no model, the inference log of a gradient-boosting model that
  went live on 2013-01-01, joined with the observed rain: one Parquet file per month.

The MLflow registry stores absolute paths: build the example where it will be used.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import joblib
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

PACKAGE = "vega_datasets"
PACKAGE_FILE = Path("_data") / "seattle-weather.csv"
FEATURES = ("temp_max", "temp_min", "wind")
LABEL = "rain"
TRAINING_PERIOD = ("2012-01-01", "2013-01-01")
LIVE_FROM = "2013-01-01"
REGISTERED_MODEL = "seattle_rain_rf"
ALIAS = "champion"
SEED = 0
# The only folders the example writes; it refuses a folder that already holds one of them.
OUTPUTS = ("data", "models", "mlflow", "configs")


@dataclass(frozen=True)
class ExampleFiles:
    """What :func:`build_example` wrote: the data, the models and one configuration per model.

    ``tracking_uri`` and ``model_uri`` (and the MLflow configuration) are None when the example
    was built without MLflow.
    """

    folder: Path
    raw_csv: Path
    labelled_csv: Path
    model_file: Path
    predictions: Path
    tracking_uri: str | None
    model_uri: str | None
    configs: tuple[Path, ...]


def dataset_file() -> Path:
    """The ``seattle-weather.csv`` installed with ``vega_datasets``, found without importing it
    (its import may fail on newer pandas while its data files are fine)."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / PACKAGE_FILE
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{PACKAGE} with its {PACKAGE_FILE.name} is not installed: "
        f"run `python -m pip install {PACKAGE}`"
    )


def labelled_weather(raw: pd.DataFrame) -> pd.DataFrame:
    """The raw rows with ISO dates (``2012-01-01``) and the label ``rain`` (1: precipitation)."""
    labelled = raw.copy()
    labelled["date"] = pd.to_datetime(raw["date"], format="%Y/%m/%d").dt.strftime("%Y-%m-%d")
    labelled[LABEL] = (raw["precipitation"] > 0).astype(int)
    return labelled


def training_rows(labelled: pd.DataFrame) -> pd.DataFrame:
    start, end = TRAINING_PERIOD
    return labelled[(labelled["date"] >= start) & (labelled["date"] < end)]


def logistic_model(train: pd.DataFrame) -> Pipeline:
    model = make_pipeline(
        SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(max_iter=1000)
    )
    return model.fit(train[list(FEATURES)], train[LABEL])


def forest_model(train: pd.DataFrame) -> RandomForestClassifier:
    model = RandomForestClassifier(n_estimators=100, min_samples_leaf=5, random_state=SEED)
    return model.fit(train[list(FEATURES)], train[LABEL])


def boosting_model(train: pd.DataFrame) -> HistGradientBoostingClassifier:
    model = HistGradientBoostingClassifier(max_depth=3, random_state=SEED)
    return model.fit(train[list(FEATURES)], train[LABEL])


def register_in_mlflow(model: RandomForestClassifier, train: pd.DataFrame, folder: Path) -> str:
    """Log the forest in a SQLite-backed MLflow registry under ``folder``, register it and give
    version 1 the alias ``champion``; returns the tracking URI."""
    import mlflow
    import sklearn
    from mlflow.models import infer_signature

    folder.mkdir(parents=True)
    tracking_uri = f"sqlite:///{(folder / 'mlflow.db').resolve()}"
    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    experiment_id = client.create_experiment(
        "seattle_rain", artifact_location=(folder / "artifacts").resolve().as_uri()
    )
    features = train[list(FEATURES)]
    # Both URIs: a registry URI left explicit by earlier MLflow use would otherwise receive the
    # registration (a stray ./mlflow.db, and the alias below pointing nowhere).
    previous = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        with mlflow.start_run(experiment_id=experiment_id, run_name="random_forest_2012"):
            mlflow.log_params({"trained_on": "/".join(TRAINING_PERIOD), **model.get_params()})
            mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=REGISTERED_MODEL,
                signature=infer_signature(features, model.predict_proba(features)),
                # Named, so MLflow does not start a process to infer them.
                pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
                # MLflow saves scikit-learn models with skops, which trusts no tree by default;
                # the trust is stored with the model and applies when it is loaded.
                skops_trusted_types=["sklearn.tree._tree.Tree"],
            )
    finally:
        mlflow.set_tracking_uri(previous[0])
        mlflow.set_registry_uri(previous[1])
    client.set_registered_model_alias(REGISTERED_MODEL, ALIAS, "1")
    return tracking_uri


def inference_log(model: HistGradientBoostingClassifier, labelled: pd.DataFrame) -> pd.DataFrame:
    """The live model's scores of every day from ``LIVE_FROM``, joined with the observed rain."""
    live = labelled[labelled["date"] >= LIVE_FROM]
    score = model.predict_proba(live[list(FEATURES)])[:, 1]
    return pd.DataFrame(
        {
            "date": pd.to_datetime(live["date"]),
            **{feature: live[feature].astype("float64") for feature in FEATURES},
            "score": score,
            "predicted": (score >= 0.5).astype(int),
            LABEL: live[LABEL],
        }
    ).reset_index(drop=True)


def write_monthly_parquet(log: pd.DataFrame, folder: Path) -> None:
    """One file per month, ``2013-01.parquet``, as a daily inference job would append them."""
    folder.mkdir(parents=True)
    for month, rows in log.groupby(log["date"].dt.strftime("%Y-%m")):
        rows.to_parquet(folder / f"{month}.parquet", index=False)


def build_example(folder: Path, *, mlflow: bool = True) -> ExampleFiles:
    """Write the Seattle weather example into ``folder`` (created if need be).

    Refuses a folder that already holds one of ``data/``, ``models/``, ``mlflow/``, ``configs/``
    (nothing of yours is overwritten) and removes what it wrote when it fails. ``mlflow=False``
    skips the MLflow registry and its configuration.
    """
    folder = Path(folder).resolve()
    taken = [name for name in OUTPUTS if (folder / name).exists()]
    if taken:
        raise FileExistsError(
            f"{folder} already holds {', '.join(taken)}: build the example into an empty folder"
        )
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _build(folder, with_mlflow=mlflow)
    except BaseException:
        for name in OUTPUTS:
            shutil.rmtree(folder / name, ignore_errors=True)
        raise


def _build(folder: Path, *, with_mlflow: bool) -> ExampleFiles:
    data = folder / "data"
    data.mkdir()
    raw_csv = data / "seattle_weather.csv"
    shutil.copyfile(dataset_file(), raw_csv)
    labelled = labelled_weather(pd.read_csv(raw_csv))
    labelled_csv = data / "seattle_weather_labelled.csv"
    labelled.to_csv(labelled_csv, index=False)
    train = training_rows(labelled)

    model_file = folder / "models" / "rain_model.joblib"
    model_file.parent.mkdir()
    joblib.dump(logistic_model(train), model_file)

    predictions = data / "rain_predictions"
    write_monthly_parquet(inference_log(boosting_model(train), labelled), predictions)

    tracking_uri = model_uri = None
    if with_mlflow:
        tracking_uri = register_in_mlflow(forest_model(train), train, folder / "mlflow")
        model_uri = f"models:/{REGISTERED_MODEL}@{ALIAS}"

    configs = folder / "configs"
    configs.mkdir()
    texts = {
        "seattle_rain_file.yaml": FILE_CONFIG,
        "seattle_rain_predictions.yaml": PREDICTIONS_CONFIG,
    }
    if with_mlflow:
        texts["seattle_rain_mlflow.yaml"] = MLFLOW_CONFIG.replace("{tracking_uri}", tracking_uri)
    written = []
    for name, text in sorted(texts.items()):
        (configs / name).write_text(text)
        written.append(configs / name)
    return ExampleFiles(
        folder=folder,
        raw_csv=raw_csv,
        labelled_csv=labelled_csv,
        model_file=model_file,
        predictions=predictions,
        tracking_uri=tracking_uri,
        model_uri=model_uri,
        configs=tuple(written),
    )


_COMMON = """\
label: rain
positive_class: 1
date_column: date
numeric_features: [temp_max, temp_min, wind]
"""


def _checks(min_auc: float) -> str:
    """Data drift and AUC checks, and who hears of them.

    ``data_drift`` is the accuracy of a classifier telling batch rows from reference rows: 0.5
    when they look alike, so a bound must lie above 0.5 (0.45 would warn on every batch); 0.7 is
    where a month of rows stops being chance (p about 0.05). AUC on a month of 30 days is too
    noisy for the 0.7 floor of a quarter.
    """
    return f"""\
checks:
  # data_drift: how well a classifier tells this batch from the reference (0.5: alike).
  - name: data drift < 0.7
    metric: data_drift
    soft_max: 0.7
  - name: auc > {min_auc}
    metric: auc
    soft_min: {min_auc}
alerts:
  recipients: [weather-models@example.com]
"""


def _months(*years: int) -> str:
    """The months of ``years`` as a YAML list, a year per line."""
    lines = (", ".join(f"{year}-{month:02d}" for month in range(1, 13)) for year in years)
    return "[" + ",\n  ".join(lines) + "]"


FILE_CONFIG = f"""\
# Did it rain today? A logistic regression on temp_max, temp_min and wind, trained on 2012 and saved
# with joblib. Monitored by quarter against its training year.
name: seattle_rain_file
store_name: seattle_rain_file_mes
data:
  path: ../data/seattle_weather_labelled.csv
{_COMMON}reference_period: 2012-01-01/2013-01-01
cadence: quarter
batch_periods: [2013Q1, 2013Q2, 2013Q3, 2013Q4,
  2014Q1, 2014Q2, 2014Q3, 2014Q4,
  2015Q1, 2015Q2, 2015Q3, 2015Q4]
{_checks(0.7)}model:
  source: file
  path: ../models/rain_model.joblib
"""


MLFLOW_CONFIG = f"""\
# The same question, asked of a random forest in a local MLflow registry (version 1 of
# seattle_rain_rf carries the alias champion). Monitored by month against its training year.
name: seattle_rain_mlflow
store_name: seattle_rain_mlflow_mes
data:
  path: ../data/seattle_weather_labelled.csv
{_COMMON}reference_period: 2012-01-01/2013-01-01
cadence: month
batch_periods: {_months(2013, 2014, 2015)}
{_checks(0.6)}model:
  source: mlflow
  uri: models:/seattle_rain_rf@champion
  tracking_uri: {{tracking_uri}}
"""

PREDICTIONS_CONFIG = f"""\
# No model here: the inference log of a model live since 2013-01-01 (score: probability of rain,
# predicted: its class at 0.5), joined with the observed rain; one Parquet file per month.
# Monitored by month against its first live year.
name: seattle_rain_predictions
store_name: seattle_rain_predictions_mes
data:
  path: ../data/rain_predictions
{_COMMON}reference_period: 2013-01-01/2014-01-01
cadence: month
batch_periods: {_months(2014, 2015)}
{_checks(0.6)}model:
  source: predictions
  score_column: score
  prediction_column: predicted
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m include.examples.seattle_weather", description=__doc__.split("\n")[0]
    )
    parser.add_argument("folder", type=Path, help="where to write the example (a new folder)")
    parser.add_argument("--no-mlflow", action="store_true", help="skip the MLflow registry")
    args = parser.parse_args(argv)
    try:
        files = build_example(args.folder, mlflow=not args.no_mlflow)
    except (FileExistsError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Seattle weather example written to {files.folder}")
    print(f"  data:        {files.labelled_csv} (from {files.raw_csv.name})")
    print(f"  model file:  {files.model_file}")
    if files.model_uri:
        print(f"  MLflow:      {files.model_uri} in {files.tracking_uri}")
    print(f"  predictions: {files.predictions}/")
    print(f"Monitor them: export MES_CONFIG_DIR={files.folder / 'configs'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
