"""A local SMTP server that writes every message it receives to a folder, as ``.eml`` files.

The demo's stand-in for a mail server: point Airflow's ``smtp_default`` at it (no TLS) and read
the warning emails in the folder. ``python -m deploy.mail_sink --folder F --port P``
runs it on its own.
"""

from __future__ import annotations

import argparse
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller

from deploy.local_airflow import free_port


class FolderSink:
    """aiosmtpd handler: one ``.eml`` file per message, named by arrival time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._count = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        with self._lock:
            name = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{next(self._count):03d}.eml"
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / name).write_bytes(envelope.content)
        return "250 Message accepted for delivery"


@contextmanager
def mail_sink(folder: Path, port: int | None = None) -> Iterator[int]:
    """Run the sink on 127.0.0.1 while the block runs; yields its port."""
    controller = Controller(
        FolderSink(Path(folder)), hostname="127.0.0.1", port=port or free_port()
    )
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def smtp_connection_uri(port: int) -> str:
    """``smtp_default`` for the sink, as an Airflow connection in JSON."""
    return json.dumps(
        {
            "conn_type": "smtp",
            "host": "127.0.0.1",
            "port": port,
            "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 10},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--port", type=int, default=8025)
    args = parser.parse_args()
    with mail_sink(args.folder, args.port) as port:
        print(f"mail sink on 127.0.0.1:{port}, writing to {args.folder}", flush=True)
        while True:
            time.sleep(3600)


if __name__ == "__main__":
    main()
