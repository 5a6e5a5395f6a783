# Workbench: `make demo` and `make test` do all set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-done
APT_PKGS := libvirt-dev pkg-config libvirt-daemon libvirt-clients qemu-guest-agent pci.ids tmux \
	umockdev gir1.2-umockdev-1.0 python3-gi chromium

.PHONY: setup demo test lint typecheck pytest bench-probe bench-logs bench-ui bench-capture clean

setup: apt $(STAMP) bytecode

# Our own modules compiled once (a few ms when current): where PYTHONDONTWRITEBYTECODE is set,
# every start would otherwise compile them again (~50 ms of the first frame).
.PHONY: bytecode
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q workbench probes

.PHONY: apt
apt:
	@scripts/apt-deps.sh $(APT_PKGS)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

demo: setup
	$(BIN)/workbench demo

lint: setup
	$(BIN)/ruff check workbench probes tests bench
	$(BIN)/ruff format --check workbench probes tests bench

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest -q

test: lint typecheck pytest

bench-probe: setup
	$(BIN)/python bench/bench_probe.py

bench-logs: setup
	$(BIN)/python bench/bench_logs.py

bench-ui: setup
	$(BIN)/python bench/bench_ui.py

bench-capture: setup
	$(BIN)/python bench/bench_capture.py

clean:
	rm -rf $(VENV) .demo .mypy_cache .ruff_cache .pytest_cache
