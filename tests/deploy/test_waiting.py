"""``deploy.waiting.until``: returns the first true answer, retries the named errors, stops in
time, and lets any other error through at once."""

from __future__ import annotations

import time

import pytest

from deploy.waiting import WaitTimeoutError, until


def answers(*values):
    """A check returning (or raising) ``values`` in turn; counts its calls."""
    queue = list(values)

    def check():
        check.calls += 1
        value = queue.pop(0)
        if isinstance(value, BaseException):
            raise value
        return value

    check.calls = 0
    return check


def test_returns_the_first_true_answer() -> None:
    check = answers(None, False, "up", "later")
    assert until(check, timeout=5, interval=0.01) == "up"
    assert check.calls == 3


def test_errors_named_in_retry_on_count_as_not_yet() -> None:
    check = answers(ConnectionRefusedError(), OSError("reset"), True)
    assert until(check, timeout=5, interval=0.01, retry_on=(OSError,)) is True
    assert check.calls == 3


def test_any_other_error_ends_the_wait_at_once() -> None:
    check = answers(None, RuntimeError("the process exited"), True)
    with pytest.raises(RuntimeError, match="the process exited"):
        until(check, timeout=5, interval=0.01, retry_on=(OSError,))
    assert check.calls == 2


def test_gives_up_after_the_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError, match=r"not within 0\.3 s"):
        until(lambda: False, timeout=0.3, interval=0.05)
    assert 0.3 <= time.monotonic() - started < 2


def test_a_retried_error_at_the_timeout_is_a_timeout_too() -> None:
    def refused():
        raise ConnectionRefusedError

    with pytest.raises(WaitTimeoutError):
        until(refused, timeout=0.2, interval=0.05, retry_on=(OSError,))
