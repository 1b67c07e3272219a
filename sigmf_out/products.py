"""Reading every data product back out of a recording, by its ``ntia-algorithm:data_products`` Graphs.

:mod:`.spectra` reads the detector spectra of the first graph (what the spectrum plot shows);
this reads all of them, for the SEA recordings' four products (the dashboard's product plots,
the tests, a reader's own analysis): per capture, each graph's series with the axis the graph
gives. A graph's data follow its x axis (``x_start``/``x_step``: the PSD in Hz, power vs. time and
periodic frame power in ms) or, when it gives a y axis instead (the APD), are the x values at
those y values (the percentage of samples above each level in dBm). No GNU Radio; numpy only
when called.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .writer import read_metadata

#: the ``ntia-nasctn-sea`` channel power summaries, global lists with one value per capture
CHANNEL_SUMMARIES = ("max_of_max_channel_powers", "mean_channel_powers", "median_channel_powers",
                     "median_of_mean_channel_powers")


@dataclass(frozen=True)
class Product:
    """One graph's data for one capture: ``series`` name -> values, along ``axis`` (the graph's
    x axis, or its y axis when ``axis_is_y``: the values are then x values)."""

    name: str
    series: dict[str, np.ndarray]
    axis: np.ndarray
    axis_units: str
    values_units: str
    axis_is_y: bool = False


@dataclass(frozen=True)
class CaptureProducts:
    frequency: float
    datetime: str
    products: list[Product]


def _axis(graph: Mapping[str, Any], letter: str, capture: int) -> np.ndarray | None:
    starts, steps = graph.get(f"{letter}_start"), graph.get(f"{letter}_step")
    if not starts or not steps:
        return None
    pick = 0 if len(starts) == 1 else capture
    return float(starts[pick]) + float(steps[pick]) * np.arange(int(graph["length"]))


def capture_products(metadata: Mapping[str, Any], data: np.ndarray, source: str = "recording") -> list[CaptureProducts]:
    """Every capture's products (``data``: the recording's float32 values); ValueError naming
    ``source`` when it has no data products or its data are short of what they describe."""
    g = metadata["global"]
    graphs = g.get("ntia-algorithm:data_products") or []
    if not graphs or g.get("core:datatype") != "rf32_le":
        raise ValueError(f"{source}: no data products (ntia-algorithm:data_products) in it")
    captures = list(metadata.get("captures") or [{"core:sample_start": 0}])
    found = []
    for k, capture in enumerate(captures):
        offset = int(capture["core:sample_start"])
        products = []
        for graph in graphs:
            length = int(graph["length"])
            names = list(graph.get("series") or [graph["name"]])
            if offset + len(names) * length > data.size:
                raise ValueError(f"{source}: capture {k}'s {graph['name']} reaches past the data")
            series = {name: data[offset + i * length:offset + (i + 1) * length] for i, name in enumerate(names)}
            offset += len(names) * length
            x = _axis(graph, "x", k)
            y = _axis(graph, "y", k) if x is None else None
            axis = x if x is not None else y if y is not None else np.arange(length, dtype=np.float64)
            products.append(Product(name=str(graph["name"]), series=series, axis=axis,
                                    axis_units=str(graph.get("x_units" if y is None else "y_units") or ""),
                                    values_units=str(graph.get("y_units" if y is None else "x_units") or ""),
                                    axis_is_y=y is not None))
        found.append(CaptureProducts(frequency=float(capture.get("core:frequency", 0.0)),
                                     datetime=str(capture.get("core:datetime", "")), products=products))
    return found


def channel_summaries(metadata: Mapping[str, Any]) -> dict[str, list[float]]:
    """The ``ntia-nasctn-sea`` channel power summaries the recording holds (short names)."""
    g = metadata["global"]
    return {name: list(g[f"ntia-nasctn-sea:{name}"]) for name in CHANNEL_SUMMARIES if f"ntia-nasctn-sea:{name}" in g}


def read_products(meta_path: Path | str, data_path: Path | str | None = None) -> tuple[dict[str, Any], list[CaptureProducts]]:
    """The metadata and every capture's products of a recording on disk (``data_path``: the
    ``.sigmf-data`` beside ``meta_path`` by default)."""
    meta_path = Path(meta_path)
    if data_path is None:
        data_path = meta_path.with_name(meta_path.name.replace(".sigmf-meta", ".sigmf-data"))
    metadata = read_metadata(meta_path)
    return metadata, capture_products(metadata, np.fromfile(data_path, dtype="<f4"), meta_path.name)
