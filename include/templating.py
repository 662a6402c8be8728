"""The one Jinja2 environment of everything the package renders as markup or text.

Templates live in ``include/templates/`` and ship with the package (and so with every bundle):
the drift report, the pages of the MES web app and the alert emails. HTML and SVG templates are
autoescaped (by their ``.html``/``.svg`` suffix), so a value from the data never needs escaping by
hand; ``.txt`` templates are not. ``StrictUndefined`` makes a misspelt variable an error instead of
an empty string.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).parent / "templates"


@cache
def environment() -> jinja2.Environment:
    """The shared environment (built once a process)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "svg"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, /, **context: Any) -> str:
    """The template ``name`` (a path under ``include/templates/``) rendered with ``context``."""
    return environment().get_template(name).render(**context)


def read_static(name: str) -> str:
    """A file shipped beside the templates (a stylesheet), as text."""
    return (TEMPLATES / name).read_text(encoding="utf-8")
