"""The OOT module installs like any GNU Radio OOT module: cmake configure + build + install into a prefix."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON_FILES = sorted(p.name for p in (ROOT / "blocks" / "python" / "scos").glob("*.py"))
GRC_FILES = sorted(p.name for p in (ROOT / "blocks" / "grc").glob("*.yml"))


def test_cmake_install_into_a_temporary_prefix(tmp_path):
    prefix, build = tmp_path / "prefix", tmp_path / "build"
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), f"-DCMAKE_INSTALL_PREFIX={prefix}",
                    f"-DPython3_EXECUTABLE={sys.executable}"], check=True, capture_output=True, timeout=120)
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True, timeout=300)
    subprocess.run(["cmake", "--install", str(build)], check=True, capture_output=True, timeout=120)

    [package] = list(prefix.glob("lib/python3*/site-packages/gnuradio/scos"))
    assert sorted(p.name for p in package.glob("*.py")) == PYTHON_FILES
    assert {"__init__.py", "radio.py", "sim.py", "detectors.py", "power_stats.py", "sigmf_sink.py"} <= set(PYTHON_FILES)
    # the blocks' compiled loops (blocks/lib): power_stats', the APD's and the radio monitor's
    assert {p.name for p in package.glob("_*.so")} == {"_detector_kernels.so", "_sea_kernels.so", "_monitor_kernels.so"}
    blocks_dir = prefix / "share" / "gnuradio" / "grc" / "blocks"
    assert sorted(p.name for p in blocks_dir.glob("*.yml")) == GRC_FILES
    assert {"scos_radio_source.block.yml", "scos_sim_source.block.yml", "scos_power_stats.block.yml",
            "scos_sigmf_sink.block.yml", "scos.tree.yml"} <= set(GRC_FILES)

    # the installed copy is importable as gnuradio.scos by the system interpreter (not the venv's),
    # given the scos-gr Python package it depends on (here: the venv's install of it, added after
    # the prefix so the prefix's gnuradio.scos is the one found)
    site = package.parent.parent
    env = dict(os.environ, PYTHONPATH=str(site))
    scos_gr_site = sysconfig.get_path("purelib")
    probe = subprocess.run(["/usr/bin/python3", "-c", f"import site; site.addsitedir({scos_gr_site!r}); "
                            "from gnuradio import scos; from gnuradio.scos import detectors; print(scos.__file__); "
                            "print(detectors.KERNELS._name); from gnuradio.scos import monitor; print(monitor.KERNELS._name); "
                            "print(scos.power_stats(16, 11).fft_size)"],
                           check=True, capture_output=True, text=True, env=env, timeout=60)
    lines = probe.stdout.split()
    assert lines[0].startswith(str(package)) and lines[-1] == "16"
    assert lines[1:3] == [str(package / "_detector_kernels.so"), str(package / "_monitor_kernels.so")]  # installed ones
