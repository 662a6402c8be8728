"""include/paths: the repository root and the working folder of the embedded defaults."""

from __future__ import annotations

from include import paths


def test_repo_root_is_the_folder_that_holds_include():
    assert (paths.REPO_ROOT / "include" / "paths.py").is_file()
    assert paths.REPO_ROOT.is_absolute()


def test_mes_home_is_the_environment_setting_when_given(tmp_path, monkeypatch):
    monkeypatch.setenv("MES_HOME", str(tmp_path / "somewhere"))
    assert paths.mes_home() == tmp_path / "somewhere"


def test_mes_home_defaults_to_dot_mes_in_the_repository(monkeypatch):
    monkeypatch.delenv("MES_HOME", raising=False)
    assert paths.mes_home() == paths.REPO_ROOT / ".mes"


def test_an_empty_mes_home_counts_as_unset(monkeypatch):
    monkeypatch.setenv("MES_HOME", "")
    assert paths.mes_home() == paths.REPO_ROOT / ".mes"
