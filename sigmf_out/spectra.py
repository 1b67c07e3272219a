"""Reading the detector spectra back out of a detection recording.

sigmf_out writes a detection recording as ``len(detectors)`` spectra of ``fft_size`` float32 dBm
values, one annotation per detector (see :func:`metadata.detection_metadata`). The API's
``/spectrum`` endpoint (plots) and ``scos-gr acquire`` (field summary) both need them back, so
the knowledge of that layout lives here, beside the code that writes it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .writer import read_metadata


@dataclass(frozen=True)
class DetectorSpectra:
    """The spectra of a recording's first capture: short detector name -> dBm per bin (fftshifted,
    bin N/2 at ``center_frequency``)."""

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


def detector_of(annotation: dict[str, Any]) -> str | None:
    """The short detector name (min, max, mean, median, sample) an annotation describes.

    sigmf_out puts it in ``core:label``; ``ntia-algorithm:detector`` holds the SCOS long form
    (``fft_mean_power``), from which the short name is recovered for other writers' files.
    """
    if annotation.get("core:label"):
        return str(annotation["core:label"]).lower()
    long_name = str(annotation.get("ntia-algorithm:detector", "")).lower()
    if long_name.startswith("fft_") and long_name.endswith("_power"):
        return long_name[4:-6]
    return long_name or None


def read_detector_spectra(meta_path: Path | str, data_path: Path | str | None = None) -> DetectorSpectra:
    """The first capture's detector spectra of a detection recording; ``ValueError`` for any
    other recording.

    A survey recording holds one set of spectra per step, with the same labels: the first
    annotation of each detector is taken, so values and ``center_frequency`` (the first
    capture's) belong together. ``data_path`` defaults to the ``.sigmf-data`` beside
    ``meta_path``. An annotation that reaches past the data (a truncated file) is left out
    rather than read short.
    """
    meta_path = Path(meta_path)
    if data_path is None:
        data_path = meta_path.with_name(meta_path.name.replace(".sigmf-meta", ".sigmf-data"))
    metadata = read_metadata(meta_path)
    if metadata["global"]["core:datatype"] != "rf32_le":
        raise ValueError(f"{meta_path.name}: not a detection recording")
    return detector_spectra(metadata, np.fromfile(data_path, dtype="<f4"), meta_path.name)


def detector_spectra(metadata: dict[str, Any], data: np.ndarray, name: str = "recording") -> DetectorSpectra:
    """:func:`read_detector_spectra` of a recording already read (``data``: its float32 values),
    for a caller that opened the files itself; ``name`` is used in errors."""
    if metadata["global"]["core:datatype"] != "rf32_le":
        raise ValueError(f"{name}: not a detection recording")
    spectra: dict[str, np.ndarray] = {}
    for annotation in metadata.get("annotations", []):  # SigMF lists them by sample_start
        name = detector_of(annotation)
        start, count = int(annotation["core:sample_start"]), int(annotation["core:sample_count"])
        if name is None or name in spectra or count < 1 or start + count > data.size:
            continue
        spectra[name] = data[start:start + count]
    if not spectra:
        raise ValueError(f"{name}: no detector annotations")
    capture = metadata["captures"][0]
    return DetectorSpectra(center_frequency=float(capture["core:frequency"]),
                           sample_rate=float(metadata["global"]["core:sample_rate"]),
                           datetime=str(capture.get("core:datetime", "")), spectra=spectra)
