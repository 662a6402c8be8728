"""The monitor's warning email: the SMTP provider's ``EmailOperator``, with a failure that says
which mail server could not be reached.

A mail server that is down or refuses the message fails the task with the connection id, the
server's address and the reason, instead of a socket error with no address; Airflow then retries
the task as configured (the email is sent once, by the try that succeeds).
"""

from __future__ import annotations

import smtplib
from typing import Any

from airflow.providers.smtp.operators.smtp import EmailOperator
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException


class WarningEmailOperator(EmailOperator):
    """``EmailOperator`` whose delivery failures name the mail server."""

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)
        except (OSError, smtplib.SMTPException) as exc:
            raise AirflowException(
                f"cannot send the email through connection {self.conn_id!r} "
                f"({_address(self.conn_id)}): {type(exc).__name__}: {exc}. Check that the mail "
                "server is running and that the connection points at it; the task is retried "
                "as configured"
            ) from None


def _address(conn_id: str) -> str:
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # the address is only for the message
        return "address unknown"
    return f"{conn.host or 'localhost'}:{conn.port or 'default port'}"
