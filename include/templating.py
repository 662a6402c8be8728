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


def render_html(name: str, /, **context: Any) -> str:
    """``render`` for a page or report, its quotes spelt as ``html.escape`` spells them.

    Autoescaping writes ``&#39;`` and ``&#34;``; the reports and pages always had ``&#x27;`` and
    ``&quot;``, and what reads a stored report or a page may match on that. Only escaping writes
    these entities (a ``&#39;`` in the data comes out ``&amp;#39;``), so nothing else changes.
    """
    return render(name, **context).replace("&#39;", "&#x27;").replace("&#34;", "&quot;")


def read_static(name: str) -> str:
    """A file shipped beside the templates (a stylesheet), as text."""
    return (TEMPLATES / name).read_text(encoding="utf-8")
