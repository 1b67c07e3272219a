"""NTIA's SEA data products as GNU Radio blocks: APD, power vs. time, periodic frame power, and the sink.

The SEA action (``flowgraphs/sea_700MHz.grc``) steps an SCOS Channel Source over channels and
turns each channel's capture into the data products NTIA's sensors record (the public
NTIA/scos-actions "SEA" action and the ``ntia-nasctn-sea`` extension say what each is):

- the power spectral density, mean and max over the DFTs (the stock FFT chain and
  :class:`~gnuradio.scos.power_stats` with ``detectors="mean,max"``);
- :class:`apd`: the amplitude probability distribution: for each level of a fixed grid, the
  percentage of the capture's samples whose power exceeds it;
- :class:`pvt`: power vs. time: mean and max power per time bin;
- :class:`pfp`: periodic frame power: each frame period cut into ``points`` windows; each
  window's mean and max power; over the frames, their min, max and mean at every position;
- :class:`sea_sink`: collects every product of every channel and writes one SigMF recording:
  one capture per channel, one ``ntia-algorithm`` Graph per product, and the channel power
  summaries of ``ntia-nasctn-sea``.

The time-domain blocks take the power of each sample (|x|^2 in V^2: the stock
``complex_to_mag_squared`` after the source) and say only what they compute with (the bin, the
frame, the level grid, the gain correction). Where each capture begins, how many samples it has,
its frequency and time they read from the channel source's ``scos_step`` tags; the sample rate
and the radio from the ``scos_radio`` tag; losses and overloads from ``scos_dropped`` and
``scos_overload`` tags. Each product leaves its block as one run of float values per capture,
the first tagged ``scos_product`` (:func:`product_info`: the product's graph, the capture's
facts, summary values), so the sink restates nothing. The numerics are :mod:`.sea_math`'s, with
constant memory per capture. A failure stops the flowgraph and is kept in ``error``.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np
import pmt
from gnuradio import gr

from scos_gr.sigmf_out.context import TaskContext
from scos_gr.sigmf_out.writer import Recording, write_recording

from .monitor import OVERLOAD_TAG, RADIO_TAG, overload_count_of, radio_of
from .power_stats import CAPTURE_TAG, STEP_TAG, step_tags_at
from .rx_time import DROPPED_TAG, dropped_samples_of
from .sea_math import (
    PFP_SERIES, PVT_SERIES, ApdCounter, LevelGrid, PfpAccumulator, ProductError, PvtAccumulator, samples_of,
    watts_to_dbm,
)
from .task_block import RecordingBlock, TaskBlock
from .thread_state import KeepThreadState

#: Output tag on the first value of each capture's product (see :func:`product_info`).
PRODUCT_TAG = "scos_product"


def product_info(*, graph: Mapping[str, Any], capture: Mapping[str, Any],
                 summary: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The ``scos_product`` tag's value: the product's ``graph`` (an ntia-algorithm Graph without
    the recording's reference and processing), the ``capture`` it was computed from (frequency,
    time, samples, step index and count, losses, overloads, radio) and ``summary`` values (the
    channel power summaries the sink records)."""
    return {"graph": dict(graph), "capture": dict(capture), "summary": dict(summary or {})}


