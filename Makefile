# Ramp's two commands for a fresh machine: `make demo` and `make test`.
# Everything they need is installed here; the local cluster is built into $(RAMP_CACHE) on first use.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export RAMP_CACHE ?= $(HOME)/.cache/ramp

.PHONY: venv lint test test-unit test-e2e demo cluster-up cluster-down crds manifests chart-lint clean bench dist image

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

test-unit: venv
	$(BIN)/pytest -q tests/unit

cluster-up: venv
	$(BIN)/ramp cluster up

# Every test: unit first (seconds), then the cluster scenarios on the local cluster (built on first use).
test: venv cluster-up
	$(BIN)/pytest -q tests/unit
	$(BIN)/pytest -q tests/e2e

test-e2e: venv cluster-up
	$(BIN)/pytest -q tests/e2e

demo: venv
	$(BIN)/ramp demo

cluster-down: venv
	$(BIN)/ramp cluster down

crds: venv
	$(BIN)/ramp crds --write deploy/crds

# deploy/install.yaml, namespace-install.yaml, dashboard-install.yaml and charts/ramp's CRDs and rules, from
# deploy/rbac.yaml and the models (a unit test fails while they are out of date).
manifests: crds
	$(BIN)/ramp install-manifests --root .

# helm (built from the Go module proxy into $(RAMP_CACHE)/bin on first use) lints the chart.
chart-lint: venv
	$(BIN)/python -c 'from ramp.localcluster.build import ensure_helm; from ramp.localcluster.paths import cache_paths; ensure_helm(cache_paths(), lambda _: None)'
	HELM_CACHE_HOME=$(CURDIR)/build/helm HELM_CONFIG_HOME=$(CURDIR)/build/helm HELM_DATA_HOME=$(CURDIR)/build/helm \
		$(RAMP_CACHE)/bin/helm lint --strict charts/ramp

# The pip package: sdist and wheel in dist/, the git commit baked in (docs/package.md).
dist: venv
	$(BIN)/python -m build --outdir dist .

# The controller image (needs a Docker engine): tagged as the manifests and the chart
# name it (ramp.api.install.image).
image: venv
	docker build \
		--build-arg RAMP_GIT_COMMIT=$$(git rev-parse HEAD) \
		--build-arg RAMP_GIT_TREE_STATE=$$(test -z "$$(git status --porcelain --untracked-files=no)" && echo clean || echo dirty) \
		-t $$($(BIN)/python -c 'import ramp, ramp.api.install as i; print(i.image(ramp.__version__))') .

# Benchmarks print figures; nothing asserts on them. compare.py builds Argo Rollouts' controller into
# $(RAMP_CACHE) on first use and prints Ramp / Argo for every workload of issue 14 (hours on two cores).
bench: venv cluster-up
	$(BIN)/python bench/cluster_up.py
	$(BIN)/python bench/controller_startup.py --rollouts 1000
	$(BIN)/python bench/rollouts_update.py --rollouts 100
	$(BIN)/python bench/rollouts_update.py --rollouts 500
	$(BIN)/python bench/analysis_runs.py --runs 200 --count 10
	$(BIN)/python bench/analysis_abort.py --trials 5
	$(BIN)/python bench/dashboard.py --rollouts 500
	$(BIN)/python bench/traffic_routing.py --rollouts 100
	$(BIN)/python bench/reference_index.py --rollouts 20000 --namespaces 200
	$(BIN)/python bench/compare.py --json build/bench-compare.json

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
