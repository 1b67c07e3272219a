"""Raw IQ to disk: a writer block puts the samples in a file, then SigMF.

``iq_sink`` is a hier block: its input feeds an ``iq_writer`` writing to a hidden temp name in
the output directory and, in parallel (each in its own thread), a probe that looks at the same
buffers: what the radio knows from the ``scos_radio`` tag on the first sample (frequency, sample
rate, gain, device), the time its first sample arrived, ``rx_time``, ``scos_dropped`` and
``scos_overload`` tags, the count, and the SHA-512 of the bytes, computed while they flow. The
writer also asks the kernel to start writing the file's new data to disk as it goes
(``writer.start_writeback``), so the one fsync at the end has little left to wait for. When the
flowgraph has finished, the runner calls :meth:`iq_sink.finalize`, which checks that every
expected sample is in the file and hands it with its hash to
``sigmf_out.writer.finalize_recording`` (fsync once, rename into place, metadata written last):
the data is never read back. Until then nothing has the recording's name.

Why not GNU Radio's ``file_sink``: when a write fails (a full disk) it throws in its thread, and
the blocks upstream then wait for it forever: the task ended only at its timeout, saying so
instead of "disk full". The writer ends the flowgraph instead and keeps the error.
"""
from __future__ import annotations

import hashlib
import os
import time

import numpy as np
import pmt
from gnuradio import gr

from scos_gr.errors import BlockError
from scos_gr.sigmf_out.context import TaskContext
from scos_gr.sigmf_out.metadata import Capture, iq_metadata
from scos_gr.sigmf_out.writer import FULL_DISK_ERRNOS, finalize_recording, short_file_error, start_writeback, \
    temp_data_path

from .monitor import OVERLOAD_TAG, RADIO_TAG, overload_count_of, radio_of
from .rx_time import DROPPED_TAG, dropped_samples_of, rx_time_seconds
from .task_block import RecordingBlock
from .thread_state import KeepThreadState


#: bytes of new data after which the writer asks the kernel to start writing them to disk
WRITEBACK_BYTES = 16 << 20


class iq_writer(KeepThreadState, gr.sync_block):
    """Writes a complex stream to the file ``path`` (created when the flowgraph starts; ``path``
    may change until then). Every :data:`WRITEBACK_BYTES` it asks the kernel to start writing
    the new data to disk, so the disk writes while the data still flows.

    A write that fails (``ENOSPC``: a full disk) is kept in :attr:`error` and ends the flowgraph
    (the blocks upstream see their reader done); :attr:`bytes_written` says how far it got.
    """

    def __init__(self, path: str):
        gr.sync_block.__init__(self, "scos_iq_writer", [np.complex64], [])
        self.path = path
        self.error: OSError | None = None
        self.bytes_written = 0
        #: CPU seconds of the writer's thread spent starting the writeback
        self.writeback_cpu_seconds = 0.0
        self._fd: int | None = None
        self._written_back = 0

    def start(self) -> bool:
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o644)
        except OSError as exc:
            self.error = exc
        return KeepThreadState.start(self)

    def work(self, input_items, output_items):
        if self._fd is None:  # the file could not be made: start() kept why
            return -1
        data = memoryview(input_items[0]).cast("B")
        try:
            while data:
                done = os.write(self._fd, data)
                self.bytes_written += done
                data = data[done:]
        except OSError as exc:
            self.error = exc
            return -1  # WORK_DONE: the flowgraph ends, the runner asks finalize() why
        if self.bytes_written - self._written_back >= WRITEBACK_BYTES:
            began = time.thread_time()
            start_writeback(self._fd, self._written_back, self.bytes_written - self._written_back)
            self._written_back = self.bytes_written
            self.writeback_cpu_seconds += time.thread_time() - began
        return len(input_items[0])

    def stop(self) -> bool:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        return KeepThreadState.stop(self)


class iq_probe(KeepThreadState, gr.sync_block):
    """Watches a complex stream on its way to a file: the radio's facts, first-sample time,
    samples seen, samples reported lost, samples at full scale, and the SHA-512 of the bytes."""

    def __init__(self) -> None:
        gr.sync_block.__init__(self, "scos_iq_probe", [np.complex64], [])
        self.samples = 0
        self.first_sample_time: float | None = None
        self.radio: dict | None = None
        self.dropped_samples = 0
        self.overflows = 0
        self.overload_samples = 0
        self._sha512 = hashlib.sha512()
        #: CPU seconds of the probe's thread spent hashing: the hash is serial, so the capture
        #: cannot outrun it (bench/iq_capture.py prints its rate)
        self.hash_cpu_seconds = 0.0
        self._dropped_key = pmt.intern(DROPPED_TAG)
        self._overload_key = pmt.intern(OVERLOAD_TAG)
        self._radio_key = pmt.intern(RADIO_TAG)
        self._rx_time = pmt.intern("rx_time")

    def hexdigest(self) -> str:
        """SHA-512 of every sample seen, as stored (complex64, little-endian)."""
        return self._sha512.hexdigest()

    def work(self, input_items, output_items):
        samples = input_items[0]
        n = len(samples)
        if self.first_sample_time is None and n:
            self.first_sample_time = time.time()
        began = time.thread_time()
        self._sha512.update(samples.view(np.uint8))  # hashlib lets go of the GIL for this
        self.hash_cpu_seconds += time.thread_time() - began
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
        self.writer = iq_writer(self.temp_path)
        self.probe = iq_probe()
        self.connect(self, self.writer)
        self.connect(self, self.probe)
        self.started = time.time()

    # The task's values, given after construction (GRC callbacks: a flowgraph built before its
    # task, see scos_gr.flowgraphs.runner.prepare). Before the flowgraph starts only.
    def set_output_dir(self, output_dir: str) -> None:
        self.output_dir = str(output_dir)
        self._retarget()

    def set_basename(self, basename: str) -> None:
        self.basename = str(basename)
        self._retarget()

    def set_metadata_json(self, metadata_json: str) -> None:
        self.context = TaskContext.from_json(metadata_json)

    def step_seconds(self) -> dict[str, float]:
        """The recording's write, and the CPU time the probe's thread spent on the hash and the
        writer's on starting the writeback while the samples flowed (inside the run)."""
        return {**super().step_seconds(), "hash cpu": self.probe.hash_cpu_seconds,
                "writeback cpu": self.writer.writeback_cpu_seconds}

    def _retarget(self) -> None:
        """Write to the temp name of the current output directory and basename (the writer
        creates it when the flowgraph starts)."""
        os.makedirs(self.output_dir, exist_ok=True)
        self.temp_path = str(temp_data_path(self.output_dir, self.basename))
        self.writer.path = self.temp_path

    def finalize(self) -> None:
        """Complete the recording (called by the runner after the run): SigMF the file with the
        hash computed on the way (the data is not read again). A write that failed is the
        task's error (``DiskFull`` when the filesystem is full); a file shorter than the samples
        that reached the sink is refused by ``finalize_recording``."""
        expected = self.num_samples * np.dtype(np.complex64).itemsize
        failure = self.writer.error
        if failure is not None:
            if failure.errno in FULL_DISK_ERRNOS:
                raise short_file_error(self.temp_path, self.writer.bytes_written, expected)
            raise BlockError(f"iq_sink: writing {self.temp_path} failed after {self.writer.bytes_written} of "
                             f"{expected} bytes: {failure}")
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
        with self.timed_step("write"):  # fsync once, rename, metadata
            self.recording = finalize_recording(self.output_dir, self.basename, self.temp_path, metadata,
                                                expected_bytes=expected,
                                                sha512=probe.hexdigest())
