"""The deployer after real SIGKILLs at every step of an update, under concurrency, and bad ids.

Each update under test runs in a child process (``.venv/bin/python``) that is killed with a real
SIGKILL at one chosen step: the child script wraps the deployer's function at that step so that
it kills its own process (only the timing is chosen). During the DAG-import probe the probe
process itself kills the deployer, its parent, while it imports the bundle's DAG. Then the
deployer is opened again, as a user would, and what it says is compared with what is served.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from include.bundles.archive import create_bundle
from include.bundles.deployer import Deployer
from include.errors import BundleError

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv" / "bin" / "python"

# The bundles' DAG: its version, and the probe's part of the faults (read from the environment
# the deployer passes on to its import probe).
DAG = """import os, signal, time
VERSION = {version!r}
if os.environ.get("FAULT_KILL_DEPLOYER_IN_PROBE"):
    os.kill(os.getppid(), signal.SIGKILL)
time.sleep(float(os.environ.get("FAULT_SLOW_PROBE", "0")))
if os.environ.get("FAULT_ASKED_DIR"):  # hold the update until two have asked for one
    deadline = time.monotonic() + 60
    while len(os.listdir(os.environ["FAULT_ASKED_DIR"])) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
"""

# The child: one update, killed at the step FAULT_KILL_AT names.
CHILD = r"""
import os, signal, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from include.bundles import tarball
from include.bundles import deployer as module
from include.bundles import reconcile


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def then_die(function):
    def wrapper(*args, **kwargs):
        function(*args, **kwargs)
        die()
    return wrapper


step = os.environ.get("FAULT_KILL_AT", "")
if step == "started":
    module.Deployer._start = then_die(module.Deployer._start)
elif step == "extracting":
    tarball._extract = then_die(tarball._extract)  # files written, not yet renamed into place
elif step == "extracted":
    module.extract_bundle = then_die(module.extract_bundle)
elif step == "link-temporary":
    real_replace = os.replace

    def replace(source, target):
        if Path(source).name.startswith(".active."):
            die()
        real_replace(source, target)

    os.replace = replace
elif step == "linked":
    module._switch_link = then_die(module._switch_link)
elif step == "recorded":
    real_finish = module.Deployer._finish

    def finish(self, update_id, outcome, message):
        if outcome == module.SUCCESS:
            die()
        real_finish(self, update_id, outcome, message)

    module.Deployer._finish = finish
elif step == "cleaning":  # removing a leftover release: one file gone, then killed

    def rmtree(path, *args, **kwargs):
        next(p for p in Path(path).rglob("*") if p.is_file()).unlink()
        die()

    reconcile.shutil.rmtree = rmtree
with module.Deployer.open(sys.argv[2], Path(sys.argv[3])) as deployer:
    print(f"asking {time.time()}", flush=True)
    if os.environ.get("FAULT_ASKED_DIR"):
        Path(os.environ["FAULT_ASKED_DIR"], str(os.getpid())).touch()
    deployer.update(sys.argv[4], sys.argv[5])
