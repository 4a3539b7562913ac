# One image for every app (deploy/apps.json lists them): the Container App's command picks the
# app (bicep/modules/apps.bicep), or, in a plain `docker run`, SC_APP and SC_APP_PORT do:
#   docker run -e SC_APP=catalog -e SC_APP_PORT=8001 smartcommerce:dev
# One image rather than fourteen: the apps share one dependency set and one source tree, so
# fourteen images would be fourteen copies of the same layers to build, push and scan.
#
# Offline at run time: every dependency is installed and every model trained while building;
# the running container downloads nothing (no package index, no model hub, no data files).

# Models are trained at build time (fixed seeds: the same data and metrics as `./taskw train`);
# TensorFlow and pandas stay in this stage, the serving image only loads the exported files.
FROM python:3.11-slim AS train
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 TF_CPP_MIN_LOG_LEVEL=2
COPY pyproject.toml requirements.lock README.md ./
COPY apps ./apps
COPY actors ./actors
COPY ml ./ml
RUN pip install -c requirements.lock ".[ml]" && python -m ml.train

FROM python:3.11-slim
WORKDIR /app
# The apps import from /app (the source tree, with its templates, static files and JSON
# tables, and models/ beside it), never from a copy in site-packages.
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SC_APP=storefront SC_APP_PORT=8000
COPY pyproject.toml requirements.lock README.md ./
COPY apps ./apps
COPY actors ./actors
COPY ml ./ml
COPY --from=train /app/models ./models
# Dependencies from the lock, then the project's own copy uninstalled (the source tree above
# is what runs); bytecode compiled now, since the non-root user cannot write /app.
RUN pip install -c requirements.lock . \
    && pip uninstall -y smartcommerce \
    && python -m compileall -q apps actors ml \
    && groupadd --gid 10001 app \
    && useradd --uid 10001 --gid 10001 --no-log-init --create-home app
# Non-root (numeric, so a platform's runAsNonRoot check can verify it); the code stays
# root-owned and read-only to the app.
USER 10001:10001
EXPOSE 8000-8012 8080
# /health/live of whichever app this container runs (the port from SC_APP_PORT). Container
# Apps ignores HEALTHCHECK and probes the same path itself (apps.bicep); docker and podman
# use it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['SC_APP_PORT'] + '/health/live', timeout=4)"]
# The same uvicorn options as dapr.yaml and apps.bicep.
CMD ["sh", "-c", "exec python -m uvicorn \"apps.${SC_APP}.main:app\" --host 0.0.0.0 --port \"${SC_APP_PORT}\" --no-access-log --timeout-keep-alive 120 --http apps.platform.server:BoundedHttpToolsProtocol"]
