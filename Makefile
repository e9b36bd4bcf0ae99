# Set-up is automatic: every target creates .venv and installs the package on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PROFILE ?= full
JOBS   ?= 2
# PyTorch, for the tests' cross-checks and the benchmark's comparison: the CPU build (about
# 200 MB, where a CUDA build is several GB). Pin or mirror it with e.g. make test TORCH="torch==2.13.0".
TORCH  ?= torch --index-url https://download.pytorch.org/whl/cpu

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
	@$(BIN)/python -m pip install --quiet $(TORCH) && touch $@ \
	    || echo "make: PyTorch could not be installed; the tests skip their PyTorch cross-checks (CI requires them)"

clean-venv:
	rm -rf $(VENV)
