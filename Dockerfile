# defwatch in a container: one image for the daemon (`defwatch run`, the default command)
# and for `defwatch serve` (feeds, web page, /healthz). deploy/compose.yaml runs both with
# PostgreSQL. Linted with hadolint by tests/test_docker.py; no Docker engine runs in this
# project's CI, so the commands the image runs are tested outside Docker there.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# The package with the PostgreSQL driver (the `postgres` extra), built from this tree; the
# tree itself does not stay in the image. The service runs as its own user, not root.
COPY . /tmp/defwatch-src
RUN pip install --no-cache-dir "/tmp/defwatch-src[postgres,scrapyd]" \
    && rm -rf /tmp/defwatch-src \
    && groupadd --system --gid 10001 defwatch \
    && useradd --system --uid 10001 --gid defwatch --home-dir /srv/defwatch --create-home \
        --shell /usr/sbin/nologin defwatch \
    && mkdir -p /srv/defwatch/data /srv/defwatch/public \
    && chown defwatch:defwatch /srv/defwatch/data /srv/defwatch/public

# The working folder: defwatch.toml and .env are mounted here (read-only), data/ holds a
# SQLite store and the lock, public/ the feeds. USER is the defwatch user by number, so
# a host resolves it without its /etc/passwd.
WORKDIR /srv/defwatch
# A Scrapyd node (compose profile "scrapyd") started here offers the project `defwatch`:
# scrapy.cfg names it, scrapyd.conf listens on all interfaces (docs/operations.md).
COPY scrapy.cfg deploy/scrapyd.conf /srv/defwatch/
USER 10001:10001
VOLUME ["/srv/defwatch/data", "/srv/defwatch/public"]
EXPOSE 8080

# `serve`'s /healthz: 200 while the store answers and no source is overdue, 503 otherwise.
# (The daemon's container in compose.yaml checks with `defwatch status` instead.)
HEALTHCHECK --interval=60s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=8).status != 200)"]

ENTRYPOINT ["defwatch"]
CMD ["run"]
