# Pain3D: the two commands of the quick start are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.pain3d-installed
DEMO_DATA ?= demo_data

.PHONY: demo test install bench clean

# The virtual environment, rebuilt when the dependency list changes.
$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Pain3D needs Python 3.11 (Blender 4.x bpy)"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel
	$(BIN)/python -m pip install -q -e ".[all]"
	touch $(STAMP)

install: $(STAMP)

# Runs the main job on the built-in defaults: plan it, then check it against the contract.
demo: install
	$(BIN)/pain3d plan --config assets/jobs/demo.toml --out $(DEMO_DATA)
	$(BIN)/pain3d validate $(DEMO_DATA)

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/pain3d bench

clean:
	rm -rf $(VENV) $(DEMO_DATA) .pytest_cache build *.egg-info
