"""The manifest: typed, validated, and the same JSON as the bundles made before it was typed."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pydantic
import pytest

from include.bundles.manifest import (
    MANIFEST,
    BundleDiff,
    Manifest,
    ManifestEntry,
    check_member_path,
)
from include.bundles.tarball import extract_bundle, read_manifest, verify_bundle
from include.errors import BundleError

# manifest.json of a bundle made by the code before the manifest became a pydantic model (the
# bundle v2 below, with a diff against its v1), byte for byte.
OLD_MANIFEST = """{
  "format": 1,
  "bundle_id": "v2",
  "release_notes": "second: caf\\u00e9 \\u2713",
  "created_at": "2026-12-01T02:10:16+00:00",
  "source_revision": null,
  "files": [
    {
      "path": "dags/monitor.py",
      "sha256": "da6242099d1f113b757c097ab06c8215d9705901310a661d7092b7f0dfe7fc79",
      "size": 15
    },
    {
      "path": "include/__init__.py",
      "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "size": 0
    },
    {
      "path": "include/new.py",
      "sha256": "c5636e195441c90a019d960d9811643fc158ab90312c795903b6e41bfc140eee",
      "size": 11
    },
    {
      "path": "plugins/helper.py",
      "sha256": "e13df8c44af5dea1e412403910b99cc5a48f2ccbf68a66b3374d6ab9cef9fc65",
      "size": 10
    },
    {
      "path": "requirements.txt",
      "sha256": "e9e0078f4c11f9d4e97e7260b6b2a035c6f398a28839a4973a5423ad8bdba089",
      "size": 23
    }
  ],
  "requirements": [
    "pandas==3.1.1",
    "bar==2.0"
  ],
  "diff": {
    "previous_id": "v1",
    "added": [
      "include/new.py"
    ],
    "removed": [],
    "changed": [
      "dags/monitor.py",
      "requirements.txt"
    ],
    "requirements_changed": [
      "+ bar==2.0",
      "- foo==1.0",
      "pandas 3.1.0 -> 3.1.1"
    ]
  }
}"""

# That whole bundle (v2.tar.gz), base64.
OLD_BUNDLE = (
    "H4sIAAAAAAAC/+2YyW7jRhCGdfZTELrMYcZyVa9sAQqQgw8BggmQ9ZAZCL1U2wxk0uHiJGPMA+U58mJpkbbGkexB"
    "LpGBuL8Dl+ru4s9qVjXJK1tXkbp+8UvX1LP/BkgoIcZ9Yn/PuJT3x5MdQUg+K2B2BIaut226/OxlcntSFPPYtFe2"
    "ny8LfLM9dUMdNrSuQrLMb9h8NLa0IdvRum566rYNHfmmDsvC2/huACBTvBuYRj519y3ZnsJ6dDtnwNQpslPA74Et"
    "EZaoXgMsAabOXTO0ntYt3VRd1dRpRD1sNmNTrDbj5X5OJ0VxO26T+dr2l1vHwV50Z1dNXfVNu7j+Y3Q3duguLZNq"
    "6qKYYGBMwIjInZbag9HWgfIlQxmMBmkAOYJVCoMGw5yOECLp6LV54LP6QNsgydHw8c3jkqrab4ZAZ+t1lWSt10/I"
    "Iu7AC8FMGT16FMZGF4UvjVHRmaRYWxJIQgnjDBfeCiONQadLyVwp5YEs+FeqavrtCUFeKq4IjRQCvQELaIJREEyJ"
    "qARPKmVpnQGOLEUlRYw7lRS61CCAiA7jhJ9VdL0ZLqq6O7ukzTU9NXmEPMQyxclGGcimeCATwA2CM8Z7aUUZmfcu"
    "qjJNnuNci6CSSk/RRK8Oo4SfD1NLvw5VS1dU992i/71/VJMhAF2myUKMJggymjRT4JRjFrj0KnJTWlaW3KRZ09xK"
    "wbgNpQvOQnn4QDE+aUrb93e59knF7tlPGutgu9WKL3CBd07mzrarFVvAfDc4VDGmQbd3g7ZJ1QzdfTbvBtoQKOyc"
    "FwdPyGh+f9c5aWlupu73Jn9p64t/engyGQ+iuuf8U+v6Ebevi91N7jyeFrFpVit8aJviU2zDA8XpF8UUp+lSJ9vw"
    "fpxl9tmbs+dY/wFQ76//mrG8/h+DH8+//e6rb94Wq+LVDXt1khPihfHI28rx83//GFEonfP/mPM/rfrP8v2X6j/f"
    "r/+SyTz/x+Dt+U/b2v/Xn7n2v0gOvsKeJf/Zfv1nEnL+H+X978uvfzhPFQBz+r9I9j/Nn2X9Z/og/3nO/+PU/4c/"
    "lU7uf7TkYpDJZDKZTCaTyWQymcz/ib8BDCC3pgAoAAA="
)


@pytest.fixture
def old_bundle(tmp_path) -> Path:
    path = tmp_path / "v2.tar.gz"
    path.write_bytes(base64.b64decode("".join(OLD_BUNDLE)))
    return path


def test_an_old_manifest_reads_and_writes_back_byte_for_byte():
    manifest = Manifest.from_dict(json.loads(OLD_MANIFEST))
    assert manifest.bundle_id == "v2"
    assert manifest.release_notes == "second: café ✓"
    assert manifest.files[2] == ManifestEntry(
        path="include/new.py",
        sha256="c5636e195441c90a019d960d9811643fc158ab90312c795903b6e41bfc140eee",
        size=11,
    )
    assert manifest.diff == BundleDiff(
        previous_id="v1",
        added=("include/new.py",),
        changed=("dags/monitor.py", "requirements.txt"),
        requirements_changed=("+ bar==2.0", "- foo==1.0", "pandas 3.1.0 -> 3.1.1"),
    )
    assert manifest.to_bytes() == OLD_MANIFEST.encode()


def test_an_old_bundle_verifies_and_extracts(old_bundle, tmp_path):
    assert read_manifest(old_bundle) == verify_bundle(old_bundle)
    manifest = extract_bundle(old_bundle, tmp_path / "release")
    assert manifest == Manifest.from_dict(json.loads(OLD_MANIFEST))
    assert (tmp_path / "release" / MANIFEST).read_text() == OLD_MANIFEST
    assert (tmp_path / "release" / "include" / "new.py").read_text() == "NEW = 'é'\n"


def test_a_manifest_is_immutable_and_takes_its_fields_in_order():
    manifest = Manifest("v1", "notes", "2026-01-01T00:00:00+00:00", None, (), ("a==1",))
    assert manifest == Manifest(
        bundle_id="v1",
        release_notes="notes",
        created_at="2026-01-01T00:00:00+00:00",
        source_revision=None,
        files=(),
        requirements=("a==1",),
    )
    assert manifest.diff is None
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        manifest.bundle_id = "v2"


def changed(**fields) -> dict:
    data = json.loads(OLD_MANIFEST)
    for key, value in fields.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    return data


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            changed(format=2),
            r"bundle manifest format 2 is not supported \(this code reads format 1\)",
        ),
        ([1, 2], r"bundle manifest is malformed \(not an object with a 'format'"),
        (changed(format=None), r"bundle manifest is malformed \(not an object with a 'format'"),
        (changed(files=None), r"bundle manifest is malformed \(files: Field required\)"),
        (
            changed(files=[{"path": "dags/x.py", "sha256": "00", "size": "many"}]),
            r"malformed \(files\.0\.size: Input should be a valid integer",
        ),
        (changed(bundle_id=3), r"malformed \(bundle_id: Input should be a valid string\)"),
        (changed(requirements="pandas==3.1.1"), r"malformed \(requirements: Input should be"),
        (changed(diff={"added": []}), r"malformed \(diff\.previous_id: Field required\)"),
        (changed(bundle_id="../v2"), "invalid bundle id '../v2'"),
        (
            changed(files=[{"path": "/etc/passwd", "sha256": "00", "size": 1}]),
            "/etc/passwd: an absolute path in a bundle; refused",
        ),
    ],
)
def test_a_corrupt_manifest_is_refused_saying_what_is_wrong(data, message):
    with pytest.raises(BundleError, match=message) as refused:
        Manifest.from_dict(data)
    assert "Traceback" not in str(refused.value)
    if "malformed" in message:
        assert str(refused.value).endswith(": make the bundle again")


@pytest.mark.parametrize("path", ["dags/x.py", "model/v1/model.joblib", ".airflowignore"])
def test_plain_relative_paths_may_be_in_a_bundle(path):
    check_member_path(path)


@pytest.mark.parametrize("path", ["/x", "C:x", "a\\b", "../x", "a/../b", "./a", "a//b", ""])
def test_other_paths_may_not(path):
    with pytest.raises(BundleError, match="refused"):
        check_member_path(path)
