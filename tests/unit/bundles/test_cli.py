"""The deployer's command line, end to end on a real bundle store and a SQLite deployer database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from include.bundles.archive import create_bundle, read_manifest
from include.bundles.cli import DEFERRED_LIBRARIES, main
from include.bundles.deployer import Deployer

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def places(tmp_path) -> tuple[str, Path]:
    return f"sqlite:///{tmp_path / 'deployer.sqlite'}", tmp_path / "store"


@pytest.fixture
def cli(places, capsys):
    """Run the CLI on the test's database and store: (exit code, stdout, stderr)."""
    url, store = places

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["--database", url, "--store", str(store), *args])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def make_bundle(tmp_path):
    def make(bundle_id: str, dag: str = "VERSION = 1\n") -> Path:
        source = tmp_path / f"src-{bundle_id}"
        for folder in ("dags", "plugins", "include"):
            (source / folder).mkdir(parents=True)
        (source / "dags" / "monitor.py").write_text(dag)
        (source / "include" / "__init__.py").write_text("")
        (source / "requirements.txt").write_text("")
        return create_bundle(
            bundle_id, out_dir=tmp_path / "out", source=source, release_notes=f"release {bundle_id}"
        )

    return make


@pytest.fixture
def prod(cli, make_bundle):
    """Deployment prod, and bundles v1, v2 (good) and v3 (its DAG does not import) published."""
    assert cli("configure", "prod", "--connection", "mes_db=mes_prod")[0] == 0
    for bundle_id, dag in (("v1", "VERSION = 1\n"), ("v2", "VERSION = 2\n")):
        assert cli("publish", str(make_bundle(bundle_id, dag)))[0] == 0
    assert cli("publish", str(make_bundle("v3", "raise ImportError('v3 is broken')\n")))[0] == 0
    return "prod"


def served(store: Path) -> str:
    return (store / "deployments" / "prod" / "active" / "dags" / "monitor.py").read_text()


def history(places) -> list[tuple[str | None, str, str, str]]:
    with Deployer.open(*places) as deployer:
        return [
            (u["from_bundle_id"], u["to_bundle_id"], u["outcome"], u["requested_by"])
            for u in deployer.status("prod").history
        ]


def rows(out: str) -> list[list[str]]:
    """The table's rows (header dropped), split on runs of two or more spaces."""
    import re

    return [re.split(r"\s{2,}", line) for line in out.strip().splitlines()[1:]]


