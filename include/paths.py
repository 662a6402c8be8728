"""Where the project keeps its local files when nothing else is configured."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def mes_home() -> Path:
    """The working folder for the embedded defaults: ``$MES_HOME``, else ``<repo>/.mes``."""
    return Path(os.environ.get("MES_HOME") or REPO_ROOT / ".mes")
