"""include/files: a file is replaced whole, or left as it was."""

from __future__ import annotations

import stat

import pytest

from include.files import size_text, write_atomically


def test_writes_the_bytes_and_returns_the_path(tmp_path):
    target = tmp_path / "report.html"
    assert write_atomically(target, lambda handle: handle.write(b"<p>new</p>")) == target
    assert target.read_bytes() == b"<p>new</p>"


def test_creates_missing_parent_folders(tmp_path):
    target = tmp_path / "a" / "b" / "profile.json"
    write_atomically(target, lambda handle: handle.write(b"{}"))
    assert target.read_bytes() == b"{}"


def test_accepts_a_string_path(tmp_path):
    target = tmp_path / "data.bin"
    result = write_atomically(str(target), lambda handle: handle.write(b"x"))
    assert result == target
    assert target.read_bytes() == b"x"


def test_replaces_an_existing_file(tmp_path):
    target = tmp_path / "report.html"
    target.write_bytes(b"old")
    write_atomically(target, lambda handle: handle.write(b"new"))
    assert target.read_bytes() == b"new"


def test_the_file_is_readable_by_others(tmp_path):
    target = tmp_path / "shared.txt"
    write_atomically(target, lambda handle: handle.write(b"x"))
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_failing_writer_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "report.html"
    target.write_bytes(b"old")

    def fail_half_way(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomically(target, fail_half_way)
    assert target.read_bytes() == b"old"
    assert [path.name for path in tmp_path.iterdir()] == ["report.html"]


def test_a_failing_writer_creates_no_file_where_there_was_none(tmp_path):
    target = tmp_path / "new.txt"

    def fail(handle):
        raise ValueError("bad content")

    with pytest.raises(ValueError, match="bad content"):
        write_atomically(target, fail)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "-"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1536, "1.5 KiB"),
        (5 * 2**20, "5.0 MiB"),
        (3 * 2**30, "3.0 GiB"),
    ],
)
def test_sizes_read_as_people_read_them(size, text) -> None:
    assert size_text(size) == text
