"""What the bundle tests share: a small project tree, a model, a dataset, and their bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from include.bundles.archive import create_bundle

REQUIREMENTS = (
    "# pinned\n-r base.txt\npandas==3.1.0\nscikit-learn==1.9.1  # the model\n"
    "requests>=2\nPyYAML[extra] == 6.0.4 \\\n    --hash=sha256:00\n\n"
)


@pytest.fixture
def source(tmp_path) -> Path:
    """A small project tree with the caches and hidden files a real checkout has."""
    root = tmp_path / "project"
    files = {
        "dags/x.py": "X = 1\n",
        "dags/.airflowignore": "scratch\n",
        "plugins/y.py": "Y = 2\n",
        "include/z.py": "Z = 3\n",
        "include/pkg/__init__.py": "",
        "include/__pycache__/z.cpython-311.pyc": "cache",
        "include/pkg/stale.pyc": "cache",
        "include/.hidden": "secret",
        ".git/HEAD": "ref: refs/heads/main\n",
        ".venv/lib/site.py": "",
        ".mes/datasets/x.parquet": "data",
        "README.md": "not bundled\n",
        "requirements.txt": REQUIREMENTS,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.fixture
def model_dir(tmp_path) -> Path:
    folder = tmp_path / "models" / "fraud" / "3"
    folder.mkdir(parents=True)
    (folder / "model.joblib").write_bytes(b"\x00model")
    (folder / "metadata.json").write_text("{}")
    return folder


@pytest.fixture
def dataset(tmp_path) -> Path:
    path = tmp_path / "datasets" / "transactions.parquet"
    path.parent.mkdir()
    path.write_bytes(b"PAR1 rows PAR1")
    return path


@pytest.fixture
def bundle(source, model_dir, dataset, tmp_path) -> Path:
    return create_bundle(
        "v1",
        source=source,
        release_notes="first",
        model_dir=model_dir,
        datasets=[dataset],
        out_dir=tmp_path / "bundles",
    )
