# syntax=docker/dockerfile:1
#
# The payment service's images, one Dockerfile, two targets:
#
#   docker build -t payment-service .                                  # `service` (the last stage)
#   docker build --target sandbox -t payment-service-sandbox .         # + Stripe sandbox and shop
#
# `service` is the production image: the service's wheel, domain/, application/,
# infrastructure/ and interfaces/ only (sandbox/ is never copied into its build),
# installed without the `dev` extras into /opt/venv, run as an unprivileged user
# under tini. `sandbox` adds the local Stripe and shop stand-ins, their own
# distribution (sandbox/pyproject.toml, ADR 0020), for `docker compose --profile
# sandbox` and nothing else.

ARG PYTHON_IMAGE=python:3.11-slim

# --- runtime base: tini, the unprivileged user, a writable ./var --------------
FROM ${PYTHON_IMAGE} AS runtime-base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH
# tini comes from Debian, updated with the base image; pinning its exact
# Debian revision would break the build whenever the mirror moves on.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 payments \
    && useradd --system --uid 10001 --gid payments --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin payments \
    && install -d -o payments -g payments /app/var
WORKDIR /app

# --- build base: the sources every image needs, and the build tools ------------
FROM ${PYTHON_IMAGE} AS build-base
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
# The dependencies alone first (never the `dev` extras), so a code change reuses this layer.
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
    && /opt/venv/bin/pip install -r /tmp/requirements.txt
COPY domain/ domain/
COPY application/ application/
COPY infrastructure/ infrastructure/
COPY interfaces/ interfaces/

# --- service build: a wheel without sandbox/, installed without extras ---------
# (-P: the check must not find sandbox/ in the working directory, only installed.)
FROM build-base AS service-build
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && /opt/venv/bin/pip install /wheels/payment_service-*.whl \
    && /opt/venv/bin/payments --help > /dev/null \
    && ! /opt/venv/bin/python -P -c "import sandbox" 2>/dev/null

# --- sandbox build: the same wheel, and the sandboxes' own beside it ------------
FROM build-base AS sandbox-build
COPY sandbox/ sandbox/
RUN pip wheel --no-deps --wheel-dir /wheels . ./sandbox \
    && /opt/venv/bin/pip install /wheels/payment_service-*.whl /wheels/payment_sandboxes-*.whl \
    && /opt/venv/bin/python -P -c "import sandbox.stripe_api, sandbox.shop"

# --- target `sandbox`: Stripe sandbox and reference shop (dev and demo only) ---
FROM runtime-base AS sandbox
COPY --from=sandbox-build /opt/venv /opt/venv
# State of the sandboxes (a named volume mounted here inherits this owner).
RUN install -d -o payments -g payments /data
USER 10001:10001
EXPOSE 3000 12111
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--"]
CMD ["payments", "sandbox", "stripe", "--host", "0.0.0.0", "--port", "12111"]

# --- target `service` (default): the production image ---------------------------
FROM runtime-base AS service
COPY --from=service-build /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8000
# Liveness only (`/ready` also checks the databases, which a restart cannot fix).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/health', timeout=2)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["tini", "--"]
CMD ["payments", "serve"]
