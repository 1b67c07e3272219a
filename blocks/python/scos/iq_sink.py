"""Raw IQ to disk: a stock file sink writes the samples (no copy through Python), then SigMF.

``iq_sink`` is a hier block: its input feeds a ``blocks.file_sink`` writing to a hidden temp
name in the output directory, and, in parallel, a small probe that only looks at the stream
(what the radio knows from the ``scos_radio`` tag on the first sample: frequency, sample rate,
gain, device; the time its first sample arrived, ``rx_time``, ``scos_dropped`` and
``scos_overload`` tags, the count). When the flowgraph has finished, the runner calls
:meth:`iq_sink.finalize`, which closes the file, checks that every expected sample is there,
and hands it to ``sigmf_out.writer.finalize_recording`` (hash, rename into place, metadata
written last). Until then nothing has the recording's name.
"""
from __future__ import annotations

import os
import time

import numpy as np
import pmt
from gnuradio import blocks, gr

from scos_gr.errors import BlockError
from scos_gr.sigmf_out.context import TaskContext
from scos_gr.sigmf_out.metadata import Capture, iq_metadata
from scos_gr.sigmf_out.writer import finalize_recording, temp_data_path

from .monitor import OVERLOAD_TAG, RADIO_TAG, overload_count_of, radio_of
from .rx_time import DROPPED_TAG, dropped_samples_of, rx_time_seconds
from .task_block import RecordingBlock


class iq_probe(gr.sync_block):
    """Watches a complex stream: the radio's facts, first-sample time, samples seen, samples
    reported lost, samples at full scale."""

    def __init__(self):
        gr.sync_block.__init__(self, "scos_iq_probe", [np.complex64], [])
        self.samples = 0
        self.first_sample_time: float | None = None
        self.radio: dict | None = None
        self.dropped_samples = 0
        self.overflows = 0
        self.overload_samples = 0
        self._dropped_key = pmt.intern(DROPPED_TAG)
        self._overload_key = pmt.intern(OVERLOAD_TAG)
        self._radio_key = pmt.intern(RADIO_TAG)
        self._rx_time = pmt.intern("rx_time")

    def work(self, input_items, output_items):
        n = len(input_items[0])
        if self.first_sample_time is None and n:
            self.first_sample_time = time.time()
        for tag in self.get_tags_in_window(0, 0, n):
            if pmt.eq(tag.key, self._dropped_key):
                dropped, overflows = dropped_samples_of(tag.value)
                self.dropped_samples += dropped
                self.overflows += overflows
            elif pmt.eq(tag.key, self._overload_key):
                self.overload_samples += overload_count_of(tag.value)
            elif pmt.eq(tag.key, self._radio_key) and tag.offset == 0:
                self.radio = dict(pmt.to_python(tag.value))
            elif pmt.eq(tag.key, self._rx_time) and tag.offset == 0:
                seconds = rx_time_seconds(tag.value)
                if seconds:
                    self.first_sample_time = seconds
        self.samples += n
        return n


class iq_sink(gr.hier_block2, RecordingBlock):
    """Write ``num_samples`` complex64 samples as ``{output_dir}/{basename}.sigmf-data|-meta``.

    ``num_samples`` is how many the flowgraph passes (its head block's count): fewer fail the
    task. Frequency, sample rate and gain come from the stream's ``scos_radio`` tag.
    """

    def __init__(self, num_samples: int = 1536000, output_dir: str = ".", basename: str = "recording",
                 metadata_json: str = "{}"):
        gr.hier_block2.__init__(self, "scos_iq_sink", gr.io_signature(1, 1, gr.sizeof_gr_complex),
                                gr.io_signature(0, 0, 0))
        RecordingBlock.__init__(self)
        self.num_samples = int(num_samples)
        self.output_dir, self.basename = str(output_dir), str(basename)
        self.context = TaskContext.from_json(metadata_json)
        os.makedirs(self.output_dir, exist_ok=True)
        self.temp_path = str(temp_data_path(self.output_dir, self.basename))
        self.file_sink = blocks.file_sink(gr.sizeof_gr_complex, self.temp_path, False)
        self.file_sink.set_unbuffered(False)
        self.probe = iq_probe()
        self.connect(self, self.file_sink)
        self.connect(self, self.probe)
        self.started = time.time()

    def finalize(self) -> None:
        """Close the file and complete the recording (called by the runner after the run)."""
        self.file_sink.close()
        probe = self.probe
        written = probe.samples
        if written != self.num_samples:
            raise BlockError(f"iq_sink: {written} samples arrived, {self.num_samples} expected")
        radio = probe.radio
        if radio is None:
            raise BlockError("iq_sink: the stream's first sample carries no scos_radio tag (what the radio knows: "
                             "frequency, sample rate, gain); feed it from an SCOS Radio Source through blocks that "
                             "propagate tags")
        capture = Capture(frequency=float(radio["frequency"]), start=probe.first_sample_time or self.started,
                          samples=written, gain=radio.get("gain"), dropped_samples=probe.dropped_samples,
                          overflows=probe.overflows, overload_samples=probe.overload_samples)
        metadata = iq_metadata(
            sample_rate=float(radio["sample_rate"]), capture=capture,
            radio=radio_of(radio), context=self.context)
        self.recording = finalize_recording(self.output_dir, self.basename, self.temp_path, metadata,
                                            expected_bytes=written * np.dtype(np.complex64).itemsize)
