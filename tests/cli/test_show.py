"""`scos-gr show`: an analyst's look at a downloaded archive, run as a user runs it."""
from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, check_catalogue
from scos_gr.flowgraphs.runner import run_action
from scos_gr.sensor_definition import parse_sensor_definition
from scos_gr.sigmf_out.archive import ArchiveMember, ArchiveStream
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext

SCOS_GR = Path(sys.executable).with_name("scos-gr")
FIXTURES = Path(__file__).resolve().parents[1] / "sigmf_out" / "fixtures"
NOISE_PER_BIN = -60 - 10 * math.log10(1024)
SENSOR = parse_sensor_definition({"sensor_spec": {"id": "roof-1", "model": "RPi"},
                                  "location": {"latitude": 39.99473, "longitude": -105.26208}}, "s.yml")


def show(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCOS_GR), "show", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, Path]:
    """A .sigmf archive of each shipped recording action as the API serves it (and one of two)."""
    work = tmp_path_factory.mktemp("show")
    catalogue = check_catalogue(DEFAULT_CATALOGUE, work / "cache").actions
    members = {}
    for task_id, (name, radio) in enumerate([("acquire700c", "sim"), ("survey_700MHz_band", "sim"),
                                             ("acquire_iq_751MHz", "sim,tones=1e6:15")], start=1):
        context = TaskContext(task_id=task_id, schedule=ScheduleInfo(name="lte"), sensor=SENSOR, classification="CUI")
        [rec] = run_action(catalogue[name], radio=radio, output_dir=work / "out", basename=f"lte_{task_id}",
                           context=context, cache_dir=work / "cache").recordings
        members[name] = ArchiveMember(f"lte_{task_id}", Path(rec.meta_path), Path(rec.data_path))

    def pack(path: Path, chosen: list[ArchiveMember]) -> Path:
        with open(path, "wb") as f:
            for chunk in ArchiveStream(chosen):
                f.write(chunk)
        return path

    found = {name: pack(work / f"{name}.sigmf", [member]) for name, member in members.items()}
    found["two"] = pack(work / "lte.sigmf", [members["acquire700c"], members["acquire_iq_751MHz"]])
    return found


def test_a_detection_recording_says_what_it_is_its_peak_and_noise_floor(archives):
    proc = show(str(archives["acquire700c"]))
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout
    assert text.startswith("lte_1: acquire700c - Single-frequency FFT power detection at 751 MHz")
    assert "task 1 of schedule entry lte" in text
    assert "roof-1 (RPi), CUI, at 39.99473 N -105.26208 E" in text
    assert "min, max, mean, median, sample of 300 DFTs of 1024 samples (blackman window, ENBW 25.93 kHz)" in text
    assert re.search(r"frequency\s+751\.0000 MHz, 20 ms", text)
    peak = re.search(r"peak\s+([\d.]+) MHz\s+(-?[\d.]+) dBm", text)
    noise = re.search(r"noise\s+(-?[\d.]+) dBm per 15\.00 kHz bin", text)
    assert abs(float(peak.group(1)) - 752.0) <= 0.015 and abs(float(peak.group(2)) + 40.0) <= 0.1
    assert abs(float(noise.group(1)) - NOISE_PER_BIN) <= 0.3
    assert re.search(r"overload\s+no\n", text)


def test_a_survey_lists_every_step_and_its_strongest_signal(archives):
    text = show(str(archives["survey_700MHz_band"])).stdout
    rows = [line for line in text.splitlines() if re.match(r"\s+\d{3}\.\d{4}\s+20", line)]
    assert len(rows) == 9
    strongest = re.search(r"strongest\s+([\d.]+) MHz\s+(-?[\d.]+) dBm \(capture 4\)", text)
    assert abs(float(strongest.group(1)) - 751.0) <= 0.015 and abs(float(strongest.group(2)) + 40.0) <= 0.1


def test_an_overloaded_iq_recording_says_so(archives):
    text = show(str(archives["acquire_iq_751MHz"])).stdout
    assert "1536000 cf32_le samples (100.0 ms)" in text
    count = int(re.search(r"overload\s+YES \((\d+) samples at full scale\)", text).group(1))
    assert 0 < count <= 1536000
    assert abs(float(re.search(r"peak\s+([\d.]+) MHz", text).group(1)) - 752.0) <= 0.015


def test_png_draws_each_recording_of_an_archive(archives, tmp_path):
    import matplotlib.image

    png = tmp_path / "lte.png"
    proc = show(str(archives["two"]), "--png", str(png))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("lte_1: acquire700c") == 1 and proc.stdout.count("lte_3: acquire_iq_751MHz") == 1
    image = matplotlib.image.imread(png)
    assert image.shape[0] > 2 * 300 and image.shape[1] >= 1000  # two panels
    top, bottom = image[: image.shape[0] // 2], image[image.shape[0] // 2:]
    for panel in (top, bottom):  # drawn, not blank
        assert len(np.unique(panel.reshape(-1, panel.shape[-1]), axis=0)) > 50


def test_a_v1_recording_written_before_is_shown_too():
    proc = show(str(FIXTURES / "v1_detection.sigmf-meta"))
    assert proc.returncode == 0, proc.stderr
    assert "v1_detection: acquire700c" in proc.stdout and "overload   not recorded" in proc.stdout
    assert re.search(r"peak\s+751\.9600 MHz", proc.stdout)


def test_a_file_that_is_not_a_recording_is_named_with_the_reason(tmp_path):
    bogus = tmp_path / "notes.sigmf"
    bogus.write_text("hello")
    proc = show(str(bogus))
    assert proc.returncode == 1 and f"error: {bogus}: not a SigMF recording" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert show(str(tmp_path / "missing.sigmf")).stderr.strip() == f"error: {tmp_path / 'missing.sigmf'}: no such file"
