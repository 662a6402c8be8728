"""The shared Jinja2 environment: autoescaping by suffix, strict variables."""

from __future__ import annotations

import jinja2
import pytest

from include import templating


@pytest.fixture
def template_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(templating, "TEMPLATES", tmp_path)
    templating.environment.cache_clear()
    yield tmp_path
    templating.environment.cache_clear()


def test_html_and_svg_templates_are_autoescaped(template_folder):
    (template_folder / "page.html").write_text("<p>{{ value }}</p>")
    (template_folder / "chart.svg").write_text("<text>{{ value }}</text>")

    assert templating.render("page.html", value="<b>&") == "<p>&lt;b&gt;&amp;</p>"
    assert templating.render("chart.svg", value='"x"') == "<text>&#34;x&#34;</text>"


def test_text_templates_are_not_escaped(template_folder):
    (template_folder / "mail.txt").write_text("model {{ value }}")

    assert templating.render("mail.txt", value="<a & b>") == "model <a & b>"


def test_a_misspelt_variable_is_an_error(template_folder):
    (template_folder / "page.html").write_text("{{ valeu }}")

    with pytest.raises(jinja2.UndefinedError, match="valeu"):
        templating.render("page.html", value=1)


def test_static_files_are_read_as_text(template_folder):
    (template_folder / "style.css").write_text("body { margin: 0 }")

    assert templating.read_static("style.css") == "body { margin: 0 }"


def test_pages_and_reports_spell_quotes_as_html_escape_does(template_folder):
    (template_folder / "page.html").write_text('<p title="{{ value }}">{{ value }}</p>')

    rendered = templating.render_html("page.html", value='it\'s "x" &#39;')

    assert rendered == (
        '<p title="it&#x27;s &quot;x&quot; &amp;#39;">it&#x27;s &quot;x&quot; &amp;#39;</p>'
    )
