"""GET /acquisitions/{entry}/{task_id}/products: every graph of a recording, per capture, over a real
socket (the dashboard's product plots read it); a detection recording has one, raw IQ none."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scos_gr import store
from scos_gr.sigmf_out.writer import write_recording
from tests.api.helpers import add_acquisition
from tests.live_server import LiveServer
from tests.sigmf_out import ntia_examples as examples

API = "/api/v1"


def add_recording(data_dir: Path, entry: str, task_id: int, metadata: dict, data: np.ndarray) -> None:
    rec = write_recording(data_dir / "acquisitions" / entry, f"{entry}_{task_id}", data, metadata)
    with store.database.connection_context():
        store.Task.create(entry_name=entry, task_id=task_id, action="sea_700MHz", status=store.TASK_SUCCESS,
                          finished=store.utcnow(), duration_s=1.0)
        store.Acquisition.create(entry_name=entry, task_id=task_id,
                                 meta_path=str(Path(rec.meta_path).relative_to(data_dir)),
                                 data_path=str(Path(rec.data_path).relative_to(data_dir)), data_bytes=rec.data_bytes,
                                 sha512=rec.sha512, sigmf_metadata=json.loads(Path(rec.meta_path).read_text()))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("products") / "data"
    with LiveServer(data_dir, scheduler=False) as srv:
        store.init_store(f"sqlite:///{data_dir / 'scos.db'}")
        yield srv


def test_every_product_of_every_channel_with_its_axis_and_the_summaries(server):
    metadata, data = examples.sea_recording(frequencies=(739e6, 751e6))
    data = np.arange(data.size, dtype="<f4") * np.float32(-1e-3)  # every value tells where it came from
    add_recording(server.data_dir, "sea", 1, metadata, data)
    body = server.get(f"{API}/acquisitions/sea/1/products").json()
    assert [c["frequency"] for c in body["captures"]] == [739e6, 751e6]
    first = {p["name"]: p for p in body["captures"][0]["products"]}
    assert list(first) == ["Power Spectral Density", "Amplitude Probability Distribution", "Power vs. Time",
                           "Periodic Frame Power"]
    psd, apd, pvt, pfp = first.values()
    assert psd["axis_units"] == "Hz" and psd["values_units"] == "dBm" and not psd["axis_is_y"]
    assert psd["axis"][0] == pytest.approx(739e6 - 87 * 80e3) and len(psd["axis"]) == 175
    assert psd["series"]["mean"][:2] == [0.0, -0.0]  and psd["series"]["max"][0] == pytest.approx(-0.175, abs=0.01)
    assert apd["axis_is_y"] and apd["axis_units"] == "dBm" and apd["values_units"] == "percent"
    assert apd["axis"][0] == -180.0 and apd["axis"][-1] == -30.0
    assert apd["series"]["Amplitude Probability Distribution"][0] == pytest.approx(-0.35)  # right after the PSD's 350
    assert pvt["axis"][:2] == [0.0, 10.0] and list(pvt["series"]) == ["mean", "max"]
    assert len(pfp["series"]) == 6 and pfp["axis"][1] == pytest.approx(10 / 560)
    second_psd = body["captures"][1]["products"][0]
    assert second_psd["series"]["mean"][0] == pytest.approx(-4.661, abs=0.01)  # capture 1 starts at 4661
    assert body["channel_summaries"]["mean_channel_powers"] == [-58.2, -59.2]


def test_a_detection_recording_has_one_product_and_raw_iq_none(server):
    add_acquisition(server.data_dir, "det", 1, fft_size=64)
    [capture] = server.get(f"{API}/acquisitions/det/1/products").json()["captures"]
    [psd] = capture["products"]
    assert psd["name"] == "Power Spectral Density" and list(psd["series"]) == ["min", "max", "mean", "median", "sample"]
    metadata, data = examples.iq_recording()
    add_recording(server.data_dir, "iq", 1, metadata, data)
    missing = server.get(f"{API}/acquisitions/iq/1/products")
    assert missing.status == 404 and "no data products" in missing.json()["detail"]
    assert server.get(f"{API}/acquisitions/nope/1/products").status == 404