class capture_product(KeepThreadState, gr.basic_block, TaskBlock):
    """Base of the time-domain product blocks: float power in, one run of values per capture out.

    Subclasses implement :meth:`_begin` (a capture of ``samples`` samples at ``sample_rate``
    starts), :meth:`_take` (power values of the capture, in order) and :meth:`_finish` (the
    values, their graph and summary). At most one capture's values wait for room downstream,
    so memory does not grow with the number or length of captures.
    """

    def __init__(self, name: str):
        gr.basic_block.__init__(self, name, [np.float32], [np.float32])
        TaskBlock.__init__(self)
        self.set_tag_propagation_policy(gr.TPP_DONT)
        self.radio: dict[str, Any] | None = None
        self.captures = 0
        self._capture: dict[str, Any] | None = None  # the capture being taken
        self._remaining = 0
        self._out: np.ndarray | None = None  # a finished capture's values, not yet all passed on
        self._out_info: dict[str, Any] | None = None
        self._out_done = 0
        self._keys = {name: pmt.intern(name) for name in (RADIO_TAG, STEP_TAG, DROPPED_TAG, OVERLOAD_TAG, "rx_time")}
        self._product_key = pmt.intern(PRODUCT_TAG)

    def forecast(self, noutput_items, ninputs):
        return [1] * ninputs

    # -- the subclass' part ------------------------------------------------------------------------
    def _begin(self, samples: int, sample_rate: float) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _take(self, power: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _finish(self) -> tuple[np.ndarray, dict[str, Any], dict[str, float]]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- the stream --------------------------------------------------------------------------------
    def general_work(self, input_items, output_items):
        try:
            return self._work(input_items[0], output_items[0])
        except Exception as exc:  # stop the flowgraph, keep the reason for the runner
            return self.stop_with(exc)

    def _work(self, power: np.ndarray, out: np.ndarray) -> int:
        produced = self._emit(out, 0)
        used = 0
        while used < len(power) and self._out is None:
            if self._remaining == 0:
                self._start(used)
            take = min(self._remaining, len(power) - used)
            self._count_tags(used, used + take)
            self._take(power[used:used + take])
            used += take
            self._remaining -= take
            if self._remaining == 0:
                values, graph, summary = self._finish()
                self._out = np.asarray(values, dtype=np.float32).ravel()
                self._out_info = product_info(graph=graph, capture=self._capture or {}, summary=summary)
                self._out_done = 0
                self.captures += 1
                self._capture = None
                produced = self._emit(out, produced)
        self.consume(0, used)
        return produced

    def _emit(self, out: np.ndarray, produced: int) -> int:
        """Pass on as much of the finished capture's values as fits; the tag on the first."""
        if self._out is None:
            return produced
        n = min(len(out) - produced, len(self._out) - self._out_done)
        if n <= 0:
            return produced
        if self._out_done == 0:
            self.add_item_tag(0, self.nitems_written(0) + produced, self._product_key, pmt.to_pmt(self._out_info))
        out[produced:produced + n] = self._out[self._out_done:self._out_done + n]
        self._out_done += n
        if self._out_done == len(self._out):
            self._out = self._out_info = None
        return produced + n

    def _start(self, used: int) -> None:
        """A capture must begin here: read its ``scos_step`` tag (and ``scos_radio``, ``rx_time``)."""
        offset = self.nitems_read(0) + used
        radio, step = step_tags_at(self, used)
        self.radio = radio or self.radio
        if self.radio is None:
            raise ProductError("the input stream carries no scos_radio tag (what the radio knows: sample rate, "
                               "gain); feed this block from an SCOS Channel Source through blocks that propagate "
                               "tags (complex_to_mag_squared)")
        if step is None or not step.get("samples"):
            raise ProductError(f"sample {offset} begins no capture: a scos_step tag with the capture's samples must "
                               "mark each capture's first sample; feed this block from an SCOS Channel Source")
        sample_rate = float(self.radio["sample_rate"])
        self._remaining = int(step["samples"])
        self._capture = {
            "frequency": float(step.get("frequency", self.radio.get("frequency", 0.0))),
            "capture_start": float(step.get("capture_start") or time.time()),
            "samples": self._remaining, "sample_rate": sample_rate,
            "step_index": step.get("index"), "steps": step.get("steps"),
            "gain": self.radio.get("gain"), "driver": self.radio.get("driver"), "args": self.radio.get("args"),
            "frequency_low": self.radio.get("frequency_low"), "frequency_high": self.radio.get("frequency_high"),
            "dropped_samples": 0, "overflows": 0, "overload_samples": 0,
        }
        self._begin(self._remaining, sample_rate)

    def _count_tags(self, start: int, stop: int) -> None:
        capture = self._capture
        assert capture is not None
        for tag in self.get_tags_in_window(0, start, stop):
            key = pmt.symbol_to_string(tag.key)
            if key == DROPPED_TAG:
                dropped, overflows = dropped_samples_of(tag.value)
                capture["dropped_samples"] += dropped
                capture["overflows"] += overflows
            elif key == OVERLOAD_TAG:
                capture["overload_samples"] += overload_count_of(tag.value)
            elif key == STEP_TAG and tag.offset != self.nitems_read(0) + start:
                raise ProductError(f"a capture ({capture['samples']} samples from its scos_step tag) is cut short by "
                                   f"the next step's tag at sample {tag.offset}")

    def stop(self) -> bool:
        """The flowgraph ended inside a capture: say so, rather than let the sink fail without a cause."""
        if self.error is None and self._capture is not None:
            self.error = (f"{self.name()}: the stream ended {self._remaining} samples before the end of capture "
                          f"{self.captures} ({self._capture['samples']} samples)")
        return KeepThreadState.stop(self)


class apd(capture_product):
    """The amplitude probability distribution of each capture: per level of the grid ``min_dbm``
    to ``max_dbm`` in ``step_db`` (dBm at the calibration's reference: ``gain_correction_db`` is
    added to the samples' power), the percentage of samples whose power exceeds it. Also reports
    the median power (``summary``: ``median``), interpolated in a 0.034 dB histogram."""

    def __init__(self, min_dbm: float = -180.0, max_dbm: float = -30.0, step_db: float = 1.0,
                 gain_correction_db: float = 0.0):
        capture_product.__init__(self, "scos_apd")
        self.grid = LevelGrid(float(min_dbm), float(max_dbm), float(step_db))
        self.gain_correction_db = float(gain_correction_db)
        self._counter = ApdCounter(self.grid, self.gain_correction_db)

    def set_gain_correction_db(self, value: float) -> None:
        self.gain_correction_db = float(value)
        self._counter = ApdCounter(self.grid, self.gain_correction_db)

    def _begin(self, samples: int, sample_rate: float) -> None:
        self._counter.reset()

    def _take(self, power: np.ndarray) -> None:
        self._counter.update(power)

    def _finish(self) -> tuple[np.ndarray, dict[str, Any], dict[str, float]]:
        grid = self.grid
        graph = {"name": "Amplitude Probability Distribution", "length": grid.count, "x_units": "percent",
                 "y_units": "dBm", "y_start": [grid.min_dbm], "y_stop": [grid.max_dbm], "y_step": [grid.step_db],
                 "description": "Percentage of the capture's samples whose power exceeds each level (the y axis, "
                                f"dBm, {grid.step_db:g} dB apart)"}
        return self._counter.exceed_percent(), graph, {"median": self._counter.median_dbm()}


class pvt(capture_product):
    """Power vs. time: each capture cut into bins of ``bin_ms``; per bin the mean and the max
    power (dBm, ``gain_correction_db`` added). The capture must be a whole number of bins."""

    def __init__(self, bin_ms: float = 10.0, gain_correction_db: float = 0.0):
        capture_product.__init__(self, "scos_pvt")
        if not float(bin_ms) > 0:
            raise ProductError(f"pvt: bin_ms must be > 0, not {bin_ms}")
        self.bin_ms, self.gain_correction_db = float(bin_ms), float(gain_correction_db)
        self._acc: PvtAccumulator | None = None

    def set_gain_correction_db(self, value: float) -> None:
        self.gain_correction_db = float(value)

    def _begin(self, samples: int, sample_rate: float) -> None:
        bin_samples = samples_of(self.bin_ms * 1e-3, sample_rate, "pvt bin")
        if samples % bin_samples:
            raise ProductError(f"pvt: a capture of {samples} samples is not a whole number of {self.bin_ms:g} ms bins "
                               f"({bin_samples} samples)")
        if self._acc is None or (self._acc.bin_samples, self._acc.bins) != (bin_samples, samples // bin_samples):
            self._acc = PvtAccumulator(bin_samples, samples // bin_samples)
        self._acc.reset()

    def _take(self, power: np.ndarray) -> None:
        assert self._acc is not None
        self._acc.update(power)

    def _finish(self) -> tuple[np.ndarray, dict[str, Any], dict[str, float]]:
        acc = self._acc
        assert acc is not None and acc.complete
        mean_w, max_w = acc.mean_watts(), acc.max_watts()
        values = np.vstack([watts_to_dbm(mean_w, self.gain_correction_db), watts_to_dbm(max_w, self.gain_correction_db)])
        graph = {"name": "Power vs. Time", "series": list(PVT_SERIES), "length": acc.bins, "x_units": "ms",
                 "x_start": [0.0], "x_stop": [(acc.bins - 1) * self.bin_ms], "x_step": [self.bin_ms], "y_units": "dBm",
                 "description": f"Mean and max power of each {self.bin_ms:g} ms of the capture (x: the bin's start)"}
        summary = {"max_of_max": float(watts_to_dbm(max_w.max(), self.gain_correction_db)),
                   "mean": float(watts_to_dbm(mean_w.mean(), self.gain_correction_db)),
                   "median_of_mean": float(watts_to_dbm(np.median(mean_w), self.gain_correction_db))}
        return values, graph, summary


class pfp(capture_product):
    """Periodic frame power: the capture cut into frames of ``frame_ms``, each frame into
    ``points`` windows; each window's mean and max power; per position in the frame the min, max
    and mean of them over the capture's frames (six series, dBm, ``gain_correction_db`` added).
    The capture must be a whole number of frames, the frame a whole number of windows."""

    def __init__(self, frame_ms: float = 10.0, points: int = 560, gain_correction_db: float = 0.0):
        capture_product.__init__(self, "scos_pfp")
        if not (float(frame_ms) > 0 and int(points) >= 1):
            raise ProductError(f"pfp: frame_ms must be > 0 and points >= 1, not {frame_ms} and {points}")
        self.frame_ms, self.points, self.gain_correction_db = float(frame_ms), int(points), float(gain_correction_db)
        self._acc: PfpAccumulator | None = None

    def set_gain_correction_db(self, value: float) -> None:
        self.gain_correction_db = float(value)

    def _begin(self, samples: int, sample_rate: float) -> None:
        frame = samples_of(self.frame_ms * 1e-3, sample_rate, "pfp frame")
        if frame % self.points:
            raise ProductError(f"pfp: a frame of {frame} samples ({self.frame_ms:g} ms) does not split into {self.points} "
                               "windows of whole samples")
        if samples % frame:
            raise ProductError(f"pfp: a capture of {samples} samples is not a whole number of {self.frame_ms:g} ms "
                               f"frames ({frame} samples)")
        if self._acc is None or (self._acc.window_samples, self._acc.points) != (frame // self.points, self.points):
            self._acc = PfpAccumulator(frame // self.points, self.points)
        self._acc.reset()

    def _take(self, power: np.ndarray) -> None:
        assert self._acc is not None
        self._acc.update(power)

    def _finish(self) -> tuple[np.ndarray, dict[str, Any], dict[str, float]]:
        assert self._acc is not None
        series = self._acc.series_watts()
        values = np.vstack([watts_to_dbm(series[name], self.gain_correction_db) for name in PFP_SERIES])
        step = self.frame_ms / self.points
        graph = {"name": "Periodic Frame Power", "series": list(PFP_SERIES), "length": self.points, "x_units": "ms",
                 "x_start": [0.0], "x_stop": [(self.points - 1) * step], "x_step": [step], "y_units": "dBm",
                 "description": f"Each {self.frame_ms:g} ms frame of the capture cut into {self.points} windows; each "
                                f"window's mean and max power; per position in the frame (x: the window's start) the "
                                f"min, max and mean of them over the capture's {self._acc.frames} frames"}
        return values, graph, {}


class _Input:
    """One input of the sink: its product's runs of values, one per capture, and their tags."""

    def __init__(self, index: int):
        self.index = index
        self.values: np.ndarray | None = None  # every capture's values, filled in order
        self.per_capture = 0
        self.have = 0
        self.infos: list[dict[str, Any]] = []  # the tag of each capture: scos_product or scos_capture

    @property
    def expected(self) -> int:
        return 0 if self.values is None else len(self.values) // self.per_capture

    @property
    def complete(self) -> bool:
        return self.values is not None and self.have == len(self.values)


def _run_length(key: str, info: Mapping[str, Any]) -> int:
    """Values per capture a tag announces."""
    if key == CAPTURE_TAG:  # power_stats: its detectors' spectra
        return len(info["detectors"]) * int(info["fft_size"])
    graph = info["graph"]
    return len(graph.get("series") or [graph["name"]]) * int(graph["length"])


def _steps_of(key: str, info: Mapping[str, Any]) -> int:
    steps = info.get("steps") if key == CAPTURE_TAG else info["capture"].get("steps")
    return int(steps or 1)


class sea_sink(KeepThreadState, gr.basic_block, RecordingBlock):
    """Every data product of every channel -> one SigMF recording (``{output_dir}/{basename}``).

    Input k carries one product: SCOS Power Statistics' spectra (the PSD, tagged ``scos_capture``)
    or an SCOS APD / PVT / PFP block's values (tagged ``scos_product``), one run per capture. From
    the first tags the sink learns each run's size and how many captures (channels) to expect;
    once every input holds every capture it writes the recording: one capture per channel, each
    holding the products in input order (one Graph each, in ``ntia-algorithm:data_products``),
    the PSD's DFT in ``processing_info``, and, when the inputs include power vs. time and the APD,
    the ``ntia-nasctn-sea`` channel power summaries. The inputs must agree on each capture's
    frequency and step; a lost or overloaded sample any product saw marks the capture.
    """

    def __init__(self, output_dir: str = ".", basename: str = "recording", metadata_json: str = "{}",
                 num_inputs: int = 4):
        if int(num_inputs) < 1:
            raise ProductError(f"sea_sink: num_inputs must be >= 1, not {num_inputs}")
        gr.basic_block.__init__(self, "scos_sea_sink", [np.float32] * int(num_inputs), [])
        RecordingBlock.__init__(self)
        self.context = TaskContext.from_json(metadata_json)
        self.output_dir, self.basename = str(output_dir), str(basename)
        self.inputs = [_Input(k) for k in range(int(num_inputs))]
        self._keys = (pmt.intern(CAPTURE_TAG), pmt.intern(PRODUCT_TAG))
        self.set_tag_propagation_policy(gr.TPP_DONT)

    def forecast(self, noutput_items, ninputs):
        return [1] * ninputs

    def stop(self) -> bool:
        if self.recording is None and self.error is None and any(i.values is not None for i in self.inputs):
            state = ", ".join(f"input {i.index}: {i.have // max(i.per_capture, 1)} of {i.expected or '?'} captures"
                              for i in self.inputs)
            self.error = f"{self.name()}: the stream ended before every product of every capture arrived ({state})"
        return KeepThreadState.stop(self)

    def general_work(self, input_items, output_items):
        if self.recording is not None or self.error:
            return -1
        try:
            for port, values in enumerate(input_items):
                self._read(self.inputs[port], values)
            if all(i.complete for i in self.inputs):
                self.recording = self._write()
                return -1
        except Exception as exc:  # stop the flowgraph; the runner reads .error
            return self.stop_with(exc)
        return 0

    def _read(self, stream: _Input, values: np.ndarray) -> None:
        if stream.complete or not len(values):
            return
        start = self.nitems_read(stream.index)
        for tag in self.get_tags_in_window(stream.index, 0, len(values)):
            if not any(pmt.eq(tag.key, k) for k in self._keys):
                continue
            key = pmt.symbol_to_string(tag.key)
            info = dict(pmt.to_python(tag.value))
            position = tag.offset  # absolute: runs are back to back from the stream's first value
            if stream.values is None:
                if position != 0:
                    raise ProductError(f"input {stream.index}: the first value carries no scos_capture or scos_product "
                                       "tag")
                stream.per_capture = _run_length(key, info)
                stream.values = np.empty(_steps_of(key, info) * stream.per_capture, dtype=np.float32)
            if position >= len(stream.values):
                break
            if position != len(stream.infos) * stream.per_capture or _run_length(key, info) != stream.per_capture:
                raise ProductError(f"input {stream.index}: a {key} tag at value {position} does not begin capture "
                                   f"{len(stream.infos)} of {stream.per_capture} values")
            stream.infos.append({"key": key, **info})
        if stream.values is None:
            raise ProductError(f"input {stream.index}: the stream's first value carries no scos_capture or "
                               "scos_product tag; feed this sink from SCOS Power Statistics or an SCOS APD, PVT or "
                               "PFP block")
        take = min(len(values), len(stream.values) - stream.have)
        assert start == stream.have
        stream.values[stream.have:stream.have + take] = values[:take]
        stream.have += take
        self.consume(stream.index, take)

    def _write(self) -> Recording:
        from scos_gr.sigmf_out import ntia
        from scos_gr.sigmf_out.metadata import Capture, products_metadata

        counts = {i.expected for i in self.inputs}
        if len(counts) != 1:
            raise ProductError(f"the inputs hold different numbers of captures: {[i.expected for i in self.inputs]}")
        n = counts.pop()
        for stream in self.inputs:
            if len(stream.infos) != n:
                raise ProductError(f"input {stream.index}: {len(stream.infos)} captures tagged, {n} expected")
        captures, summaries = [], []
        for k in range(n):
            facts = [_capture_facts(stream.infos[k]) for stream in self.inputs]
            first = facts[0]
            for other, stream in zip(facts[1:], self.inputs[1:]):
                for key in ("frequency", "step_index", "samples"):
                    if other.get(key) != first.get(key):
                        raise ProductError(f"capture {k}: input {stream.index} says {key} {other.get(key)!r}, input 0 "
                                           f"{first.get(key)!r}: the products are not of the same capture")
            captures.append(Capture(
                frequency=float(first["frequency"]), start=float(first["capture_start"]), samples=int(first["samples"]),
                gain=None if first.get("gain") is None else float(first["gain"]),
                dropped_samples=max(int(f.get("dropped_samples", 0)) for f in facts),
                overflows=max(int(f.get("overflows", 0)) for f in facts),
                overload_samples=max(int(f.get("overload_samples", 0)) for f in facts)))
            summary: dict[str, float] = {}
            for stream in self.inputs:
                summary.update(stream.infos[k].get("summary") or {})
            summaries.append(summary)
        graphs, processing_info = [], []
        spectra = [stream.index for stream in self.inputs if stream.infos[0]["key"] == CAPTURE_TAG]
        for stream in self.inputs:
            first = stream.infos[0]
            if first["key"] == CAPTURE_TAG:
                dft_id = "psd_dft" if len(spectra) == 1 else f"psd_dft_{stream.index}"
                graphs.append(_psd_graph(stream.infos, processing_id=dft_id))
                processing_info.append(ntia.dft(fft_size=int(first["fft_size"]), num_ffts=int(first["num_ffts"]),
                                                window=str(first["window"]), sample_rate=float(first["sample_rate"]),
                                                id=dft_id))
            else:
                graphs.append(ntia.graph(**{key: value for key, value in first["graph"].items()}))
        radio = radio_of(_capture_facts(self.inputs[0].infos[0]))
        sample_rate = float(_capture_facts(self.inputs[0].infos[0])["sample_rate"])
        data = np.concatenate([stream.values.reshape(n, -1) for stream in self.inputs], axis=1).ravel()
        metadata = products_metadata(graphs=graphs, processing_info=processing_info, sample_rate=sample_rate,
                                     captures=captures, radio=radio, context=self.context,
                                     summaries=summaries if all(summaries) else ())
        return write_recording(self.output_dir, self.basename, data, metadata)


def _capture_facts(info: Mapping[str, Any]) -> dict[str, Any]:
    """A capture's facts from either tag: power_stats' ``scos_capture`` or a ``scos_product``."""
    if info["key"] == CAPTURE_TAG:
        return {**info, "samples": int(info["fft_size"]) * int(info["num_ffts"])}
    return dict(info["capture"])


def _psd_graph(infos: list[dict[str, Any]], processing_id: str) -> dict[str, Any]:
    from scos_gr.sigmf_out import ntia

    first = infos[0]
    return ntia.spectrum_graph(series=list(first["detectors"]), fft_size=int(first["fft_size"]),
                               sample_rate=float(first["sample_rate"]), frequencies=[float(i["frequency"]) for i in infos],
                               processing=[processing_id],
                               description=f"Mean and max power per DFT bin (dBm per bin of {first['enbw_hz']:.6g} Hz "
                                           f"ENBW) over the capture's {first['num_ffts']} {first['window']}-windowed "
                                           f"DFTs of {first['fft_size']} samples")
