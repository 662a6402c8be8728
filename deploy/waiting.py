"""Waiting until something is up, done or gone: one tenacity policy for the local tooling's waits
(a port that listens, the api-server's health, a parsed DAG, a finished run, stopped processes).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

T = TypeVar("T")


class WaitTimeoutError(Exception):
    """What was waited for did not happen in time; the caller says what it was."""


def until(
    check: Callable[[], T],
    *,
    timeout: float,
    interval: float,
    retry_on: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``check`` every ``interval`` seconds until it returns something true, and return that.

    An exception of a type in ``retry_on`` counts as "not yet"; any other ends the wait at once
    (a process that exited will not come up). ``WaitTimeoutError`` once ``timeout`` seconds have
    passed.
    """
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_result(operator.not_) | retry_if_exception_type(retry_on),
    )
    try:
        return retrying(check)
    except RetryError:
        raise WaitTimeoutError(f"not within {timeout:g} s") from None
