"""disk.replace_atomically: a small file written whole or not at all (the onboard calibration,
the sim radio's cached periods)."""
from __future__ import annotations

import pytest

from scos_gr.disk import replace_atomically


@pytest.mark.parametrize("durable", [True, False])
def test_the_file_is_replaced_whole_and_no_temp_file_is_left(tmp_path, durable):
    target = tmp_path / "table.yml"
    target.write_bytes(b"old")
    replace_atomically(target, b"new content", durable=durable)
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["table.yml"]


def test_a_failed_replace_keeps_nothing_of_the_new_data(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()  # a file cannot be renamed over a folder
    (target / "inside").write_text("kept")
    with pytest.raises(OSError):
        replace_atomically(target, b"new", durable=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # the temp file is gone
    assert (target / "inside").read_text() == "kept"
