"""The task totals behind /metrics (scos_gr.tally): what one task adds, read back as Prometheus
histograms and counters, and the losses a recording's metadata reports."""
from __future__ import annotations

import time

import pytest

from scos_gr import store, tally
from scos_gr.sigmf_out.context import ActionInfo, ScheduleInfo, TaskContext
from scos_gr.sigmf_out.metadata import Capture, Radio, Spectra, detection_metadata



def _metadata(dropped: int) -> dict:
    return detection_metadata(
        spectra=Spectra(fft_size=16, num_ffts=4, window="blackman", detectors=("min", "max", "mean", "median", "sample")),
        sample_rate=1e6, captures=[Capture(frequency=751e6, start=time.time(), samples=64, dropped_samples=dropped)],
        radio=Radio(driver="sim", args="sim"),
        context=TaskContext(task_id=1, schedule=ScheduleInfo(name="e"), action=ActionInfo(name="acquire700c")))


def test_dropped_samples_come_from_the_recordings_metadata_and_overloads_from_its_captures():
    metadata = _metadata(dropped=7)
    assert tally.recording_losses(metadata) == (7, 0)
    # what signal-v2's recordings carry per capture (NTIA v2 ntia-sensor:overload)
    overloaded = {**metadata, "captures": [{**metadata["captures"][0], "ntia-sensor:overload": True},
                                           {"core:sample_start": 80, "ntia-sensor:overload": False}]}
    assert tally.recording_losses(overloaded) == (7, 1)


def test_totals_add_up_over_tasks_and_read_back_as_cumulative_histograms(any_store):
    with store.database.connection_context():
        tally.record_task("acquire700c", "success", 0.3, 0.2, [_metadata(dropped=5)])
        tally.record_task("acquire700c", "success", 3.0, 2.0, [_metadata(dropped=1)])
        tally.record_task("acquire700c", "failure", 0.04)
        tally.record_task("logger", "success", 0.002)
        counters, histograms = tally.read()
    tasks = {tuple(sorted(labels.items())): v for labels, v in counters["scos_tasks"]}
    assert tasks == {(("action", "acquire700c"), ("status", "success")): 2,
                     (("action", "acquire700c"), ("status", "failure")): 1,
                     (("action", "logger"), ("status", "success")): 1}
    assert dict((l["action"], v) for l, v in counters["scos_dropped_samples"]) == {"acquire700c": 6, "logger": 0}
    durations = {labels["action"]: h for labels, h in histograms["scos_task_duration_seconds"]}
    buckets = dict(durations["acquire700c"].buckets)
    assert list(buckets)[-1] == "+Inf" and buckets["+Inf"] == 3
    assert buckets["0.05"] == 1 and buckets["0.5"] == 2 and buckets["2.5"] == 2 and buckets["5.0"] == 3
    counts = list(buckets.values())
    assert counts == sorted(counts)  # cumulative
    assert durations["acquire700c"].sum == pytest.approx(3.34)
    captures = {labels["action"]: h for labels, h in histograms["scos_capture_duration_seconds"]}
    assert set(captures) == {"acquire700c"} and dict(captures["acquire700c"].buckets)["+Inf"] == 2