"""


def make_bundle(tmp_path: Path, bundle_id: str) -> Path:
    source = tmp_path / f"src-{bundle_id}"
    for folder in ("dags", "plugins", "include"):
        (source / folder).mkdir(parents=True)
    (source / "dags" / "monitor.py").write_text(DAG.format(version=bundle_id))
    (source / "include" / "__init__.py").write_text("")
    (source / "requirements.txt").write_text("")
    return create_bundle(bundle_id, out_dir=tmp_path / "out", source=source)


_started: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_child_left() -> Iterator[None]:
    """A failing test leaves no update (or its import probe) running behind it."""
    yield
    while _started:
        process = _started.pop()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_update(url: str, store: Path, bundle_id: str, **env: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(PYTHON), "-c", CHILD, str(REPO), url, str(store), "prod", bundle_id],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, with the import probe it starts
    )
    _started.append(process)
    return process


def linked_bundle(deployer: Deployer) -> str | None:
    """The bundle the ``active`` link serves, read from the release folder it points at."""
    link = deployer.active_path("prod")
    if not link.is_symlink():
        return None
    return re.fullmatch(r"\d+-(.+)", Path(os.readlink(link)).name)[1]


def served(deployer: Deployer) -> str:
    return (deployer.active_path("prod") / "dags" / "monitor.py").read_text().splitlines()[1]


def leftovers(deployer: Deployer) -> list[str]:
    folder = deployer.deployment_dir("prod")
    return sorted(
        [p.name for p in (folder / "releases").iterdir()]
        + [p.name for p in folder.iterdir() if p.name.startswith(".active.")]
    )


def outcomes(deployer: Deployer) -> list[tuple[str | None, str, str]]:
    return [
        (h["from_bundle_id"], h["to_bundle_id"], h["outcome"])
        for h in deployer.status("prod").history
    ]


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'deployer.sqlite'}"


def prepared(url: str, tmp_path: Path) -> Path:
    """A ``prod`` deployment serving v1, with v2 and v3 published; the store's path."""
    store = tmp_path / "store"
    with Deployer.open(url, store) as deployer:
        deployer.configure("prod", {"connections": {"mes_db": "mes_prod"}})
        for bundle_id in ("v1", "v2", "v3"):
            deployer.publish(make_bundle(tmp_path, bundle_id))
        deployer.update("prod", "v1")
    return store


# step -> whether the update completed in fact (the link was switched before the kill), and
# what the kill leaves in the deployment's folder besides v1's release and the lock.
STEPS = {
    "started": (False, []),
    "extracting": (False, [r"\.\d{6}-v2\..*\.partial"]),
    "extracted": (False, [r"\d{6}-v2"]),
    "probe": (False, [r"\d{6}-v2"]),
    "link-temporary": (False, [r"\d{6}-v2", r"\.active\.\d+"]),
    "linked": (True, [r"\d{6}-v2"]),
    "recorded": (True, [r"\d{6}-v2"]),
}


def killed_update(url: str, store: Path, step: str) -> None:
    env = {"FAULT_KILL_DEPLOYER_IN_PROBE": "1"} if step == "probe" else {"FAULT_KILL_AT": step}
    process = start_update(url, store, "v2", **env)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGKILL, stderr
    folder = store / "deployments" / "prod"
    left = [
        p.name
        for p in [*folder.iterdir(), *(folder / "releases").iterdir()]
        if p.name not in ("active", ".update.lock", "releases", "000001-v1")
    ]
    patterns = STEPS[step][1]
    assert len(left) == len(patterns), left
    assert all(any(re.fullmatch(p, name) for name in left) for p in patterns), left


def check_recovered(url: str, store: Path, step: str) -> None:
    completed = STEPS[step][0]
    expected = "v2" if completed else "v1"
    with Deployer.open(url, store) as deployer:
        status = deployer.status("prod")
        assert status.active_bundle_id == linked_bundle(deployer) == expected
        assert served(deployer) == f"VERSION = {expected!r}"
        history = status.history
        assert [h["outcome"] for h in history] == [
            "success",
            "success" if completed else "interrupted",
        ]
        killed = history[-1]
        assert killed["finished_at"] is not None
        assert "reconcil" in killed["message"]
        # Only the releases that were activated are kept (runs started under them need them).
        kept = ["000001-v1", "000002-v2"] if completed else ["000001-v1"]
        assert leftovers(deployer) == kept

        # The next update starts from what is served, and the killed one keeps its outcome.
        deployer.update("prod", "v3")
        assert outcomes(deployer) == [
            (None, "v1", "success"),
            ("v1", "v2", "success" if completed else "interrupted"),
            (expected, "v3", "success"),
        ]
        assert deployer.status("prod").active_bundle_id == linked_bundle(deployer) == "v3"


@pytest.mark.parametrize("step", list(STEPS))
def test_an_update_killed_at_any_step_is_reconciled(sqlite_url, tmp_path, step) -> None:
    store = prepared(sqlite_url, tmp_path)
    killed_update(sqlite_url, store, step)
    check_recovered(sqlite_url, store, step)


