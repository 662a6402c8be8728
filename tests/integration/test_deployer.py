"""The deployer on PostgreSQL: publish, update, refuse, roll back, and the history of it all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

import pytest

from include.bundles.archive import create_bundle
from include.bundles.deployer import Deployer
from include.errors import BundleError

pytestmark = pytest.mark.integration

PIN = f"pytest=={metadata.version('pytest')}"


def source_tree(root: Path, dag: str, requirements: str = PIN) -> Path:
    (root / "dags").mkdir(parents=True)
    (root / "plugins").mkdir()
    (root / "include").mkdir()
    (root / "dags" / "monitor.py").write_text(dag)
    (root / "plugins" / "helper.py").write_text("VALUE = 1\n")
    (root / "include" / "__init__.py").write_text("")
    (root / "requirements.txt").write_text(requirements + "\n")
    return root


@pytest.fixture
def deployer(postgres_url, tmp_path):
    opened = Deployer.open(postgres_url, tmp_path / "store")
    opened.configure(
        "prod",
        {
            "variables": {"mes_alert_recipients": "ops@example.com"},
            "connections": {"mes_db": "mes_prod"},
        },
    )
    yield opened
    opened.close()


@pytest.fixture
def make_bundle(tmp_path):
    def make(bundle_id: str, dag: str = "VERSION = 1\n", requirements: str = PIN) -> Path:
        source = source_tree(tmp_path / f"src-{bundle_id}", dag, requirements)
        return create_bundle(
            bundle_id, out_dir=tmp_path / "out", source=source, release_notes=f"release {bundle_id}"
        )

    return make


def served(deployer: Deployer) -> str:
    return (deployer.active_path("prod") / "dags" / "monitor.py").read_text()


def test_updates_roll_forward_refuse_a_broken_bundle_and_roll_back(deployer, make_bundle) -> None:
    deployer.publish(make_bundle("v1", "VERSION = 1\n"))
    deployer.publish(make_bundle("v2", "VERSION = 2\n"))
    deployer.publish(make_bundle("v3", "raise ImportError('the v3 DAG is broken')\n"))

    assert deployer.update("prod", "v1").active_bundle_id == "v1"
    assert served(deployer) == "VERSION = 1\n"
    assert deployer.update("prod", "v2").active_bundle_id == "v2"
    assert served(deployer) == "VERSION = 2\n"
    with pytest.raises(BundleError, match=r"do not import: monitor\.py: ImportError: the v3 DAG"):
        deployer.update("prod", "v3")
    assert deployer.status("prod").active_bundle_id == "v2"
    assert served(deployer) == "VERSION = 2\n"
    assert deployer.rollback("prod", "v1").active_bundle_id == "v1"
    assert served(deployer) == "VERSION = 1\n"

    history = deployer.status("prod").history
    assert [(h["from_bundle_id"], h["to_bundle_id"], h["outcome"]) for h in history] == [
        (None, "v1", "success"),
        ("v1", "v2", "success"),
        ("v2", "v3", "failed"),
        ("v2", "v1", "success"),
    ]
    assert history[-1]["requested_by"].startswith("rollback")
    assert "do not import" in history[2]["message"]


def test_publishing_an_id_twice_with_other_content_is_refused(
    deployer, make_bundle, tmp_path
) -> None:
    archive = make_bundle("v1")
    deployer.publish(archive)
    deployer.publish(archive)  # the same content again: nothing to do
    rebuilt = create_bundle(
        "v1", out_dir=tmp_path / "rebuilt", source=tmp_path / "src-v1", release_notes="release v1"
    )
    deployer.publish(rebuilt)  # the same files in a new archive: the same bundle
    other = create_bundle(
        "v1",
        out_dir=tmp_path / "elsewhere",
        source=source_tree(tmp_path / "other", "VERSION = 99\n"),
    )
    with pytest.raises(BundleError, match="already published with other content"):
        deployer.publish(other)
    assert [b["bundle_id"] for b in deployer.published()] == ["v1"]


def test_unmet_requirements_are_refused_before_anything_is_activated(deployer, make_bundle) -> None:
    deployer.publish(make_bundle("v1"))
    deployer.update("prod", "v1")
    deployer.publish(make_bundle("v2", requirements=f"{PIN}\nno-such-package==1.0"))
    with pytest.raises(BundleError, match=r"no-such-package==1\.0 \(installed: none\)"):
        deployer.update("prod", "v2")
    assert deployer.status("prod").active_bundle_id == "v1"


def test_a_tampered_published_bundle_fails_verification(deployer, make_bundle) -> None:
    deployer.publish(make_bundle("v1"))
    path = deployer.archive_path("v1")
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(BundleError, match="not the archive that was published"):
        deployer.update("prod", "v1")
    status = deployer.status("prod")
    assert status.active_bundle_id is None
    assert status.history[-1]["outcome"] == "failed"


def test_changed_settings_make_the_deployment_out_of_sync_until_updated(
    deployer, make_bundle
) -> None:
    deployer.publish(make_bundle("v1"))
    assert deployer.update("prod", "v1").out_of_sync is False
    deployer.configure("prod", {"connections": {"mes_db": "mes_prod_2"}})
    assert deployer.status("prod").out_of_sync is True
    assert deployer.update("prod", "v1").out_of_sync is False


def test_two_updates_at_once_are_serialised(deployer, make_bundle) -> None:
    deployer.publish(make_bundle("v1", "import time\ntime.sleep(1)\n"))
    deployer.publish(make_bundle("v2", "import time\ntime.sleep(1)\n"))
    threads = [threading.Thread(target=deployer.update, args=("prod", b)) for b in ("v1", "v2")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = deployer.status("prod").history
    assert first["outcome"] == second["outcome"] == "success"
    assert second["requested_at"] >= first["finished_at"]


def test_an_update_killed_half_way_leaves_the_previous_bundle_active(
    deployer, make_bundle, postgres_url, tmp_path
) -> None:
    deployer.publish(make_bundle("v1"))
    deployer.update("prod", "v1")
    deployer.publish(make_bundle("v2", "import time\ntime.sleep(60)\n"))
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[3])\n"
        "from include.bundles.deployer import Deployer\n"
        "Deployer.open(sys.argv[1], Path(sys.argv[2])).update('prod', 'v2')\n"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            postgres_url,
            str(tmp_path / "store"),
            str(Path(__file__).resolve().parents[2]),
        ],
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while deployer.status("prod").history[-1]["to_bundle_id"] != "v2":
        assert time.monotonic() < deadline, "the update never started"
        time.sleep(0.2)
    time.sleep(1)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()

    status = deployer.status("prod")
    assert status.active_bundle_id == "v1"
    assert served(deployer) == "VERSION = 1\n"
    assert status.history[-1]["outcome"] == "interrupted"
