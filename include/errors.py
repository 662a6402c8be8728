"""The one family of errors the monitoring code raises.

Every message says what was wrong with the input and what to do about it, so that the text alone
is enough in an Airflow task log.
"""

from __future__ import annotations


class MonitoringError(Exception):
    """Base class: something about the input, the configuration or the environment is wrong."""


class ConfigurationError(MonitoringError):
    """The monitoring configuration is invalid or does not match the data or the model."""


class PeriodError(MonitoringError):
    """A period string such as ``2017Q5`` cannot be understood."""


class DataValidationError(MonitoringError):
    """A batch or dataset is unusable: missing columns, wrong types, unparseable dates, no label."""


class EmptyBatchError(DataValidationError):
    """A batch holds no rows, so there is nothing to evaluate."""


class DatasetNotFoundError(MonitoringError):
    """A dataset was asked for that the dataset store does not hold."""


class ModelIntegrityError(MonitoringError):
    """A saved model is missing, tampered with, or does not match its metadata or configuration."""


class StoreError(MonitoringError):
    """The model evaluation store cannot be reached or refused an operation."""


class EvaluationNotFoundError(StoreError):
    """The store holds no evaluation with that id (permanent, unlike a lost connection)."""


class StoreNotCreatedError(StoreError):
    """The database holds no MES yet, and a reader may not create one."""


class StorePermissionError(StoreError):
    """The store's role may not do this (e.g. a SELECT-only role asked to write)."""


class BundleError(MonitoringError):
    """A bundle cannot be made, read, verified or extracted: bad id, corrupt or tampered archive."""
