"""Requirement pins: one reading (``read_pins``) for the manifest, the diff and the deployer."""

from __future__ import annotations

import sys
from importlib import metadata

import pytest

from include.bundles.archive import Manifest, compare, pinned_requirements
from include.bundles.pins import read_pins
from include.bundles.probes import unmet_requirements as _unmet_requirements
from include.errors import BundleError

PYTEST = metadata.version("pytest")


def manifest(bundle_id: str, *requirements: str) -> Manifest:
    return Manifest(bundle_id, "", "2026-01-01T00:00:00+00:00", None, (), requirements)


def test_pins_are_read_with_comments_options_and_continuations_removed():
    text = (
        "# pinned\n-r base.txt\n-c constraints.txt\n--index-url https://example.org/simple\n"
        "pandas==3.1.0\nscikit-learn==1.9.1  # the model\nrequests>=2\n"
        "PyYAML[extra] == 6.0.4 \\\n    --hash=sha256:00\n\n"
        "numpy==2.3.0 --hash=sha256:11 --hash=sha256:22\nscipy==1.16.0\t# tab before the comment\n"
    )
    pins = read_pins(text)
    assert [(p.name, p.version, p.line) for p in pins] == [
        ("pandas", "3.1.0", "pandas==3.1.0"),
        ("scikit-learn", "1.9.1", "scikit-learn==1.9.1"),
        ("pyyaml", "6.0.4", "PyYAML[extra] == 6.0.4"),
        ("numpy", "2.3.0", "numpy==2.3.0"),
        ("scipy", "1.16.0", "scipy==1.16.0"),
    ]
    assert pinned_requirements(text) == tuple(p.line for p in pins)
    assert str(pins[2]) == "pyyaml==6.0.4"


def test_names_are_canonical():
    assert [p.name for p in read_pins("Foo_Bar==1.0\nfoo.baz==2\nZOPE--Interface==3")] == [
        "foo-bar",
        "foo-baz",
        "zope-interface",
    ]


def test_requirements_that_do_not_pin_one_version_are_left_out():
    text = (
        "requests>=2\nflask\nfoo==1.*\nbar==1.0,<2\nbaz!=1.0\n"
        "qux @ https://example.org/qux-1.0.whl\n./vendor/local-1.0.whl\n"
        "git+https://example.org/repo.git#egg=thing\n-e .\n"
    )
    assert read_pins(text) == ()


def test_arbitrary_equality_is_a_pin():
    (pin,) = read_pins("legacy===1.0-custom")
    assert (pin.name, pin.version, str(pin)) == ("legacy", "1.0-custom", "legacy===1.0-custom")
    assert pin.satisfied_by("1.0-custom")


def test_a_pin_whose_marker_does_not_hold_for_this_python_is_skipped():
    text = (
        'old==1.0; python_version < "3"\n'
        'new==2.0 ; python_version >= "3"\n'
        f'platformed==3.0; sys_platform == "{sys.platform}"\n'
        'extra-only==4.0; extra == "docs"\n'
    )
    pins = read_pins(text)
    assert [p.name for p in pins] == ["new", "platformed"]
    assert pins[0].line == 'new==2.0 ; python_version >= "3"'


def test_a_malformed_line_is_refused_with_its_line_number():
    with pytest.raises(BundleError, match=r"line 3 of the requirements, 'foo==1\.0 garbage', is"):
        read_pins("# header\npandas==3.1.0\nfoo==1.0 garbage\n")
    with pytest.raises(BundleError, match=r"line 1 .*'bar==1\.0#x'.*correct it in requirements"):
        read_pins("bar==1.0#x")
    with pytest.raises(BundleError, match=r"line 2 .*'==1\.0'"):
        read_pins("ok==1\n==1.0")


def test_a_continued_line_reports_its_first_line():
    with pytest.raises(BundleError, match=r"line 2 of the requirements, 'foo==1\.0 bar==2\.0'"):
        read_pins("a==1\nfoo==1.0 \\\nbar==2.0\n")


def test_satisfied_by_follows_pep_440_equality():
    (pin,) = read_pins("foo==1.0")
    assert pin.satisfied_by("1.0")
    assert pin.satisfied_by("1.0.0")
    assert not pin.satisfied_by("1.0.1")
    assert not pin.satisfied_by(None)
    assert not pin.satisfied_by("not a version")


def test_compare_keys_pins_by_canonical_name():
    previous = manifest("v1", "Foo_Bar==1.0", "pandas==3.1.0", "dropped==1")
    current = manifest("v2", "foo-bar==1.1", "pandas==3.1.0", "added[x]==2")
    assert compare(previous, current).requirements_changed == (
        "+ added[x]==2",
        "- dropped==1",
        "foo-bar 1.0 -> 1.1",
    )


def test_compare_keeps_the_last_pin_of_a_package_pinned_twice():
    previous = manifest("v1", "foo==1.0", "Foo==2.0")
    current = manifest("v2", "foo==2.0")
    assert compare(previous, current).requirements_changed == ()


def test_unmet_requirements_reads_extras_names_and_markers_against_a_real_python():
    requirements = (
        f"PyTest[testing]=={PYTEST}",
        'no_such_package==1.0 ; python_version >= "3"',
        'skipped-package==1.0 ; python_version < "3"',
        "also-missing==2.0",
    )
    assert _unmet_requirements(requirements, sys.executable) == [
        "no-such-package==1.0 (installed: none)",
        "also-missing==2.0 (installed: none)",
    ]


def test_unmet_requirements_reports_the_installed_version():
    assert _unmet_requirements(("pytest==0.0.1",), sys.executable) == [
        f"pytest==0.0.1 (installed: {PYTEST})"
    ]
    assert _unmet_requirements((f"pytest=={PYTEST}", "requests>=2"), sys.executable) == []
