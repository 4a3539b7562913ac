# One image for every app; the Container App's command picks the app (bicep/modules/apps.bicep).

# Models are trained at build time (fixed seeds: the same data and metrics as `./taskw train`);
# TensorFlow and pandas stay in this stage, the serving image only loads the exported files.
FROM python:3.11-slim AS train
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 TF_CPP_MIN_LOG_LEVEL=2
COPY pyproject.toml requirements.lock README.md ./
COPY apps ./apps
COPY actors ./actors
COPY ml ./ml
RUN pip install -c requirements.lock ".[ml]" && python -m ml.train

FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml requirements.lock README.md ./
COPY apps ./apps
COPY actors ./actors
COPY ml ./ml
COPY --from=train /app/models ./models
RUN pip install -c requirements.lock . && useradd --uid 10001 app
USER app
EXPOSE 8000