def test_an_update_killed_after_the_link_switch_is_reconciled_on_postgres(
    postgres_url, tmp_path
) -> None:
    store = prepared(postgres_url, tmp_path)
    killed_update(postgres_url, store, "linked")
    check_recovered(postgres_url, store, "linked")


def test_every_killed_update_stays_interrupted_not_only_the_last(sqlite_url, tmp_path) -> None:
    store = prepared(sqlite_url, tmp_path)
    killed_update(sqlite_url, store, "started")
    killed_update(sqlite_url, store, "extracted")
    with Deployer.open(sqlite_url, store) as deployer:
        deployer.update("prod", "v3")
        assert outcomes(deployer) == [
            (None, "v1", "success"),
            ("v1", "v2", "interrupted"),
            ("v1", "v2", "interrupted"),
            ("v1", "v3", "success"),
        ]
        assert leftovers(deployer) == ["000001-v1", "000004-v3"]
    # Persisted: a reader that only queries the table sees the same.
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT outcome FROM updates ORDER BY update_id")).scalars()
        assert list(stored) == ["success", "interrupted", "interrupted", "success"]
    engine.dispose()


def test_a_reconciliation_killed_while_cleaning_up_is_finished_by_the_next(
    sqlite_url, tmp_path
) -> None:
    store = prepared(sqlite_url, tmp_path)
    killed_update(sqlite_url, store, "extracted")
    leftover = store / "deployments" / "prod" / "releases" / "000002-v2"
    files = len([p for p in leftover.rglob("*") if p.is_file()])
    cleaning = start_update(sqlite_url, store, "v3", FAULT_KILL_AT="cleaning")
    _, stderr = cleaning.communicate(timeout=120)
    assert cleaning.returncode == -signal.SIGKILL, stderr
    assert len([p for p in leftover.rglob("*") if p.is_file()]) == files - 1  # half removed
    with Deployer.open(sqlite_url, store) as deployer:
        assert leftovers(deployer) == ["000001-v1"]
        assert outcomes(deployer) == [(None, "v1", "success"), ("v1", "v2", "interrupted")]
        assert deployer.status("prod").active_bundle_id == linked_bundle(deployer) == "v1"


def test_two_processes_updating_at_once_take_turns(postgres_url, tmp_path) -> None:
    store = prepared(postgres_url, tmp_path)
    asked_dir = tmp_path / "asked"
    asked_dir.mkdir()
    # The first to get the lock cannot finish before both have asked: they really contend.
    processes = [
        start_update(postgres_url, store, bundle_id, FAULT_ASKED_DIR=str(asked_dir))
        for bundle_id in ("v2", "v3")
    ]
    asked = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        asked.append(float(stdout.split()[1]))
    with Deployer.open(postgres_url, store) as deployer:
        status = deployer.status("prod")
        first, second = status.history[1:]
        assert first["outcome"] == second["outcome"] == "success"
        # Both asked while the first was still running: the second waited for it.
        assert max(asked) < first["finished_at"].timestamp()
        assert second["requested_at"] >= first["finished_at"]
        assert second["from_bundle_id"] == first["to_bundle_id"]
        assert status.active_bundle_id == linked_bundle(deployer) == second["to_bundle_id"]


def test_an_update_waiting_for_a_killed_one_records_the_right_start(sqlite_url, tmp_path) -> None:
    store = prepared(sqlite_url, tmp_path)
    slow = start_update(sqlite_url, store, "v2", FAULT_SLOW_PROBE="30")
    with Deployer.open(sqlite_url, store) as deployer:
        deadline = time.monotonic() + 60
        while deployer.status("prod").history[-1]["outcome"] != "running":
            assert time.monotonic() < deadline, "the slow update never started"
            time.sleep(0.1)
        waiting = start_update(sqlite_url, store, "v3")
        assert waiting.stdout.readline().startswith("asking")
        time.sleep(0.5)  # the second update is now waiting for the lock
        assert waiting.poll() is None
        assert deployer.status("prod").history[-1]["outcome"] == "running"
        os.killpg(slow.pid, signal.SIGKILL)  # the update and its import probe
        slow.wait()
        _, stderr = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, stderr
        assert outcomes(deployer) == [
            (None, "v1", "success"),
            ("v1", "v2", "interrupted"),
            ("v1", "v3", "success"),
        ]
        assert deployer.status("prod").active_bundle_id == linked_bundle(deployer) == "v3"
        assert leftovers(deployer) == ["000001-v1", "000003-v3"]


