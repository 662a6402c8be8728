"""One evaluation saved into the MES by a process of its own, which the fault tests kill.

Run as ``python tests/faults/_child_save.py URL RECORD [options]`` with the repository on
``PYTHONPATH``. ``RECORD`` is a pickled ``EvaluationRecord`` (the tests evaluate once and hand
the result to every child, so a child imports only the store). The child opens the store, then
saves the record while it lists, in order, every SQL statement the save sends and every COMMIT
(its steps), and:

- ``--kill-at N``: SIGKILLs itself just before the save's Nth step reaches the database;
- ``--kill-after-commit``: SIGKILLs itself as soon as the save has returned;
- ``--ready FILE --go FILE``: touches ``FILE`` once the store is open, then waits for ``--go``
  to exist before saving, so several children save at the same moment.

It prints ``{"evaluation_id": ..., "steps": [...]}`` (the statements as sent, without their
parameters, and ``COMMIT``) on stdout, before killing itself after a commit.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import signal
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from include.mes.store import ModelEvaluationStore


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            sys.exit(f"{path} did not appear within {timeout:.0f} s")
        time.sleep(0.002)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("record", type=Path)
    parser.add_argument("--kill-at", type=int, default=0, metavar="N")
    parser.add_argument("--kill-after-commit", action="store_true")
    parser.add_argument("--ready", type=Path)
    parser.add_argument("--go", type=Path)
    args = parser.parse_args(argv)

    record = pickle.loads(args.record.read_bytes())
    store = ModelEvaluationStore.open(args.url)
    if args.ready:
        args.ready.touch()
        _wait_for(args.go)

    steps: list[str] = []

    def step(what: str) -> None:
        steps.append(what)
        if len(steps) == args.kill_at:
            _kill()

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        step(" ".join(statement.split()))

    def commit(conn):
        step("COMMIT")

    # On the Engine class, so every engine sees them, whatever the store wraps its engine in;
    # they are added only now, so the steps that open (and migrate) the store are not counted.
    sa.event.listen(sa.Engine, "before_cursor_execute", before_cursor_execute)
    sa.event.listen(sa.Engine, "commit", commit)
    evaluation_id = store.save(record)
    sa.event.remove(sa.Engine, "before_cursor_execute", before_cursor_execute)
    sa.event.remove(sa.Engine, "commit", commit)

    print(json.dumps({"evaluation_id": evaluation_id, "steps": steps}), flush=True)
    if args.kill_after_commit:
        _kill()
    store.close()


if __name__ == "__main__":
    main()
