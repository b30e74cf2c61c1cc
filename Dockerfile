# syntax=docker/dockerfile:1
# Build stage: install the locked runtime dependencies (requirements.lock, every file checked against its
# hash), then the project itself without resolving anything again, into a virtualenv.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY app ./app
RUN pip install --no-deps . && pip check

# Runtime stage: the virtualenv, migrations and alembic.ini, run as an unprivileged user.
FROM python:3.11-slim AS runtime
# Charts label in Chinese: a CJK font, or they would show boxes. `shouwang backup`/`restore` on PostgreSQL
# run pg_dump/pg_restore (postgresql-client).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --system --uid 10001 --home-dir /srv/shouwang --create-home shouwang
WORKDIR /srv/shouwang
COPY --from=build /opt/venv /opt/venv
COPY --chown=shouwang:shouwang alembic.ini ./
COPY --chown=shouwang:shouwang migrations ./migrations
COPY --chown=shouwang:shouwang app ./app
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/srv/shouwang \
    SHOUWANG_ENV=production \
    SHOUWANG_DATABASE_URL=sqlite:////srv/shouwang/data/shouwang.db
RUN mkdir -p /srv/shouwang/data && chown shouwang:shouwang /srv/shouwang/data
USER shouwang
# Production by default: the container refuses to start until real keys are given
# (SHOUWANG_SECRET_KEY, SHOUWANG_ENCRYPTION_KEYS, SHOUWANG_LOOKUP_KEY); point SHOUWANG_DATABASE_URL at
# PostgreSQL, or keep the SQLite file on this volume.
VOLUME ["/srv/shouwang/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
# `serve` does not migrate in production: it refuses a schema not at head. Run this image once with
# `shouwang migrate` as its command for every release (a one-off job or init container; several at once are
# safe: one migrates, the others wait), then start the serving containers.
CMD ["shouwang", "serve", "--host", "0.0.0.0", "--port", "8000"]
