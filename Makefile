# scos-gr: the two commands are `make run` and `make test`; each installs whatever is missing.
#
#   make run    start the sensor on the embedded default (sim radio, SQLite in ./data, 127.0.0.1:8000)
#   make test   run the test suite (what .ci/run calls)
#   make bench  run the benchmarks under bench/ and print their figures
#   make grc    open GNU Radio Companion on flowgraphs/ with the scos blocks available

# gir1.2-gtk-3.0: GTK for GNU Radio Companion's window (`make grc`; a headless gnuradio lacks it);
# xvfb: the display the GRC GUI tests start for themselves; python3-matplotlib: `scos-gr show --png`.
# nginx, prometheus, openssl: the fleet tests start a real TLS proxy (with a throwaway CA) and a
# real Prometheus server against the sensors, as PostgreSQL is started for the store's tests.
APT_PACKAGES := gnuradio gr-osmosdr python3-venv python3-yaml python3-numpy cmake make gcc libc6-dev postgresql chromium chromium-driver gir1.2-gtk-3.0 xvfb python3-matplotlib nginx prometheus openssl
VENV := .venv
PY := $(VENV)/bin/python
# The venv sees Debian's gnuradio and numpy; pip's resolver keeps numpy<2 (pyproject pins it).
PIP := $(PY) -m pip --disable-pip-version-check -q
SITE_PACKAGES = $(shell $(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
OOT_SOURCES := CMakeLists.txt $(shell find blocks -type f -not -name '*.pyc' -not -path '*/__pycache__/*' 2>/dev/null)
PYTEST_ARGS ?=

.PHONY: run test bench grc deps system-packages clean

run: deps
	$(VENV)/bin/scos-gr serve

test: deps
	$(PY) -m pytest $(PYTEST_ARGS)

bench: deps
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

grc: deps
	GRC_BLOCKS_PATH=$(CURDIR)/$(VENV)/share/gnuradio/grc/blocks PATH=$(CURDIR)/$(VENV)/bin:$$PATH PYTHONPATH=$(SITE_PACKAGES) \
		gnuradio-companion flowgraphs/*.grc

deps: system-packages $(VENV)/.installed $(VENV)/.oot-installed $(VENV)/.flowgraphs-compiled

system-packages:
	@tools/ensure-apt-packages $(APT_PACKAGES)

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || /usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PIP) install -e '.[test]'
	@$(PY) -c 'import numpy, sys; assert numpy.__version__.startswith("1."), numpy.__file__; sys.exit(0)'
	touch $@

# The OOT module gnuradio.scos, configured, built (its C detector loops) and installed by CMake
# into the venv's prefix (Python package and the loops' library under site-packages/gnuradio/scos,
# GRC files under share/gnuradio/grc/blocks).
$(VENV)/.oot-installed: $(VENV)/.installed $(OOT_SOURCES)
	cmake -S . -B build -DCMAKE_INSTALL_PREFIX=$(CURDIR)/$(VENV) \
		-DPython3_EXECUTABLE=$(CURDIR)/$(PY) >/dev/null
	cmake --build build >/dev/null
	cmake --install build >/dev/null
	touch $@

# The shipped flowgraphs, compiled once at install time (a fresh data directory then starts
# without compiling anything); the cache is keyed by content, so a stale entry is never used.
$(VENV)/.flowgraphs-compiled: $(VENV)/.oot-installed $(wildcard flowgraphs/*.grc flowgraphs/*.py sigmf_out/windows.py)
	$(PY) -m scos_gr.flowgraphs.compiler
	touch $@

clean:
	rm -rf build $(VENV)
