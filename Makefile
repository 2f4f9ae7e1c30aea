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

# Debian's SLURM and munge for the cluster tests, where this machine lets us install them.
SYSTEM_STAMP := $(VENV)/.system-deps
$(SYSTEM_STAMP): $(STAMP)
	@if command -v sbatch >/dev/null && command -v munged >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null \
		|| echo "note: could not install slurm-wlm/munge; the SLURM tests will be skipped"; \
	else echo "note: slurm-wlm/munge not installed (needs root and apt); the SLURM tests will be skipped"; fi
	touch $(SYSTEM_STAMP)

install: $(STAMP)

DEMO_RUNS ?= $(DEMO_DATA)-runs

# Runs the main job on the built-in defaults: plan, textures, render, merge and validate (resumes
# if stopped), then a tiny ViTPain teacher and student, the student's evaluation and the data report.
demo: install
	$(BIN)/pain3d generate --config assets/jobs/demo.toml --out $(DEMO_DATA)
	$(BIN)/pain3d train --data $(DEMO_DATA) --role teacher --config assets/train/demo.toml --out $(DEMO_RUNS)/teacher
	$(BIN)/pain3d train --data $(DEMO_DATA) --role student --config assets/train/demo.toml --out $(DEMO_RUNS)/student \
		--teacher $(DEMO_RUNS)/teacher
	$(BIN)/pain3d eval --run $(DEMO_RUNS)/student --data $(DEMO_DATA) --split test
	$(BIN)/pain3d report $(DEMO_DATA)
	@echo
	@echo "Pain3D demo finished. Open the reports in a browser:"
	@echo "  dataset: $(DEMO_DATA)/report/report.html"
	@echo "  model:   $(DEMO_RUNS)/student/eval-test/report.html"

test: install $(SYSTEM_STAMP)
	$(BIN)/python -m pytest

bench: install
	$(BIN)/pain3d bench

clean:
	rm -rf $(VENV) $(DEMO_DATA) $(DEMO_RUNS) .pytest_cache build *.egg-info
