# Workbench: `make demo` and `make test` do all set-up on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-done
APT_PKGS := libvirt-dev pkg-config libvirt-daemon libvirt-clients qemu-guest-agent pci.ids tmux \
	umockdev gir1.2-umockdev-1.0 python3-gi chromium sosreport pciutils \
	man-db zsh bash-completion
# sosreport: Debian's `sos` (never PyPI's unrelated `sos`), run for real by tests/test_sos_real.py;
# pciutils: the lspci its pci plugin records. man-db, zsh, bash-completion: `man workbench` and
# the completions are tested in them (tests/test_manpage.py, tests/test_completion.py).

.PHONY: setup demo test lint typecheck pytest lock lock-check bench-probe bench-logs bench-ui \
	bench-capture bench-explain bench-sos bench-fleet bench-ansible clean

setup: apt $(STAMP) bytecode shell-docs

# `man workbench` and the bash and zsh completions, generated from the parser into the venv
# (man-db finds .venv/share/man through .venv/bin on PATH); a file is rewritten only when changed.
.PHONY: shell-docs
shell-docs: $(STAMP)
	@$(BIN)/python -m workbench.docs $(VENV)

# Our own modules compiled once (a few ms when current): where PYTHONDONTWRITEBYTECODE is set,
# every start would otherwise compile them again (~50 ms of the first frame).
.PHONY: bytecode
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q workbench probes

.PHONY: apt
apt:
	@scripts/apt-deps.sh $(APT_PKGS)

# Every distribution comes from a lock with hashes (pip then checks each download). The build tools
# go in first, so libvirt-python's sdist and our editable install build with the locked setuptools
# rather than whatever a build-isolation environment would fetch that day.
PIP_INSTALL := $(BIN)/python -m pip install -q --disable-pip-version-check
$(STAMP): pyproject.toml requirements.lock requirements-build.lock
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP_INSTALL) --require-hashes -r requirements-build.lock
	$(PIP_INSTALL) --require-hashes --no-build-isolation -r requirements.lock
	$(PIP_INSTALL) --no-build-isolation --no-deps -e .
	@touch $@

# The locks are generated from pyproject.toml (runtime deps; the serve, notebook, ansible and dev
# extras) and requirements-build.in, for the Python and platform `make setup` targets. Pins
# already in a lock are kept unless pyproject.toml no longer allows them; to move one on purpose:
# `make lock LOCK_ARGS="--upgrade-package rich"` (then review the UI snapshots).
LOCK_ARGS ?=
UV_COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --python-version 3.11 \
	--python-platform linux --custom-compile-command "make lock" $(LOCK_ARGS)
LOCK_EXTRAS := --extra serve --extra notebook --extra ansible --extra dev

lock: apt $(STAMP)  # not shell-docs: they may need what is being locked
	$(UV_COMPILE) pyproject.toml $(LOCK_EXTRAS) -o requirements.lock
	$(UV_COMPILE) requirements-build.in -o requirements-build.lock

# Regenerates both locks into a temporary directory and fails on any difference (needs the index;
# tests/test_lock.py checks the same offline in `make test`).
lock-check: apt $(STAMP)
	@tmp=$$(mktemp -d) && cp requirements.lock requirements-build.lock "$$tmp"/ && \
	$(UV_COMPILE) pyproject.toml $(LOCK_EXTRAS) -o "$$tmp"/requirements.lock && \
	$(UV_COMPILE) requirements-build.in -o "$$tmp"/requirements-build.lock && \
	diff -u requirements.lock "$$tmp"/requirements.lock && \
	diff -u requirements-build.lock "$$tmp"/requirements-build.lock; \
	rc=$$?; rm -rf "$$tmp"; \
	if [ $$rc -ne 0 ]; then echo "lock-check: the locks do not match pyproject.toml; run make lock" >&2; fi; \
	exit $$rc

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
	$(BIN)/python bench/bench_logs_view.py
	$(BIN)/python bench/bench_logs_sources.py

bench-ui: setup
	$(BIN)/python bench/bench_ui.py

bench-capture: setup
	$(BIN)/python bench/bench_capture.py

bench-explain: setup
	$(BIN)/python bench/bench_explain.py

bench-sos: setup
	$(BIN)/python bench/bench_sos.py
	$(BIN)/python bench/bench_sos_open.py
	$(BIN)/python bench/bench_sos_machine.py
	$(BIN)/python bench/bench_sos_virt.py

bench-fleet: setup
	$(BIN)/python bench/bench_fleet.py

# The README tour's pictures (docs/demo-*.png), redrawn from the current code: a fresh demo per
# picture at a fixed path and terminal size, drawn by headless Chromium. Look at each one.
.PHONY: screenshots
screenshots: setup
	$(BIN)/python scripts/tour_screenshots.py docs

# issue 16: the node_exporter textfile against --json, and the rendering alone.
.PHONY: bench-prom
bench-prom: setup
	$(BIN)/python bench/bench_prom.py

# contrib/ansible/workbench-capture.yml on 20 local hosts (BENCH_HOSTS=N for more).
bench-ansible: setup
	$(BIN)/python bench/bench_ansible.py

clean:
	rm -rf $(VENV) .demo tour .mypy_cache .ruff_cache .pytest_cache
