"""include/errors: one family, so callers can catch every monitoring error with one class."""

from __future__ import annotations

import inspect

import pytest

from include import errors

ALL_ERRORS = [
    value
    for value in vars(errors).values()
    if inspect.isclass(value)
    and issubclass(value, Exception)
    and value.__module__ == errors.__name__
]


def test_the_module_defines_the_documented_errors():
    names = {error.__name__ for error in ALL_ERRORS}
    assert {
        "MonitoringError",
        "ConfigurationError",
        "PeriodError",
        "DataValidationError",
        "EmptyBatchError",
        "DatasetNotFoundError",
        "ModelIntegrityError",
        "StoreError",
        "EvaluationNotFoundError",
        "StoreNotCreatedError",
        "StorePermissionError",
        "BundleError",
    } <= names


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda error: error.__name__)
def test_every_error_is_a_monitoring_error_and_keeps_its_message(error):
    assert issubclass(error, errors.MonitoringError)
    with pytest.raises(errors.MonitoringError, match="what to do"):
        raise error("what was wrong; what to do")


def test_an_empty_batch_is_a_data_validation_error():
    with pytest.raises(errors.DataValidationError):
        raise errors.EmptyBatchError("no rows")


@pytest.mark.parametrize(
    "error",
    [errors.EvaluationNotFoundError, errors.StoreNotCreatedError, errors.StorePermissionError],
)
def test_store_errors_are_caught_as_store_errors(error):
    with pytest.raises(errors.StoreError):
        raise error("store problem")


@pytest.mark.parametrize(
    "error",
    [errors.ConfigurationError, errors.DataValidationError, errors.BundleError],
)
def test_input_errors_are_not_store_errors(error):
    assert not issubclass(error, errors.StoreError)


def test_monitoring_errors_are_ordinary_exceptions():
    assert issubclass(errors.MonitoringError, Exception)
    assert not issubclass(errors.MonitoringError, (ValueError, OSError))
