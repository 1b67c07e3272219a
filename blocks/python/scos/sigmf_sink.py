"""The end of a detection flowgraph: detector spectra in, one SigMF recording out.

The sink takes the float stream :class:`~gnuradio.scos.power_stats` emits and nothing else: what
the spectra are (FFT size, number of FFTs, window and its ENBW, detectors in order, frequency,
sample rate, capture start, losses, overloads, gain, radio, for a survey the step and the number
of steps) it reads from the ``scos_capture`` tag on each capture's first value. Its only
parameters are where to write (``output_dir``, ``basename``) and the task's context
(``metadata_json``: task, schedule entry, sensor definition, classification, calibration).

Once it holds every capture it expects (one; a survey's ``steps``), it builds the metadata with
``scos_gr.sigmf_out.metadata.detection_metadata``, writes it with
``scos_gr.sigmf_out.writer.write_recording`` (atomic: temp files, fsync, rename) and tells the
scheduler it is done, which ends the flowgraph. A failure stops the flowgraph too and is kept in
``self.error`` (the runner reports it; the writer leaves no partial file).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pmt
from gnuradio import gr

from scos_gr.sigmf_out.context import TaskContext
from scos_gr.sigmf_out.metadata import Capture, Spectra, detection_metadata
from scos_gr.sigmf_out.writer import Recording, write_recording

from .detectors import DetectorError
from .monitor import radio_of
from .power_stats import CAPTURE_TAG
from .task_block import RecordingBlock
from .thread_state import KeepThreadState

#: scos_capture fields every capture of one recording must share (the spectra's layout)
_SHARED = ("fft_size", "num_ffts", "window", "detectors", "sample_rate", "steps", "driver", "args")


def spectra_of(info: Mapping[str, Any]) -> Spectra:
    return Spectra(fft_size=int(info["fft_size"]), num_ffts=int(info["num_ffts"]), window=str(info["window"]),
                   detectors=tuple(str(d) for d in info["detectors"]))


def capture_of(info: Mapping[str, Any]) -> Capture:
    return Capture(frequency=float(info["frequency"]), start=float(info["capture_start"]),
                   samples=int(info["fft_size"]) * int(info["num_ffts"]),
                   gain=None if info.get("gain") is None else float(info["gain"]),
                   dropped_samples=int(info.get("dropped_samples", 0)), overflows=int(info.get("overflows", 0)),
                   overload_samples=int(info.get("overload_samples", 0)))


class spectra_collector(KeepThreadState, gr.basic_block, RecordingBlock):
    """Collects every capture power_stats emits for one recording, then calls ``_write()``.

    The first value must carry a ``scos_capture`` tag: from it the sink learns how many values a
    capture holds (detectors x FFT size) and how many captures to expect (``_expected``); each
    further capture must start with its own tag and agree on the layout, else the sink fails
    naming what differs. An exception becomes ``.error`` (which the runner reports) instead of a
    crash in a scheduler thread.
    """

    def __init__(self, name: str, output_dir: str, basename: str, metadata_json: str):
        gr.basic_block.__init__(self, name, [np.float32], [])
        RecordingBlock.__init__(self)
        self.context = TaskContext.from_json(metadata_json)
        self.output_dir, self.basename = str(output_dir), str(basename)
        self.captures: list[dict[str, Any]] = []
        self._values: np.ndarray | None = None
        self._per_capture = 0
        self._have = 0
        self._capture_key = pmt.intern(CAPTURE_TAG)
        self.set_tag_propagation_policy(gr.TPP_DONT)

    def forecast(self, noutput_items, ninputs):
        return [1] * ninputs

    # The task's values, given after construction (GRC callbacks: a flowgraph built before its
    # task, see scos_gr.flowgraphs.runner.prepare). Before the flowgraph starts only.
    def set_output_dir(self, output_dir: str) -> None:
        self.output_dir = str(output_dir)

    def set_basename(self, basename: str) -> None:
        self.basename = str(basename)

    def set_metadata_json(self, metadata_json: str) -> None:
        self.context = TaskContext.from_json(metadata_json)

    def _expected(self, first: Mapping[str, Any]) -> int:  # pragma: no cover - every sink defines it
        raise NotImplementedError

    def stop(self) -> bool:
        """The flowgraph ended before the recording was complete: say how far it got."""
        if self.recording is None and self.error is None and self._values is not None:
            expected = len(self._values) // self._per_capture
            self.error = (f"{self.name()}: the stream ended after {self._have // self._per_capture} of {expected} "
                          f"captures; no recording written")
        return KeepThreadState.stop(self)

    def general_work(self, input_items, output_items):
        if self.recording is not None or self.error:
            return -1
        values = input_items[0]
        try:
            self._read_tags(len(values))
            take = min(len(values), len(self._values) - self._have)
            self._values[self._have:self._have + take] = values[:take]
            self._have += take
            self.consume(0, take)
            if self._have == len(self._values):
                if len(self.captures) != len(self._values) // self._per_capture:
                    raise DetectorError(f"{len(self.captures)} captures tagged scos_capture, "
                                        f"{len(self._values) // self._per_capture} expected")
                self.recording = self._write()
                return -1
        except Exception as exc:  # stop the flowgraph; the runner reads .error
            return self.stop_with(exc)
        return 0

    def _read_tags(self, available: int) -> None:
        start = self.nitems_read(0)
        for tag in self.get_tags_in_window(0, 0, available, self._capture_key):
            if self._values is not None and tag.offset - start >= len(self._values) - self._have:
                break  # past the last capture this recording holds
            info = dict(pmt.to_python(tag.value))
            if self._values is None:
                if tag.offset != 0:
                    break
                self._per_capture = len(info["detectors"]) * int(info["fft_size"])
                self._values = np.empty(self._expected(info) * self._per_capture, dtype=np.float32)
            elif tag.offset != len(self.captures) * self._per_capture:
                raise DetectorError(f"a scos_capture tag at value {tag.offset}, not at the start of capture "
                                    f"{len(self.captures)} ({len(self.captures) * self._per_capture})")
            else:
                first = self.captures[0]
                differ = [f"{k} {first.get(k)!r} then {info.get(k)!r}" for k in _SHARED if info.get(k) != first.get(k)]
                if differ:
                    raise DetectorError("the captures of one recording disagree: " + "; ".join(differ))
            self.captures.append(info)
        if self._values is None:
            raise DetectorError("the stream's first value carries no scos_capture tag; feed this sink from "
                                "SCOS Power Statistics (it says what the spectra are)")

    def _write(self) -> Recording:
        first = self.captures[0]
        with self.timed_step("metadata"):
            metadata = detection_metadata(spectra=spectra_of(first), sample_rate=float(first["sample_rate"]),
                                          captures=[capture_of(c) for c in self.captures], radio=radio_of(first),
                                          context=self.context)
        with self.timed_step("write"):  # SHA-512, validation, files written and made durable
            return write_recording(self.output_dir, self.basename, self._values, metadata)


class sigmf_sink(spectra_collector):
    """Write ``{output_dir}/{basename}.sigmf-meta|-data`` from the detector spectra: the first
    capture (or, when its tag says it is a survey step, all ``steps`` captures)."""

    def __init__(self, output_dir: str = ".", basename: str = "recording", metadata_json: str = "{}"):
        spectra_collector.__init__(self, "scos_sigmf_sink", output_dir, basename, metadata_json)

    def _expected(self, first: Mapping[str, Any]) -> int:
        return int(first.get("steps") or 1)
