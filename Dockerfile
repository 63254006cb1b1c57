# The ucp-connector service image: one image for every role (api, worker, migrate, keys, the reference
# merchant); the role is the command, e.g. `docker run IMAGE worker --metrics-port 9464`.
# Runs as the unprivileged user `ucp` (uid 10001); state and 0600 key files live under /var/lib/ucp.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 ucp \
    && useradd --system --uid 10001 --gid ucp --home-dir /var/lib/ucp --shell /usr/sbin/nologin ucp

WORKDIR /src
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY core ./core
COPY storage ./storage
COPY merchants ./merchants
COPY activities ./activities
COPY workflows ./workflows
COPY worker ./worker
COPY api ./api
COPY reference_merchant ./reference_merchant
COPY ucp_connector ./ucp_connector
RUN pip install . && rm -rf /src

# Named volumes mounted here start with this ownership and mode, so key files stay private to `ucp`.
RUN install -d -o ucp -g ucp -m 0700 /var/lib/ucp /var/lib/ucp/keys /var/lib/ucp/tls /var/lib/ucp/merchant-keys \
    && install -d -o ucp -g ucp -m 0750 /var/lib/ucp/merchant

WORKDIR /var/lib/ucp
USER ucp
ENV UCP_STATE_DIR=/var/lib/ucp \
    UCP_KEYS_DIR=/var/lib/ucp/keys \
    UCP_LOG_FORMAT=json

ENTRYPOINT ["ucp-connector"]
CMD ["--help"]
