# Pain3D: the two commands of the quick start are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.pain3d-installed
DEMO_DATA ?= demo_data
# Two Blender processes even on 2 cores: one builds a head and grows its hair (one core) while the
# other renders, about 15% faster than one process.
DEMO_WORKERS ?= 2

.PHONY: demo test install blender-versions bench clean

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

# The tests' outside judge of age, sex and expression (face-api; Node.js with its weights in the npm
# package), where this machine has npm or lets us install it; without it those tests skip.
JUDGES := tests/judges
JUDGES_STAMP := $(JUDGES)/node_modules/.installed
$(JUDGES_STAMP): $(JUDGES)/package-lock.json
	@if ! command -v npm >/dev/null && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null \
		|| echo "note: could not install nodejs/npm; the face-api judge tests will be skipped"; fi
	@if command -v npm >/dev/null; then npm ci --prefix $(JUDGES) --no-audit --no-fund --loglevel=error && touch $@ \
		|| echo "note: npm ci failed; the face-api judge tests will be skipped"; \
	else echo "note: npm not found; the face-api judge tests will be skipped"; fi

# The other supported Blender versions, each in its own environment beside the default 4.5 LTS in
# .venv: 4.2 LTS and 5.0 on Python 3.11 (numpy 1.26), 5.3 on Python 3.13 (numpy 2). Each holds
# Pain3D (editable) and its bpy wheel; 5.3's also the training extra, so the core and training
# tests run on Python 3.13 and numpy 2 too. A version that cannot be installed here is left out
# with a note, and its tests skip saying why.
MATRIX := .venv-blender
PYTHON313 ?= $(shell for p in python3.13 $$HOME/.pyenv/versions/3.13*/bin/python3.13; do \
	$$p -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null && { command -v $$p; break; }; done)
MATRIX_STAMPS := $(MATRIX)/4.2/.installed $(MATRIX)/5.0/.installed $(MATRIX)/5.3/.installed

$(MATRIX)/4.2/.installed $(MATRIX)/5.0/.installed: pyproject.toml
	@rm -rf $(@D); $(PYTHON) -m venv $(@D) && $(@D)/bin/python -m pip install -q "bpy==$(notdir $(@D)).*" -e . \
		&& touch $@ || echo "note: could not install Blender $(notdir $(@D)); its tests will be skipped"

$(MATRIX)/5.3/.installed: pyproject.toml
	@rm -rf $(@D); if [ -z "$(PYTHON313)" ]; then echo "note: no Python 3.13; the Blender 5.3 tests will be skipped"; \
	else $(PYTHON313) -m venv $(@D) && $(@D)/bin/python -m pip install -q "bpy==5.3.*" -e ".[test,train]" \
		&& touch $@ || echo "note: could not install Blender 5.3; its tests will be skipped"; fi

blender-versions: $(MATRIX_STAMPS)

DEMO_RUNS ?= $(DEMO_DATA)-runs

# Runs the main job on the built-in defaults: plan, textures, render, merge and validate (resumes
# if stopped), then a tiny ViTPain teacher and student, the student's evaluation and the data report.
demo: install
	$(BIN)/pain3d generate --config assets/jobs/demo.toml --out $(DEMO_DATA) --workers $(DEMO_WORKERS)
	$(BIN)/pain3d train --data $(DEMO_DATA) --role teacher --config assets/train/demo.toml --out $(DEMO_RUNS)/teacher
	$(BIN)/pain3d train --data $(DEMO_DATA) --role student --config assets/train/demo.toml --out $(DEMO_RUNS)/student \
		--teacher $(DEMO_RUNS)/teacher
	$(BIN)/pain3d eval --run $(DEMO_RUNS)/student --data $(DEMO_DATA) --split test
	$(BIN)/pain3d report $(DEMO_DATA)
	@echo
	@echo "Pain3D demo finished. Open the reports in a browser:"
	@echo "  dataset: $(DEMO_DATA)/report/report.html"
	@echo "  model:   $(DEMO_RUNS)/student/eval-test/report.html"

test: install $(SYSTEM_STAMP) $(JUDGES_STAMP) blender-versions
	$(BIN)/python -m pytest

bench: install
	$(BIN)/pain3d bench

clean:
	rm -rf $(VENV) $(MATRIX) $(DEMO_DATA) $(DEMO_RUNS) $(JUDGES)/node_modules .pytest_cache build *.egg-info
