"""`scos-gr show`: what a recording is, for a person holding a ``.sigmf`` archive offline.

An analyst downloads ``/api/v1/acquisitions/{entry}/{task}/archive`` (or a whole entry's) and
wants to know what is in it without writing code: which action made it, when, where it was
tuned, what the data are (detectors, window, DFTs), the strongest signal, the noise floor, and
whether the radio was overloaded or lost samples. ``scos-gr show ARCHIVE`` prints that, one
block per recording; ``--png FILE`` draws the detection spectra (every capture of a survey along
the frequency axis) or, for raw IQ, a spectrogram, with matplotlib (Debian's python3-matplotlib).

The archive is read as any outside tool reads it: sigmf-python validates each recording and
checks its ``core:sha512`` (:func:`scos_gr.sigmf_out.archive.recordings_in_archive`); a single
``.sigmf-meta`` (with its ``.sigmf-data`` beside it) is read too. Detection recordings of both
metadata layouts, the current NTIA v2 one and the v1 one of recordings written before, are
understood (:mod:`scos_gr.sigmf_out.spectra`).
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from scos_gr.errors import ScosGrError
from scos_gr.field import PEAK_HALF_WIDTH_BINS, summarize_spectra
from scos_gr.sigmf_out.spectra import DetectorSpectra, capture_spectra, is_detection

#: time-domain frame of the IQ spectrogram and of the IQ recording's averaged spectrum
IQ_FRAME = 1024
#: at most this many spectrogram rows are drawn (frames are averaged in groups beyond it)
IQ_ROWS = 600


class ShowError(ScosGrError):
    """The file is not a recording `scos-gr show` can read; the message says why."""


@dataclass(frozen=True)
class Recording:
    """One recording of an archive: its name, its metadata (plain JSON) and its samples."""

    name: str
    metadata: dict[str, Any]
    data: np.ndarray


def load(path: Path | str) -> list[Recording]:
    """Every recording of a ``.sigmf`` archive, or the one a ``.sigmf-meta`` file describes."""
    import tarfile

    import jsonschema
    from sigmf import SigMFFile
    from sigmf.error import SigMFError

    from scos_gr.sigmf_out.archive import recordings_in_archive

    path = Path(path)
    if not path.is_file():
        raise ShowError(f"{path}: no such file")
    try:
        if path.name.endswith(".sigmf-meta"):
            metadata = json.loads(path.read_text(encoding="utf-8"))
            recording = SigMFFile(metadata=metadata, data_file=str(path.with_name(path.name[:-4] + "data")))
            recording.validate()
            return [Recording(path.name[:-len(".sigmf-meta")], metadata, recording.read_samples())]
        found = recordings_in_archive(path)
    except (OSError, ValueError, tarfile.TarError, SigMFError, jsonschema.ValidationError) as exc:
        raise ShowError(f"{path}: not a SigMF recording or archive scos-gr show can read ({exc})") from None
    if not found:
        raise ShowError(f"{path}: the archive holds no recording")
    return [Recording(name, json.loads(rec.dumps()), rec.read_samples()) for name, rec in sorted(found.items())]


# --- text ------------------------------------------------------------------------------------------

def describe(recording: Recording) -> str:
    """What a person wants to know about one recording, one screen of text."""
    g = recording.metadata["global"]
    captures = recording.metadata.get("captures") or [{}]
    lines = [f"{recording.name}: {_action(g)}"]
    lines.append(f"  recorded   {captures[0].get('core:datetime', '?')}{_task(g)}")
    lines.append(f"  sensor     {_sensor(g)}")
    lines.append(f"  radio      {g.get('core:hw', '?')}, {g['core:sample_rate'] / 1e6:g} MS/s{_gain(captures[0])}")
    if is_detection(recording.metadata):
        lines += _describe_detection(recording)
    else:
        lines += _describe_iq(recording)
    return "\n".join(lines)


def _action(g: Mapping[str, Any]) -> str:
    action = g.get("ntia-scos:action") or {}
    name = action.get("name", "(no action recorded)")
    summary = action.get("summary") or g.get("core:description")
    return f"{name} - {summary}" if summary else name


def _task(g: Mapping[str, Any]) -> str:
    schedule = (g.get("ntia-scos:schedule") or {}).get("name")
    task = g.get("ntia-scos:task")
    if schedule and task is not None:
        return f" (task {task} of schedule entry {schedule})"
    return f" (schedule entry {schedule})" if schedule else ""


def _sensor(g: Mapping[str, Any]) -> str:
    sensor = g.get("ntia-sensor:sensor") or {}
    spec = sensor.get("sensor_spec") or {}
    text = spec.get("id") or sensor.get("id") or "(not recorded)"  # v1 recordings: {"id": ...}
    if spec.get("model"):
        text += f" ({spec['model']})"
    if g.get("ntia-core:classification"):
        text += f", {g['ntia-core:classification']}"
    where = (g.get("core:geolocation") or {}).get("coordinates")
    if where:
        text += f", at {where[1]:.5f} N {where[0]:.5f} E" + (f" {where[2]:g} m" if len(where) > 2 else "")
    return text


def _gain(capture: Mapping[str, Any]) -> str:
    gain = (capture.get("ntia-sensor:sigan_settings") or {}).get("gain")
    return "" if gain is None else f", gain {gain:g} dB"


def _overload(capture: Mapping[str, Any]) -> str:
    if "ntia-sensor:overload" not in capture:
        return "not recorded"
    count = capture.get("scos-gr:overload_samples")
    if not capture["ntia-sensor:overload"]:
        return "no"
    return "YES" + (f" ({count} samples at full scale)" if count is not None else "")


def _losses(capture: Mapping[str, Any]) -> str:
    dropped = capture.get("scos-gr:dropped_samples", 0)
    return f"{dropped} samples dropped" if dropped else "none"


def _dft(g: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return next((p for p in g.get("ntia-algorithm:processing_info") or [] if p.get("type") == "DFT"), None)


def _describe_detection(recording: Recording) -> list[str]:
    metadata, g = recording.metadata, recording.metadata["global"]
    steps = capture_spectra(metadata, np.asarray(recording.data, dtype=np.float32), recording.name)
    captures = metadata.get("captures") or [{}]
    first = steps[0]
    graph = (g.get("ntia-algorithm:data_products") or [{}])[0]
    dft = _dft(g)
    lines = []
    if dft:
        lines.append(f"  data       {', '.join(first.spectra)} of {dft['dfts']} DFTs of {dft['samples']} samples "
                     f"({dft['window']} window, ENBW {dft['equivalent_noise_bandwidth'] / 1e3:.2f} kHz), "
                     f"{graph.get('y_units', 'dBm')} per {first.bin_width_hz / 1e3:.2f} kHz bin"
                     + (f", referred to the {graph['reference']}" if graph.get("reference") else ""))
    else:
        lines.append(f"  data       {', '.join(first.spectra)} spectra of {first.fft_size} bins "
                     f"({first.bin_width_hz / 1e3:.2f} kHz), dBm")
    detector = "mean" if "mean" in first.spectra else next(iter(first.spectra))
    summaries = [summarize_spectra(step, detector) for step in steps]
    if len(steps) == 1:
        s = summaries[0]
        lines += [
            f"  frequency  {first.center_frequency / 1e6:.4f} MHz" + _duration(captures[0]),
            f"  peak       {s.peak_frequency_hz / 1e6:.4f} MHz  {s.peak_integrated_dbm:.2f} dBm "
            f"(+-{PEAK_HALF_WIDTH_BINS} bins; {s.peak_bin_dbm:.2f} dBm in the peak bin, {detector} detector)",
            f"  noise      {s.noise_floor_dbm_per_bin:.2f} dBm per {s.bin_width_hz / 1e3:.2f} kHz bin (median bin, "
            f"{detector} detector)",
            f"  overload   {_overload(captures[0])}",
            f"  losses     {_losses(captures[0])}",
        ]
        return lines
    lines.append(f"  {len(steps)} captures ({detector} detector; peak integrated over +-{PEAK_HALF_WIDTH_BINS} bins):")
    row = "    {:>10}  {:<27}  {:>10}  {:>8}  {:>13}  {:<8}  {}"
    lines.append(row.format("centre MHz", "time", "peak MHz", "peak dBm", "noise dBm/bin", "overload", "losses"))
    for capture, step, s in zip(captures, steps, summaries):
        lines.append(row.format(f"{step.center_frequency / 1e6:.4f}", step.datetime, f"{s.peak_frequency_hz / 1e6:.4f}",
                                f"{s.peak_integrated_dbm:.2f}", f"{s.noise_floor_dbm_per_bin:.2f}", _overload(capture),
                                _losses(capture)))
    strongest = max(range(len(steps)), key=lambda k: summaries[k].peak_integrated_dbm)
    s = summaries[strongest]
    lines.append(f"  strongest  {s.peak_frequency_hz / 1e6:.4f} MHz  {s.peak_integrated_dbm:.2f} dBm (capture {strongest})")
    return lines


def _duration(capture: Mapping[str, Any]) -> str:
    duration = capture.get("ntia-sensor:duration")
    return "" if duration is None else f", {duration} ms"


def _describe_iq(recording: Recording) -> list[str]:
    samples = np.asarray(recording.data)
    g = recording.metadata["global"]
    captures = recording.metadata.get("captures") or [{}]
    capture = captures[0]
    rate = float(g["core:sample_rate"])
    lines = [f"  data       {samples.size} {g['core:datatype']} samples ({samples.size / rate * 1e3:.1f} ms), "
             f"volts across 50 ohm at the radio input"]
    frequency = float(capture.get("core:frequency", 0.0))
    lines.append(f"  frequency  {frequency / 1e6:.4f} MHz" + _duration(capture))
    if samples.size and np.iscomplexobj(samples):
        power = float(np.mean(np.abs(samples.astype(np.complex128)) ** 2)) / 50.0
        lines.append(f"  power      {10 * math.log10(max(power, 1e-300)) + 30:.2f} dBm mean; "
                     f"largest |I|, |Q| {float(np.max(np.abs(samples.view(samples.real.dtype)))):.4g} V")
        freqs, spectrum = _iq_spectrum(samples, rate, frequency)
        if spectrum is not None:
            peak = int(np.argmax(spectrum))
            lines.append(f"  peak       {freqs[peak] / 1e6:.4f} MHz  {spectrum[peak]:.2f} dBm in its "
                         f"{rate / len(spectrum) / 1e3:.2f} kHz bin (mean of {IQ_FRAME}-point Hann spectra)")
            lines.append(f"  noise      {float(np.median(spectrum)):.2f} dBm per bin (median bin)")
    lines.append(f"  overload   {_overload(capture)}")
    lines.append(f"  losses     {_losses(capture)}")
    return lines


def _frames(samples: np.ndarray, size: int) -> np.ndarray:
    """|FFT|^2 in watts per bin (Hann, fftshifted) of consecutive frames of ``samples``."""
    count = samples.size // size
    w = np.hanning(size)
    frames = samples[:count * size].reshape(count, size) * w
    return np.abs(np.fft.fftshift(np.fft.fft(frames, axis=1), axes=1)) ** 2 / (size * np.sum(w * w) * 50.0)


def _iq_spectrum(samples: np.ndarray, rate: float, frequency: float) -> tuple[np.ndarray, np.ndarray | None]:
    size = min(IQ_FRAME, samples.size)
    if size < 8:
        return np.zeros(0), None
    watts = _frames(samples, size).mean(axis=0)
    freqs = frequency + (np.arange(size) - size // 2) * rate / size
    return freqs, 10 * np.log10(np.maximum(watts, 1e-30)) + 30


# --- pictures ----------------------------------------------------------------------------------------

def draw(recordings: Sequence[Recording], png: Path | str) -> Path:
    """Draw every recording (spectra, or an IQ spectrogram), one panel each, into ``png``."""
    try:
        import matplotlib
    except ImportError:
        raise ShowError("--png needs matplotlib: Debian's python3-matplotlib (`make deps` installs it)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(recordings), 1, figsize=(11, 4.2 * len(recordings)), squeeze=False)
    for recording, ax in zip(recordings, axes[:, 0]):
        if is_detection(recording.metadata):
            _draw_spectra(recording, ax)
        else:
            _draw_spectrogram(recording, ax, figure)
    figure.tight_layout()
    png = Path(png)
    figure.savefig(png, dpi=100)
    plt.close(figure)
    return png


def _title(recording: Recording) -> str:
    g = recording.metadata["global"]
    action = (g.get("ntia-scos:action") or {}).get("name", "")
    when = (recording.metadata.get("captures") or [{}])[0].get("core:datetime", "")
    return f"{recording.name}  {action}  {when}".strip()


def _draw_spectra(recording: Recording, ax: Any) -> None:
    steps: list[DetectorSpectra] = capture_spectra(recording.metadata, np.asarray(recording.data, np.float32),
                                                   recording.name)
    colours = {}
    for step in steps:
        freqs = step.frequencies() / 1e6
        for name, values in step.spectra.items():
            colour = colours.setdefault(name, f"C{len(colours)}")
            ax.plot(freqs, values, color=colour, linewidth=0.8, label=name if step is steps[0] else None)
    ax.set_xlabel("frequency (MHz)")
    ax.set_ylabel(f"dBm per {steps[0].bin_width_hz / 1e3:.2f} kHz bin")
    ax.set_title(_title(recording))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize="small")


def _draw_spectrogram(recording: Recording, ax: Any, figure: Any) -> None:
    samples = np.asarray(recording.data)
    if not np.iscomplexobj(samples):
        samples = samples.astype(np.complex64)
    g = recording.metadata["global"]
    rate = float(g["core:sample_rate"])
    frequency = float((recording.metadata.get("captures") or [{}])[0].get("core:frequency", 0.0))
    size = min(IQ_FRAME, max(8, samples.size))
    watts = _frames(samples, size) if samples.size >= size else np.full((1, size), 1e-30)
    group = max(1, math.ceil(len(watts) / IQ_ROWS))
    rows = watts[:len(watts) // group * group].reshape(-1, group, size).mean(axis=1) if len(watts) >= group else watts
    image = 10 * np.log10(np.maximum(rows, 1e-30)) + 30
    span = (frequency - rate / 2) / 1e6, (frequency + rate / 2) / 1e6
    seconds = len(rows) * group * size / rate
    shown = ax.imshow(image, aspect="auto", origin="upper", cmap="viridis",
                      extent=(span[0], span[1], seconds * 1e3, 0.0))
    figure.colorbar(shown, ax=ax, label=f"dBm per {rate / size / 1e3:.2f} kHz bin")
    ax.set_xlabel("frequency (MHz)")
    ax.set_ylabel("time (ms)")
    ax.set_title(_title(recording) + "  (spectrogram)")


def show(path: Path | str, png: Path | str | None = None) -> str:
    """The text `scos-gr show` prints for ``path``; draws ``png`` too when given."""
    recordings = load(path)
    text = "\n\n".join(describe(r) for r in recordings)
    if png is not None:
        text += f"\n\ndrawn: {draw(recordings, png)}"
    return text