@pytest.mark.parametrize("bundle_id", ["../x", "a/b", "", ".", "..", ".hidden", "v1\n", "x" * 65])
def test_a_path_like_bundle_id_is_refused_before_anything_is_recorded(
    sqlite_url, tmp_path, bundle_id
) -> None:
    store = prepared(sqlite_url, tmp_path)
    with Deployer.open(sqlite_url, store) as deployer:
        before = deployer.status("prod")
        with pytest.raises(BundleError, match="invalid bundle id"):
            deployer.update("prod", bundle_id)
        with pytest.raises(BundleError, match="invalid bundle id"):
            deployer.rollback("prod", bundle_id)
        assert deployer.status("prod") == before
        assert leftovers(deployer) == ["000001-v1"]


@pytest.mark.parametrize("name", ["../x", "a/b", "", ".", "..", "/tmp/x", "prod\x00"])
def test_a_path_like_deployment_name_is_refused_before_anything_is_written(
    sqlite_url, tmp_path, name
) -> None:
    store = prepared(sqlite_url, tmp_path)
    before = sorted(
        p.relative_to(tmp_path) for p in tmp_path.rglob("*") if "deployer" not in p.name
    )
    with Deployer.open(sqlite_url, store) as deployer:
        with pytest.raises(BundleError, match="invalid deployment name"):
            deployer.configure(name, {})
        with pytest.raises(BundleError, match="invalid deployment name"):
            deployer.update(name, "v2")
        with pytest.raises(BundleError, match="invalid deployment name"):
            deployer.status(name)
        assert outcomes(deployer) == [(None, "v1", "success")]
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if "deployer" not in p.name)
    assert after == before
    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        assert list(conn.execute(sa.text("SELECT name FROM deployments")).scalars()) == ["prod"]
    engine.dispose()


@pytest.mark.parametrize(
    "corrupt",
    [lambda data: data[: len(data) // 2], lambda data: b"not a tar archive at all", bytes],
    ids=["truncated", "random bytes", "empty"],
)
def test_a_corrupt_bundle_is_refused_at_publishing_and_nothing_changes(
    sqlite_url, tmp_path, corrupt
) -> None:
    store = prepared(sqlite_url, tmp_path)
    archive = make_bundle(tmp_path, "v4")
    data = archive.read_bytes()
    archive.write_bytes(corrupt(data) if corrupt is not bytes else b"")
    with Deployer.open(sqlite_url, store) as deployer:
        before = (deployer.published(), deployer.status("prod"))
        with pytest.raises(BundleError, match=r"is corrupt or truncated.*copy or make it again"):
            deployer.publish(archive)
        assert (deployer.published(), deployer.status("prod")) == before
        assert not deployer.archive_path("v4").exists()


def test_a_published_archive_tampered_in_the_store_is_refused_and_v1_stays(
    sqlite_url, tmp_path
) -> None:
    store = prepared(sqlite_url, tmp_path)
    with Deployer.open(sqlite_url, store) as deployer:
        path = deployer.archive_path("v2")
        path.write_bytes(path.read_bytes()[:-100])
        with pytest.raises(BundleError, match="not the archive that was published"):
            deployer.update("prod", "v2")
        status = deployer.status("prod")
        assert status.active_bundle_id == linked_bundle(deployer) == "v1"
        assert served(deployer) == "VERSION = 'v1'"
        assert outcomes(deployer)[-1] == ("v1", "v2", "failed")
        assert leftovers(deployer) == ["000001-v1"]
