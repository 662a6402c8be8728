"""A model saved as a file (joblib, pickle or skops): its format, fingerprint, copy and loading.

A file model is copied into the version folder at registration (``model_file.<format>``) so that a
bundle carries it; its SHA-256 is recorded and checked before every load (see ``sources``).
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
import warnings
from pathlib import Path
from typing import Any

from include.config import ModelSettings
from include.errors import ConfigurationError, ModelIntegrityError

MODEL_COPY = "model_file"
FILE_FORMATS = ("joblib", "pickle", "skops")
_EXTENSIONS = {".joblib": "joblib", ".pkl": "pickle", ".pickle": "pickle", ".skops": "skops"}


def file_format(settings: ModelSettings) -> str:
    """``model.format``, else told by the file's extension (joblib, pkl/pickle, skops)."""
    if settings.format:
        return settings.format
    found = _EXTENSIONS.get(Path(settings.path).suffix.lower())
    if found is None:
        raise ConfigurationError(
            f"cannot tell how {settings.path} was saved from its extension: set model.format "
            f"to one of {', '.join(FILE_FORMATS)}"
        )
    return found


def copy_model_file(details: dict[str, Any], folder: Path) -> str:
    """Copy the registered file into a version folder; return its name there.

    Refuses a file that changed between its fingerprint and the copy.
    """
    name = f"{MODEL_COPY}.{details['format']}"
    shutil.copyfile(details["path"], folder / name)
    if file_sha256(folder / name) != details["sha256"]:
        raise ModelIntegrityError(
            f"model file {details['path']} changed while it was being registered; register again"
        )
    return name


def load_file_model(path: Path, file_format: str, trusted: list[str] | None = None) -> Any:
    """Unpickle a model file; only ever called on a file whose SHA-256 was just checked."""
    if file_format == "skops":
        try:
            sio = import_skops()
        except ImportError:
            raise ModelIntegrityError(
                f"{path} was saved with skops, which is not installed: pip install skops"
            ) from None
        # Only the types recorded when the user registered the file are trusted.
        return sio.load(path, trusted=trusted)
    if file_format == "joblib":
        import joblib

        return joblib.load(path)
    with path.open("rb") as handle:
        return pickle.load(handle)


def unpickle(path: Path, details: dict[str, Any], version: str) -> Any:
    try:
        return load_file_model(path, details["format"], details.get("skops_trusted_types"))
    except ModelIntegrityError:
        raise
    except Exception as exc:  # unpickling runs the file's own code: any error may come back
        raise ModelIntegrityError(
            f"model version {version}: {details['path']} cannot be loaded as {details['format']} "
            f"({type(exc).__name__}: {exc}); check model.format and the installed libraries"
        ) from None


def skops_untrusted_types(path: Path) -> list[str]:
    """Types a skops file needs trusted; recorded at registration, the user's act of trust."""
    return sorted(import_skops().get_untrusted_types(file=path))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_skops() -> Any:
    """``skops.io``, imported quietly: on import it reads every attribute of loaded modules, and
    under Airflow each deprecated lazy attribute warns, a thousand lines in a task's log."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        import skops.io

    return skops.io