def test_help_answers_without_importing_the_deployer() -> None:
    probe = (
        "import sys\n"
        "from include.bundles import cli\n"
        "try:\n"
        "    cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print([m for m in {DEFERRED_LIBRARIES!r} if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "rollback" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_an_empty_store_lists_nothing(cli) -> None:
    code, out, _ = cli("bundles")
    assert code == 0
    assert out.startswith("no bundles published")
    code, out, _ = cli("deployments")
    assert code == 0
    assert out.startswith("no deployments")


def test_bundles_lists_each_published_bundle_with_its_size_and_where_it_is_active(
    cli, prod, places
) -> None:
    assert cli("update", "prod", "v2")[0] == 0
    code, out, _ = cli("bundles")
    assert code == 0
    listed = {row[0]: row for row in rows(out)}
    assert list(listed) == ["v1", "v2", "v3"]
    size = (places[1] / "published" / "v2.tar.gz").stat().st_size
    assert listed["v2"][3] == (f"{size} B" if size < 1024 else f"{size / 1024:.1f} KiB")
    assert listed["v2"][4] == "prod"
    assert listed["v1"][4] == "-"
    assert listed["v1"][5] == "release v1"
    created = datetime.fromisoformat(
        read_manifest(places[1] / "published" / "v1.tar.gz").created_at
    )
    assert listed["v1"][1] == f"{created.astimezone(UTC):%Y-%m-%d %H:%M:%S}"


def test_bundles_says_which_archives_are_missing_or_corrupt(cli, prod, places) -> None:
    published = places[1] / "published"
    (published / "v1.tar.gz").unlink()
    (published / "v2.tar.gz").write_bytes(b"not a gzip")
    code, out, _ = cli("bundles")
    assert code == 0
    listed = {row[0]: row for row in rows(out)}
    assert listed["v1"][3] == "missing"
    assert listed["v2"][3] == "corrupt"
    assert listed["v3"][3] not in ("missing", "corrupt")


def test_update_activates_a_bundle_named_by_id_number_or_latest(cli, prod, places) -> None:
    code, out, err = cli("update", "prod", "v1")
    assert (code, err) == (0, "")
    assert "active v1" in out
    assert served(places[1]) == "VERSION = 1\n"
    assert cli("update", "prod", "2")[0] == 0
    assert served(places[1]) == "VERSION = 2\n"
    code, _, err = cli("update", "prod", "latest")  # v3, whose DAG does not import
    assert code == 1
    assert [o for _, _, o, _ in history(places)] == ["success", "success", "failed"]


def test_a_failed_update_exits_1_and_leaves_the_previous_bundle_active(cli, prod, places) -> None:
    cli("update", "prod", "v1")
    code, out, err = cli("update", "prod", "v3")
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "v1 stays active" in err
    assert "v3 is broken" in err
    assert served(places[1]) == "VERSION = 1\n"
    assert history(places)[-1][:3] == ("v1", "v3", "failed")


def test_a_tampered_bundle_fails_its_update(cli, prod, places) -> None:
    path = places[1] / "published" / "v1.tar.gz"
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    code, _, err = cli("update", "prod", "v1")
    assert code == 1
    assert "not the archive that was published" in err
    assert history(places) == [(None, "v1", "failed", "cli")]


def test_unknown_deployment_or_bundle_exits_2_and_changes_nothing(cli, prod, places) -> None:
    code, out, err = cli("update", "staging", "v1")
    assert (code, out) == (2, "")
    assert err == "error: no deployment named 'staging': configure it first (deployments: prod)\n"
    assert not (places[1] / "deployments" / "staging").exists()
    code, _, err = cli("update", "prod", "v9")
    assert code == 2
    assert err == "error: bundle 'v9' is not published (published: v1, v2, v3): publish it first\n"
    code, _, err = cli("rollback", "prod", "--to", "v9")
    assert code == 2
    assert "not published" in err
    code, _, err = cli("history", "../etc")
    assert code == 2
    assert err.startswith("error: invalid deployment name '../etc'")
    assert history(places) == []


def test_rollback_goes_back_to_the_bundle_the_last_update_replaced(cli, prod, places) -> None:
    code, _, err = cli("rollback", "prod")
    assert code == 2
    assert "no earlier bundle to roll back to" in err
    cli("update", "prod", "v1")
    cli("update", "prod", "v2")
    code, out, _ = cli("rollback", "prod")
    assert code == 0
    assert "rollback of prod to v1: done" in out
    assert served(places[1]) == "VERSION = 1\n"
    assert cli("rollback", "prod", "--to", "2")[0] == 0
    assert served(places[1]) == "VERSION = 2\n"
    assert history(places)[2:] == [
        ("v2", "v1", "success", "rollback by cli"),
        ("v1", "v2", "success", "rollback by cli"),
    ]


def test_history_shows_status_and_every_update(cli, prod) -> None:
    code, out, _ = cli("history", "prod")
    assert code == 0
    assert "no updates yet" in out
    cli("update", "prod", "v1")
    cli("update", "prod", "v3")
    code, out, _ = cli("history", "prod")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("deployment prod: active v1; in sync")
    updates = rows("\n".join(lines[1:]))
    assert [(r[0], r[3], r[4], r[5]) for r in updates] == [
        ("1", "-", "v1", "success"),
        ("2", "v1", "v3", "failed"),
    ]


def test_configure_sets_settings_and_deployments_shows_out_of_sync(cli, prod, places) -> None:
    code, out, _ = cli("deployments")
    # Never updated: its settings were never applied, so the deployer counts it out of sync.
    assert rows(out) == [["prod", "-", "yes", "-"]]
    cli("update", "prod", "v1")
    code, out, _ = cli("deployments")
    [[name, active, out_of_sync, last]] = rows(out)
    assert (name, active, out_of_sync) == ("prod", "v1", "no")
    assert last.endswith("-> v1 success")

    code, out, _ = cli("configure", "prod", "--variable", "mes_alert_recipients=ops@example.com")
    assert code == 0
    assert "OUT OF SYNC" in out
    with Deployer.open(*places) as deployer:
        assert deployer.status("prod").settings == {
            "connections": {"mes_db": "mes_prod"},
            "variables": {"mes_alert_recipients": "ops@example.com"},
        }
    assert rows(cli("deployments")[1])[0][2] == "yes"
    cli("update", "prod", "v1")
    assert rows(cli("deployments")[1])[0][2] == "no"

    assert cli("configure", "prod", "--reset", "--connection", "mes_db=other")[0] == 0
    with Deployer.open(*places) as deployer:
        assert deployer.status("prod").settings == {"connections": {"mes_db": "other"}}


def test_configure_creates_a_deployment_and_refuses_a_bad_name(cli) -> None:
    code, out, _ = cli("configure", "staging")
    assert code == 0
    assert out.startswith("deployment staging: active none")
    assert rows(cli("deployments")[1]) == [["staging", "-", "yes", "-"]]
    code, _, err = cli("configure", "a/b")
    assert code == 2
    assert "invalid deployment name 'a/b'" in err


def test_publish_refuses_a_corrupt_or_missing_archive(cli, tmp_path) -> None:
    corrupt = tmp_path / "v1.tar.gz"
    corrupt.write_bytes(b"\x1f\x8b not really gzip")
    code, _, err = cli("publish", str(corrupt))
    assert code == 2
    assert "corrupt or truncated" in err
    assert err.count("\n") == 1
    code, _, err = cli("publish", str(tmp_path / "nowhere.tar.gz"))
    assert code == 2
    assert "no bundle archive at" in err
    assert cli("bundles")[1].startswith("no bundles published")


def test_publishing_an_id_again_with_other_content_exits_2(cli, make_bundle, tmp_path) -> None:
    assert cli("publish", str(make_bundle("v1")))[0] == 0
    other = tmp_path / "other"
    for folder in ("dags", "plugins", "include"):
        (other / folder).mkdir(parents=True)
    (other / "dags" / "monitor.py").write_text("VERSION = 99\n")
    (other / "requirements.txt").write_text("")
    archive = create_bundle("v1", out_dir=tmp_path / "elsewhere", source=other)
    code, _, err = cli("publish", str(archive))
    assert code == 2
    assert "already published with other content" in err


def test_usage_errors_exit_2(cli, capsys) -> None:
    for args in (["update", "prod"], ["configure", "prod", "--variable", "no-equals"], []):
        with pytest.raises(SystemExit) as exited:
            cli(*args)
        assert exited.value.code == 2
    code, _, err = cli("--database", "mysql://u@host/db", "bundles")
    assert code == 2
    assert "unsupported deployer database" in err


def test_run_as_a_module_with_the_environment_s_database_and_store(
    places, make_bundle, tmp_path
) -> None:
    url, store = places
    env = {**os.environ, "DEPLOYER_DATABASE_URL": url, "MES_BUNDLE_STORE": str(store)}
    env["PYTHONPATH"] = str(REPO)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "include.bundles.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    assert run("configure", "prod").returncode == 0
    assert run("publish", str(make_bundle("v1"))).returncode == 0
    assert run("update", "prod", "v1").returncode == 0
    done = run("update", "nowhere", "v1")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    with Deployer.open(url, store) as deployer:
        assert deployer.status("prod").active_bundle_id == "v1"
    assert run("history", "prod").stdout.startswith("deployment prod: active v1")
