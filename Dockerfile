# One image for every app; the Container App's command picks the app (bicep/modules/apps.bicep).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml requirements.lock README.md ./
COPY apps ./apps
COPY actors ./actors
RUN pip install -c requirements.lock . && useradd --uid 10001 app
USER app
EXPOSE 8000
