# The kcanary controller image.
#   docker build -t kcanary:0.1.0 .        (or: podman build / buildah bud / nerdctl build)
# The Deployment in deploy/ runs image `kcanary:0.1.0`; after pushing elsewhere, point it there
# with `cd deploy && kustomize edit set image kcanary=REGISTRY/kcanary:TAG`.
# For reproducible builds pin the base images by digest (python:3.11-slim-trixie@sha256:...).

FROM python:3.11-slim-trixie AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/kcanary
WORKDIR /src
# .dockerignore keeps the virtualenv, tests, caches and VCS data out of the context.
COPY . .
# The controller and the CLI only: no extras (no local cluster, plots, benchmarks or dev tools).
RUN /opt/kcanary/bin/pip install --no-cache-dir . \
    && /opt/kcanary/bin/kcanary --help > /dev/null

FROM python:3.11-slim-trixie
LABEL org.opencontainers.image.title="kcanary" \
      org.opencontainers.image.description="Canary rollouts for KServe InferenceServices, decided by anytime-valid sequential tests" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /opt/kcanary /opt/kcanary
# The root filesystem is read-only in the Deployment: no bytecode is written at run time (pip
# compiled it at install time), and output is unbuffered so logs arrive as they are written.
ENV PATH=/opt/kcanary/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# 65532 is the conventional "nonroot" uid/gid; the Deployment runs as the same ids.
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["kcanary", "controller"]
