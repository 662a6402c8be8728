"""Where the project keeps its local files when nothing else is configured."""

from __future__ import annotations

from pathlib import Path

from include.settings import REPO_ROOT, current

__all__ = ["REPO_ROOT", "mes_home"]


def mes_home() -> Path:
    """The working folder for the embedded defaults: ``$MES_HOME``, else ``<repo>/.mes``."""
    return current().mes_home
