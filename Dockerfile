# syntax=docker/dockerfile:1
# Ramp's controller image: `make image` builds it as the install manifests name it (ghcr.io/ramp-dev/ramp:v<version>).
#
#   docker build --build-arg RAMP_GIT_COMMIT=$(git rev-parse HEAD) -t ghcr.io/ramp-dev/ramp:v0.1.0 .
#   docker run ghcr.io/ramp-dev/ramp:v0.1.0 controller --namespaced ...   # `args` in a pod spec, from `controller`
#
# Why distroless and not python:3.11-slim: the runtime stage must need no shell, and slim ships bash, apt and pip,
# which would have to be torn out by hand. gcr.io/distroless/python3-debian12 holds Debian 12's Python 3.11 and
# its libraries only (no shell, no pip, no package manager) and has the nonroot user 65532. The build stages use
# debian:12-slim with that same Debian python3.11, so the virtualenv built there (its interpreter symlink, the
# compiled wheels) runs unchanged on the distroless interpreter. tests/e2e/test_package.py builds the same wheel
# into a fresh virtualenv and runs the controller from it as this ENTRYPOINT and CMD do (no Docker engine there).

# 1. Wheels: Ramp's own (from this source, with its git commit baked in) and those of its pinned dependencies.
FROM debian:12-slim AS wheels
# Debian's package versions move with its security updates (and old ones leave the archive): the interpreter is
# pinned by the release (Debian 12) that the distroless runtime shares, not by a package version.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --no-install-recommends --no-install-suggests --yes python3.11 python3.11-venv \
    && rm -rf /var/lib/apt/lists/*
RUN /usr/bin/python3.11 -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --disable-pip-version-check pip==25.3
WORKDIR /src
COPY pyproject.toml README.md MANIFEST.in ./
COPY build_backend/ build_backend/
COPY src/ src/
# The build context has no .git: the commit comes in as build arguments (build_backend/ramp_build.py reads them).
ARG RAMP_GIT_COMMIT=""
ARG RAMP_GIT_TREE_STATE=""
ARG SOURCE_DATE_EPOCH
RUN /opt/build/bin/pip wheel --no-cache-dir --disable-pip-version-check --wheel-dir /wheels .

# 2. The virtualenv the image runs: installed from those wheels only, then pip and setuptools taken out of it.
FROM debian:12-slim AS venv
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --no-install-recommends --no-install-suggests --yes python3.11 python3.11-venv \
    && rm -rf /var/lib/apt/lists/*
COPY --from=wheels /wheels /wheels
RUN /usr/bin/python3.11 -m venv /venv \
    && /venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-index --find-links /wheels ramp \
    && /venv/bin/pip uninstall --yes --disable-pip-version-check pip setuptools

# 3. Runtime: no shell, no pip, not root. With in-cluster credentials nothing is written to the filesystem
#    (readOnlyRootFilesystem: true); client certificates load through /tmp (docs/package.md).
FROM gcr.io/distroless/python3-debian12:nonroot AS runtime
ARG RAMP_GIT_COMMIT=""
LABEL org.opencontainers.image.title="ramp" \
      org.opencontainers.image.description="Progressive delivery for Kubernetes, speaking the Argo Rollouts API" \
      org.opencontainers.image.revision="${RAMP_GIT_COMMIT}"
COPY --from=venv /venv /venv
ENV PATH=/venv/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 65532:65532
ENTRYPOINT ["ramp"]
CMD ["controller"]
