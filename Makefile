# Set-up is automatic: every target creates .venv and installs the package on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PROFILE ?= full
JOBS   ?= 2
# PyTorch, for the tests' cross-checks and the benchmark's comparison: the CPU build (about
# 200 MB, where a CUDA build is several GB) from PyTorch's index, tried once with a short timeout;
# when that index cannot be reached, the default index (or its mirror) is tried, then the tests
# skip their PyTorch checks. Pin it with e.g. make test TORCH="torch==2.13.0".
TORCH       ?= torch
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: report test quick smoke bench latex clean-venv

report: $(VENV)/.installed          ## the main job: every experiment, figure, table and the PDF report
	$(BIN)/dd2424 report --profile $(PROFILE) --jobs $(JOBS)

test: $(VENV)/.installed $(VENV)/.torch   ## the test suite (a few minutes)
	$(BIN)/python -m pytest

quick: $(VENV)/.installed           ## the report in minutes, on less training
	$(BIN)/dd2424 report --profile quick --jobs $(JOBS) --output-dir build-report/quick

bench: $(VENV)/.installed $(VENV)/.torch  ## speed of the training step, vs PyTorch when it is installed
	$(BIN)/dd2424 bench

latex:                              ## Debian/Ubuntu: the tools nbconvert needs for the PDF (run as root)
	apt-get update && apt-get install -y texlive-xetex texlive-fonts-recommended texlive-plain-generic pandoc poppler-utils

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,dask]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

$(VENV)/.torch: $(VENV)/.installed
	@echo "make: installing PyTorch for the tests' cross-checks ($(TORCH), CPU build from $(TORCH_INDEX), else the default index)"
	@if $(BIN)/python -m pip install --quiet --retries 0 --timeout 15 --index-url $(TORCH_INDEX) $(TORCH) >/dev/null 2>&1 \
	    || $(BIN)/python -m pip install --quiet --retries 1 --timeout 15 $(TORCH) >/dev/null 2>&1; then touch $@; \
	else echo "make: PyTorch could not be installed from either index; the tests skip their PyTorch cross-checks (CI requires them)"; fi

clean-venv:
	rm -rf $(VENV)
