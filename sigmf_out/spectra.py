"""Reading the detector spectra back out of a detection recording, whatever its metadata version.

The API's ``/spectrum`` endpoint (the dashboard's plots), ``scos-gr acquire`` (the field summary)
and ``scos-gr show`` (offline analysis) need the spectra back, so the knowledge of the layouts
lives here, beside the code that writes them. Two layouts are read:

- the current one (NTIA extensions v2, ``docs/metadata.md``): the global
  ``ntia-algorithm:data_products`` Graph says which samples are which series: each capture's
  data holds the graph's ``series`` in order, ``length`` values each;
- the v1 one, of recordings written before (ntia-algorithm v1.0.0): one annotation per detector,
  ``core:label`` the short name (or ``ntia-algorithm:detector`` its long form
  ``fft_mean_power``), each covering its spectrum's samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .writer import read_metadata


@dataclass(frozen=True)
class DetectorSpectra:
    """The spectra of one capture: short detector name -> dBm per bin (fftshifted, bin N/2 at
    ``center_frequency``)."""

    center_frequency: float
    sample_rate: float
    datetime: str
    spectra: dict[str, np.ndarray]

    @property
    def fft_size(self) -> int:
        return len(next(iter(self.spectra.values())))

    @property
    def bin_width_hz(self) -> float:
        return self.sample_rate / self.fft_size

    def frequencies(self) -> np.ndarray:
        """The centre frequency of every bin, Hz."""
        n = self.fft_size
        return self.center_frequency + (np.arange(n) - n // 2) * self.bin_width_hz


def detector_of(annotation: Mapping[str, Any]) -> str | None:
    """The short detector name (min, max, mean, median, sample) a v1 annotation describes.

    sigmf_out put it in ``core:label``; ``ntia-algorithm:detector`` holds the SCOS long form
    (``fft_mean_power``), from which the short name is recovered for other writers' files.
    """
    if annotation.get("core:label"):
        return str(annotation["core:label"]).lower()
    long_name = str(annotation.get("ntia-algorithm:detector", "")).lower()
    if long_name.startswith("fft_") and long_name.endswith("_power"):
        return long_name[4:-6]
    return long_name or None


def is_detection(metadata: Mapping[str, Any]) -> bool:
    """Whether a recording holds detector spectra (float32 values) rather than samples."""
    return metadata["global"].get("core:datatype") == "rf32_le"


def capture_spectra(metadata: Mapping[str, Any], data: np.ndarray, source: str = "recording") -> list[DetectorSpectra]:
    """Every capture's detector spectra of a detection recording (``data``: its float32 values);
    ``ValueError`` naming ``source`` for any other recording.

    A series that reaches past the data (a truncated file) is left out rather than read short;
    a capture left with none is left out.
    """
    if not is_detection(metadata):
        raise ValueError(f"{source}: not a detection recording")
    g = metadata["global"]
    captures = list(metadata.get("captures") or [{"core:sample_start": 0}])
    if g.get("ntia-algorithm:data_products"):
        layouts = _v2_layout(g["ntia-algorithm:data_products"][0], captures)
    else:
        layouts = _v1_layout(metadata.get("annotations") or [], captures)
    found = []
    for capture, layout in zip(captures, layouts):
        spectra = {name: data[start:start + count] for name, (start, count) in layout.items()
                   if count >= 1 and start + count <= data.size}
        if spectra:
            found.append(DetectorSpectra(center_frequency=float(capture.get("core:frequency", 0.0)),
                                         sample_rate=float(g["core:sample_rate"]),
                                         datetime=str(capture.get("core:datetime", "")), spectra=spectra))
    if not found:
        raise ValueError(f"{source}: no detector spectra in its data")
    return found


def _v2_layout(graph: Mapping[str, Any], captures: list) -> list[dict[str, tuple[int, int]]]:
    length = int(graph["length"])
    series = list(graph.get("series") or [graph["name"]])
    return [{name: (int(c["core:sample_start"]) + i * length, length) for i, name in enumerate(series)}
            for c in captures]


def _v1_layout(annotations: list, captures: list) -> list[dict[str, tuple[int, int]]]:
    """Each capture's spectra: the first annotation of each detector inside the capture."""
    starts = [int(c["core:sample_start"]) for c in captures]
    ends = starts[1:] + [None]
    layouts: list[dict[str, tuple[int, int]]] = [{} for _ in captures]
    for annotation in annotations:  # SigMF lists them by sample_start
        name = detector_of(annotation)
        start, count = int(annotation["core:sample_start"]), int(annotation["core:sample_count"])
        for k, (first, end) in enumerate(zip(starts, ends)):
            if start >= first and (end is None or start < end):
                if name is not None and name not in layouts[k]:
                    layouts[k][name] = (start, count)
                break
    return layouts


def read_detector_spectra(meta_path: Path | str, data_path: Path | str | None = None) -> DetectorSpectra:
    """The first capture's detector spectra of a detection recording on disk; ``ValueError`` for
    any other recording.

    A survey recording holds one set of spectra per step: the first step's is returned, with the
    first capture's frequency. ``data_path`` defaults to the ``.sigmf-data`` beside ``meta_path``.
    """
    meta_path = Path(meta_path)
    if data_path is None:
        data_path = meta_path.with_name(meta_path.name.replace(".sigmf-meta", ".sigmf-data"))
    metadata = read_metadata(meta_path)
    if not is_detection(metadata):
        raise ValueError(f"{meta_path.name}: not a detection recording")
    return detector_spectra(metadata, np.fromfile(data_path, dtype="<f4"), meta_path.name)


def detector_spectra(metadata: dict[str, Any], data: np.ndarray, name: str = "recording") -> DetectorSpectra:
    """:func:`read_detector_spectra` of a recording already read (``data``: its float32 values),
    for a caller that opened the files itself (the API, through its checks); ``name`` is used in
    errors."""
    return capture_spectra(metadata, data, name)[0]
