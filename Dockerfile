FROM python:3.11-slim

# Settings are SCIFI_* variables (see the README); the health check reads SCIFI_PORT, so set the port there.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 SCIFI_DATA_DIR=/data SCIFI_PORT=1026
RUN useradd --create-home --uid 10001 scifi && mkdir /data && chown scifi /data
WORKDIR /app
COPY pyproject.toml README.md ./
COPY broker broker
COPY ngsi_ld ngsi_ld
COPY smart_data_models smart_data_models
COPY subscriptions subscriptions
COPY conformance conformance
COPY replication replication
RUN pip install --no-cache-dir '.[mongodb]'

USER scifi
VOLUME /data
EXPOSE 1026
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
  CMD python -c "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('SCIFI_PORT', '1026'), timeout=2).status != 200)"
CMD ["scifi", "serve"]
