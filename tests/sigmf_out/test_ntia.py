"""The NTIA v2 object builders against what the NTIA extension documents say.

Each builder's output is checked for the document's required fields and types and for the
values it must carry; complete example recordings built from them (tests/sigmf_out/
ntia_examples.py) must validate with sigmf-python, survive an archive round trip read as an
outside tool reads it, and give nothing to the independent v2 checker (ntia_v2.py).
"""
from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pytest
from sigmf import SigMFFile, sigmffile

from scos_gr.calibration import UNCALIBRATED, parse_calibration
from scos_gr.errors import RecordingError
from scos_gr.sensor_definition import Location, parse_sensor_definition
from scos_gr.sigmf_out import ntia
from scos_gr.sigmf_out.spectra import DetectorSpectra
from tests.sigmf_out import ntia_examples as examples
from tests.sigmf_out.ntia_v2 import problems, project_problems

ISO_Z = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"


def validate_strict(metadata: dict) -> None:
    """sigmf-python's validation, with its undeclared-namespace warning made a failure."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SigMFFile(metadata=metadata).validate()


# --- core:extensions -----------------------------------------------------------------------------

def test_one_table_holds_every_namespace_once_at_the_versions_of_the_current_documents():
    versions = {ext.name: ext.version for ext in ntia.EXTENSIONS}
    assert len(versions) == len(ntia.EXTENSIONS)
    assert versions == {"ntia-core": "v2.0.0", "ntia-algorithm": "v2.0.1", "ntia-sensor": "v2.0.0",
                        "ntia-environment": "v1.0.0", "ntia-scos": "v1.0.0", "ntia-diagnostics": "v2.2.0",
                        "ntia-nasctn-sea": "v0.6.0", "scos-gr": "v0.2.0"}
    required = {ext.name for ext in ntia.EXTENSIONS if not ext.optional}
    assert required == {"ntia-core", "ntia-algorithm"}  # what a reader needs to know which samples are what


def test_declared_extensions_are_exactly_the_namespaces_used_in_table_order():
    metadata = {"global": {"ntia-core:classification": "UNCLASSIFIED", "ntia-scos:task": 1},
                "captures": [{"core:sample_start": 0, "ntia-sensor:duration": 3}], "annotations": []}
    assert [e["name"] for e in ntia.declared_extensions(metadata)] == ["ntia-core", "ntia-sensor", "ntia-scos"]
    metadata["global"]["ntia-sensor:sensor"] = {"sensor_spec": {"id": "x"}, "environment": {"category": "indoor"}}
    names = [e["name"] for e in ntia.declared_extensions(metadata)]
    assert names == ["ntia-core", "ntia-sensor", "ntia-environment", "ntia-scos"]
    entry = ntia.declared_extensions(metadata)[0]
    assert entry == {"name": "ntia-core", "version": "v2.0.0", "optional": False}


def test_a_namespace_missing_from_the_table_is_refused():
    metadata = {"global": {"ntia-core:classification": "U", "ntia-emitter:emitters": []}, "captures": []}
    with pytest.raises(ntia.NtiaMetadataError, match=r"\['ntia-emitter'\] are not in sigmf_out\.ntia\.EXTENSIONS"):
        ntia.declared_extensions(metadata)
    assert issubclass(ntia.NtiaMetadataError, RecordingError)


# --- small values ----------------------------------------------------------------------------------

def test_classification_defaults_to_unclassified():
    assert ntia.classification() == "UNCLASSIFIED"
    assert ntia.classification("  ") == "UNCLASSIFIED"
    assert ntia.classification(" CONTROLLED//FEDCON ") == "CONTROLLED//FEDCON"
    with pytest.raises(ntia.NtiaMetadataError, match="classification"):
        ntia.classification(3)


def test_times_are_utc_with_a_z():
    assert ntia.datetime_utc(0) == "1970-01-01T00:00:00.000000Z"
    assert ntia.datetime_utc(1.5) == "1970-01-01T00:00:01.500000Z"
    assert ntia.datetime_utc(dt.datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05.000000Z"  # naive = UTC
    plus2 = dt.datetime(2026, 1, 2, 5, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert ntia.datetime_utc(plus2) == "2026-01-02T03:04:05.000000Z"
    assert ntia.datetime_utc("2026-11-01T00:00:00Z") == "2026-11-01T00:00:00.000000Z"
    assert ntia.datetime_utc("2026-11-01 01:00:00+01:00") == "2026-11-01T00:00:00.000000Z"
    for bad in ("November 2026", float("nan"), True, None):
        with pytest.raises(ntia.NtiaMetadataError):
            ntia.datetime_utc(bad)


# --- the sensor and its location ----------------------------------------------------------------------

def test_sensor_object_is_the_definition_with_its_hash_and_the_radio_range():
    definition = examples.DEFINITION
    sensor = ntia.sensor_object(definition, frequency_low=24e6, frequency_high=1.766e9)
    assert sensor["sensor_spec"] == {"id": "roof-1", "model": "scos-gr on a Raspberry Pi"}  # required by ntia-sensor
    assert sensor["sensor_sha512"] == definition.sha512
    assert sensor["signal_analyzer"]["frequency_low"] == 24e6 and sensor["signal_analyzer"]["frequency_high"] == 1.766e9
    assert sensor["signal_analyzer"]["sigan_spec"]["id"] == "SDR-1"
    assert "location" not in sensor
    assert "frequency_low" not in definition.sensor()["signal_analyzer"]  # the definition itself is untouched
    plain = ntia.sensor_object(parse_sensor_definition({"sensor_spec": {"id": "s"}}))
    assert set(plain) == {"sensor_spec", "sensor_sha512"}
    with pytest.raises(ntia.NtiaMetadataError, match="frequency_low 2000000000.0 Hz is above"):
        ntia.sensor_object(definition, frequency_low=2e9, frequency_high=1e9)


def test_geolocation_is_a_geojson_point_longitude_first():
    assert ntia.geolocation(Location(latitude=39.99, longitude=-105.26, altitude=1655.0)) == \
        {"type": "Point", "coordinates": [-105.26, 39.99, 1655.0]}
    assert ntia.geolocation(Location(latitude=1.0, longitude=2.0)) == {"type": "Point", "coordinates": [2.0, 1.0]}


# --- the DFT, the graph, the annotations -----------------------------------------------------------------

def test_dft_object_has_every_field_the_document_requires():
    obj = ntia.dft(fft_size=1024, num_ffts=300, window="blackman", sample_rate=15.36e6)
    assert set(obj) == {"type", "id", "equivalent_noise_bandwidth", "samples", "dfts", "window", "baseband"}
    assert obj["type"] == "DFT" and obj["samples"] == 1024 and obj["dfts"] == 300
    assert obj["window"] == "blackman" and obj["baseband"] is False
    # ENBW in Hz, from the window's own coefficients (symmetric Blackman, as GNU Radio's fft_vcc)
    k = np.arange(1024)
    w = 0.42 - 0.5 * np.cos(2 * np.pi * k / 1023) + 0.08 * np.cos(4 * np.pi * k / 1023)
    assert obj["equivalent_noise_bandwidth"] == pytest.approx(1024 * np.sum(w**2) / np.sum(w) ** 2 * 15.36e6 / 1024,
                                                              rel=1e-9)
    assert ntia.dft(fft_size=8, num_ffts=1, window="rect", sample_rate=8.0)["equivalent_noise_bandwidth"] == \
        pytest.approx(1.0)
    assert ntia.dft(fft_size=8, num_ffts=1, window="hann", sample_rate=8.0, description="d")["description"] == "d"


def test_window_names_follow_the_documents_spelling():
    assert ntia.ntia_window_name("Window.Hann") == "hanning"
    assert ntia.ntia_window_name("blackmanharris") == "blackman-harris"
    assert ntia.ntia_window_name("flat_top") == "flattop"
    with pytest.raises(ntia.NtiaMetadataError, match="unknown FFT window"):
        ntia.dft(fft_size=8, num_ffts=1, window="kaiser", sample_rate=1.0)


@pytest.mark.parametrize("fft_size", [1024, 15, 16])
def test_frequency_axis_puts_bin_n_over_2_at_the_centre_like_the_reader_does(fft_size):
    axis = ntia.frequency_axis(fft_size, 15.36e6, 751e6)
    reader = DetectorSpectra(center_frequency=751e6, sample_rate=15.36e6, datetime="",
                             spectra={"mean": np.zeros(fft_size)}).frequencies()
    assert axis.step == pytest.approx(15.36e6 / fft_size)
    assert axis.start == pytest.approx(reader[0]) and axis.stop == pytest.approx(reader[-1])
    assert axis.start + (fft_size // 2) * axis.step == pytest.approx(751e6)
    assert ntia.frequency_axis(16, 16.0).start == -8.0  # baseband


def test_spectrum_graph_has_one_x_axis_per_capture_and_the_documents_required_fields():
    g = ntia.spectrum_graph(series=["mean", "max"], fft_size=1024, sample_rate=15.36e6,
                            frequencies=[704e6, 716e6], processing=["dft"], reference="antenna terminal")
    assert g["name"] == "Power Spectral Density" and g["length"] == 1024  # Graph requires name and length
    assert g["series"] == ["mean", "max"] and g["x_units"] == "Hz" and g["y_units"] == "dBm"
    assert len(g["x_start"]) == len(g["x_stop"]) == len(g["x_step"]) == 2
    assert g["x_start"][1] + 512 * g["x_step"][1] == pytest.approx(716e6)
    assert g["processing"] == ["dft"] and g["reference"] == "antenna terminal"
    assert all(isinstance(v, float) for v in g["x_start"] + g["x_stop"] + g["x_step"])


@pytest.mark.parametrize("kwargs, message", [
    ({"length": 0}, r"graph length: expected an integer >= 1"),
    ({"length": 4, "series": ["a", "a"]}, r"series: expected distinct names"),
    ({"length": 4, "x_start": [0.0], "x_stop": [3.0]}, r"x_start, x_stop and x_step go together"),
    ({"length": 4, "x_start": [0.0, 1.0], "x_stop": [3.0], "x_step": [1.0], "x_units": "Hz"}, r"of one length"),
    ({"length": 4, "x_start": [0.0], "x_stop": [3.0], "x_step": [1.0]}, r"x_units is required"),
    ({"length": 4, "x_start": [0.0], "x_stop": [4.0], "x_step": [1.0], "x_units": "Hz"}, r"end at 3.0, not 4.0"),
    ({"length": 4, "y_start": [0.0], "y_stop": [3.0]}, r"y_start, y_stop and y_step go together"),
    ({"length": 4, "y_start": [0.0], "y_stop": [3.0], "y_step": [1.0]}, r"y_units is required"),
    ({"length": 4, "y_start": [-180.0], "y_stop": [-30.0], "y_step": [1.0], "y_units": "dBm"},
     r"y axis of g: 4 values from -180.0 by 1.0 end at -177.0, not -30.0"),
])
def test_graph_refuses_axes_the_document_forbids(kwargs, message):
    with pytest.raises(ntia.NtiaMetadataError, match=message):
        ntia.graph("g", **kwargs)


def test_series_annotations_follow_the_data_layout_capture_by_capture():
    g = ntia.spectrum_graph(series=["mean", "max"], fft_size=4, sample_rate=4.0, frequencies=[100.0, 200.0],
                            processing=["dft"])
    assert ntia.samples_per_capture([g]) == 8
    annotations = ntia.series_annotations([g], [0, 8])
    assert [(a["core:sample_start"], a["core:sample_count"], a["core:label"]) for a in annotations] == \
        [(0, 4, "mean"), (4, 4, "max"), (8, 4, "mean"), (12, 4, "max")]
    # bins of capture 1 are 198, 199, 200, 201 Hz: edges half a bin beyond
    assert (annotations[2]["core:freq_lower_edge"], annotations[2]["core:freq_upper_edge"]) == (197.5, 201.5)


# --- each capture -------------------------------------------------------------------------------------------

def test_duration_is_whole_milliseconds():
    assert ntia.duration_ms(300 * 1024, 15.36e6) == 20  # acquire700c
    assert ntia.duration_ms(100 * 1024, 15.36e6) == 7   # a survey step: 6.67 ms
    assert ntia.duration_ms(1, 2000.0) == 1             # 0.5 ms rounds up
    assert isinstance(ntia.duration_ms(1536000, 15.36e6), int) and ntia.duration_ms(1536000, 15.36e6) == 100
    with pytest.raises(ntia.NtiaMetadataError):
        ntia.duration_ms(10, 0.0)


def test_sigan_settings_carry_only_what_was_set():
    assert ntia.sigan_settings(gain=40) == {"gain": 40.0}
    assert ntia.sigan_settings(gain=10.5, attenuation=0, reference_level=-30, preamp_enable=True) == \
        {"gain": 10.5, "attenuation": 0.0, "reference_level": -30.0, "preamp_enable": True}
    assert ntia.sigan_settings() == {}
    with pytest.raises(ntia.NtiaMetadataError, match="preamp_enable"):
        ntia.sigan_settings(preamp_enable=1)
    with pytest.raises(ntia.NtiaMetadataError, match="gain"):
        ntia.sigan_settings(gain=float("inf"))


def test_sensor_calibration_is_the_table_at_the_frequency():
    values = ntia.sensor_calibration(examples.CALIBRATION, 751e6)
    assert values == {"datetime": "2026-11-01T00:00:00.000000Z", "gain": pytest.approx(2.98),
                      "noise_figure": pytest.approx(5.51), "reference": "antenna terminal"}
    assert ntia.sensor_calibration(examples.CALIBRATION, 700e6, temperature=21.5, enbw=1e4) == \
        {"datetime": "2026-11-01T00:00:00.000000Z", "gain": 4.0, "noise_figure": 5.0, "enbw": 1e4,
         "reference": "antenna terminal", "temperature": 21.5}
    assert ntia.sensor_calibration(UNCALIBRATED, 751e6) is None
    undated = parse_calibration({"points": [{"frequency": 1e9, "gain_db": 1.0}]}, source="c.yml")
    assert ntia.sensor_calibration(undated, 1e9) == {"gain": 1.0, "reference": "antenna terminal"}
    misdated = parse_calibration({"calibration_datetime": "last week", "points": [{"frequency": 1e9, "gain_db": 1.0}]},
                                 source="c.yml")
    with pytest.raises(ntia.NtiaMetadataError, match=r"c\.yml: calibration_datetime: not an ISO 8601 time: 'last week'"):
        ntia.sensor_calibration(misdated, 1e9)


def test_capture_segment_carries_the_per_capture_fields():
    facts = ntia.CaptureFacts(sample_start=2048, frequency=716e6, start=1_795_000_000.5, samples=102_400,
                              sample_rate=15.36e6, overload=True, gain=30.0, dropped_samples=15_360, overflows=2,
                              overload_samples=12)
    segment = ntia.capture_segment(facts, examples.CALIBRATION)
    assert segment["core:sample_start"] == 2048 and segment["core:frequency"] == 716e6
    assert segment["core:datetime"] == "2026-11-18T11:06:40.500000Z"
    assert segment["ntia-sensor:duration"] == 8  # (102400 + 15360) / 15.36e6 = 7.67 ms: the lost samples took time too
    assert segment["ntia-sensor:overload"] is True
    assert segment["ntia-sensor:sigan_settings"] == {"gain": 30.0}
    assert segment["ntia-sensor:sensor_calibration"]["gain"] == pytest.approx(4.0 - 2.0 * 0.16)
    assert (segment["scos-gr:dropped_samples"], segment["scos-gr:overflows"], segment["scos-gr:overload_samples"]) == \
        (15_360, 2, 12)
    at_centre = ntia.capture_segment(facts, examples.CALIBRATION, calibration_frequency=752e6)
    assert at_centre["ntia-sensor:sensor_calibration"]["gain"] == pytest.approx(4.0 - 2.0 * 0.52)
    bare = ntia.capture_segment(ntia.CaptureFacts(0, 1e9, 0.0, 10, 1e3, False))
    assert "ntia-sensor:sigan_settings" not in bare and "ntia-sensor:sensor_calibration" not in bare
    assert "scos-gr:overload_samples" not in bare
    assert ntia.capture_segment(ntia.CaptureFacts(0, 1e9, 0.0, 10, 1e3, False), UNCALIBRATED).keys() == bare.keys()


@pytest.mark.parametrize("changes, message", [
    ({"overload": "no"}, r"overload: expected true or false"),
    ({"overload": False, "overload_samples": 3}, r"overload is False but 3 samples reached full scale"),
    ({"overload": True, "overload_samples": 0}, r"overload is True but 0 samples"),
    ({"dropped_samples": -1}, r"dropped_samples: expected an integer >= 0"),
    ({"sample_start": 1.5}, r"sample_start"),
])
def test_capture_segment_refuses_contradictions(changes, message):
    facts = dict(sample_start=0, frequency=1e9, start=0.0, samples=10, sample_rate=1e3, overload=False)
    facts.update(changes)
    with pytest.raises(ntia.NtiaMetadataError, match=message):
        ntia.capture_segment(ntia.CaptureFacts(**facts))


def test_loss_totals_sum_the_captures():
    captures = [{"scos-gr:dropped_samples": 3, "scos-gr:overflows": 1}, {"scos-gr:dropped_samples": 4}]
    assert ntia.loss_totals(captures) == {"scos-gr:dropped_samples": 7, "scos-gr:overflows": 1}


# --- SCOS objects and the global fields ------------------------------------------------------------------

def test_schedule_entry_and_action_have_their_required_fields():
    entry = ntia.schedule_entry("lte700", start=0, stop="2026-01-01T00:00:00Z", interval=60, priority=-5,
                                roles=["admin"])
    assert entry == {"id": "lte700", "name": "lte700", "start": "1970-01-01T00:00:00.000000Z",
                     "stop": "2026-01-01T00:00:00.000000Z", "interval": 60, "priority": -5, "roles": ["admin"]}
    assert ntia.schedule_entry("e", id="42") == {"id": "42", "name": "e"}
    with pytest.raises(ntia.NtiaMetadataError, match="interval"):
        ntia.schedule_entry("e", interval=0)
    with pytest.raises(ntia.NtiaMetadataError, match="schedule name"):
        ntia.schedule_entry("")
    assert ntia.action("a") == {"name": "a"}
    assert ntia.action("a", summary="s", description="d") == {"name": "a", "summary": "s", "description": "d"}


def test_ntia_globals_puts_each_object_under_its_key():
    dft = ntia.dft(fft_size=4, num_ffts=2, window="hann", sample_rate=4.0)
    g = ntia.graph("p", length=4, processing=["dft"])
    fields = ntia.ntia_globals(classification_marking=None, sensor={"sensor_spec": {"id": "s"}},
                               location=Location(1.0, 2.0), action_object=ntia.action("a", summary="sum"),
                               schedule=ntia.schedule_entry("e"), task=3, recording=1, data_products=[g],
                               processing_info=[dft])
    assert fields == {
        "ntia-core:classification": "UNCLASSIFIED", "ntia-sensor:sensor": {"sensor_spec": {"id": "s"}},
        "core:geolocation": {"type": "Point", "coordinates": [2.0, 1.0]},
        "ntia-scos:action": {"name": "a", "summary": "sum"}, "core:description": "sum",
        "ntia-scos:schedule": {"id": "e", "name": "e"}, "ntia-scos:task": 3, "ntia-scos:recording": 1,
        "ntia-algorithm:data_products": [g], "ntia-algorithm:processing_info": [dft],
    }
    with pytest.raises(ntia.NtiaMetadataError, match=r"processing ids \['fir'\] name no object"):
        ntia.ntia_globals(data_products=[ntia.graph("p", length=4, processing=["fir"])], processing_info=[dft])
    with pytest.raises(ntia.NtiaMetadataError, match="ids must be unique"):
        ntia.ntia_globals(processing_info=[dft, dft])


# --- complete recordings ----------------------------------------------------------------------------------

KINDS = {
    "acquire700c": lambda: examples.detection_recording(),
    "survey": lambda: examples.detection_recording(frequencies=[704.144e6 + 12.288e6 * k for k in range(9)],
                                                   series=("mean", "max"), num_ffts=100),
    "iq": lambda: examples.iq_recording(),
    "sea": lambda: examples.sea_recording(),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_complete_recordings_validate_and_satisfy_the_v2_checker(kind):
    metadata, data = KINDS[kind]()
    validate_strict(metadata)
    assert problems(metadata, data.nbytes) == []
    assert project_problems(metadata) == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_an_outside_tool_reads_the_archive(tmp_path, kind):
    metadata, data = KINDS[kind]()
    data_path = tmp_path / "rec.sigmf-data"
    data.tofile(data_path)
    SigMFFile(metadata=metadata, data_file=str(data_path)).tofile(str(tmp_path / "rec.sigmf"), toarchive=True)
    recording = sigmffile.fromarchive(str(tmp_path / "rec.sigmf"), dir=str(tmp_path / "out"))
    samples = recording.read_samples()
    assert samples.size == data.size and np.array_equal(samples, data)
    read = json.loads(json.dumps(recording._metadata))  # plain JSON, as a non-Python tool sees it
    assert read["global"]["core:sha512"]
    assert problems(read, data.nbytes) == []
    g = read["global"]
    assert g["ntia-core:classification"] == "UNCLASSIFIED"
    assert g["ntia-sensor:sensor"]["sensor_spec"]["id"] == "roof-1"
    if kind != "iq":
        lengths = {label: graph["length"] for graph in g["ntia-algorithm:data_products"]
                   for label in graph.get("series") or [graph["name"]]}
        for a in read["annotations"]:  # every series found by its annotation, where the graphs say
            start = a["core:sample_start"]
            assert a["core:label"] in lengths
            assert samples[start:start + lengths[a["core:label"]]].size == lengths[a["core:label"]]


def test_a_graph_with_a_y_axis_the_apd():
    g = ntia.graph("Amplitude Probability Distribution", length=151, x_units="percent", y_units="dBm",
                   y_start=[-180], y_stop=[-30], y_step=[1])
    assert (g["y_start"], g["y_stop"], g["y_step"], g["x_units"], g["y_units"]) == \
        ([-180.0], [-30.0], [1.0], "percent", "dBm")
    assert "x_start" not in g and "series" not in g


def test_channel_power_summaries_one_value_per_capture_or_none_at_all():
    full = [{"max_of_max": -30.04, "mean": -58.2, "median": -60.1234, "median_of_mean": -58.3},
            {"max_of_max": -31.0, "mean": -59.2, "median": -61.1, "median_of_mean": -59.3}]
    fields = ntia.channel_power_summaries(full)
    assert fields == {"ntia-nasctn-sea:max_of_max_channel_powers": [-30.04, -31.0],
                      "ntia-nasctn-sea:mean_channel_powers": [-58.2, -59.2],
                      "ntia-nasctn-sea:median_channel_powers": [-60.123, -61.1],
                      "ntia-nasctn-sea:median_of_mean_channel_powers": [-58.3, -59.3]}
    assert ntia.channel_power_summaries([full[0], {"mean": -59.2}]) == {}  # a capture without them: none
    assert ntia.channel_power_summaries([]) == {}
    with pytest.raises(ntia.NtiaMetadataError, match="expected a finite number"):
        ntia.channel_power_summaries([{**full[0], "mean": float("nan")}])


def test_products_metadata_wants_a_summary_per_capture():
    from scos_gr.sigmf_out.metadata import Capture, Radio, products_metadata

    graph = ntia.graph("Power vs. Time", series=["mean", "max"], length=2, x_units="ms", x_start=[0.0],
                       x_stop=[10.0], x_step=[10.0], y_units="dBm")
    captures = [Capture(frequency=f, start=1_795_000_000.0, samples=280_000) for f in (739e6, 751e6)]
    summary = {"max_of_max": -30.0, "mean": -40.0, "median": -41.0, "median_of_mean": -40.0}
    metadata = products_metadata(graphs=[graph], sample_rate=14e6, captures=captures, radio=Radio("sim", "sim"),
                                 summaries=[summary, summary])
    assert metadata["global"]["ntia-nasctn-sea:mean_channel_powers"] == [-40.0, -40.0]
    assert metadata["global"]["ntia-algorithm:data_products"][0]["reference"] == "radio input (uncalibrated)"
    assert [c["core:sample_start"] for c in metadata["captures"]] == [0, 4]
    assert problems(metadata, 8 * 4) == []
    with pytest.raises(ntia.NtiaMetadataError, match="1 channel power summaries for 2 captures"):
        products_metadata(graphs=[graph], sample_rate=14e6, captures=captures, radio=Radio("sim", "sim"),
                          summaries=[summary])
