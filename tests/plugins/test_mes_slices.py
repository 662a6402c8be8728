"""The partials of partitioned evaluations: where they go, and stale ones removed."""

from __future__ import annotations

import os
import time

from mes_slices import partials_folder, prune_partials


def test_a_run_folder_is_named_safely_under_mes_home(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MES_HOME", str(tmp_path))
    folder = partials_folder(
        "the_MES", "2017-04-01/2017-05-01", "manual__2026-12-01T00:00:00+00:00"
    )
    assert folder.is_relative_to(tmp_path / "partials" / "the_MES")
    assert folder.parent.name == "2017-04-01_2017-05-01"
    assert folder.name == "manual__2026-12-01T00_00_00_00_00"


def test_stale_run_folders_are_pruned_and_fresh_ones_kept(tmp_path) -> None:
    stale = tmp_path / "2017Q2" / "run_old" / "slice-000"
    fresh = tmp_path / "2017Q3" / "run_new" / "slice-000"
    for folder in (stale, fresh):
        folder.mkdir(parents=True)
        (folder / "summary.json").write_text("{}")
    old = time.time() - 3 * 86_400
    for path in (stale / "summary.json", stale, stale.parent):
        os.utime(path, (old, old))

    removed = prune_partials(tmp_path)

    assert removed == [tmp_path / "2017Q2" / "run_old"]
    assert not stale.exists()
    assert (fresh / "summary.json").exists()
