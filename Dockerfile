# Trailhound worker / ingest image, used by docker-compose.yml (services `worker` and `ingest`).
#   docker build -t trailhound .
#   docker run --rm trailhound --help
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the installed package needs (every package pyproject.toml lists; a unit test checks),
# so the virtualenv, tests and caches stay out of the image without a .dockerignore.
COPY pyproject.toml README.md ./
COPY trailhound/ trailhound/
COPY ingest/ ingest/
COPY streams/ streams/
COPY detectors/ detectors/
COPY alerts/ alerts/
COPY stack/ stack/
COPY console/ console/
RUN pip install --no-compile . \
    && useradd --system --create-home --home-dir /home/trailhound --shell /usr/sbin/nologin trailhound

USER trailhound
ENV TRAILHOUND_CACHE=/home/trailhound/.cache/trailhound

# 6066: worker web server (/metrics for Prometheus); 8088: ingest HTTP endpoint; 8090/8091: console and
# its metrics.
EXPOSE 6066 8088 8090 8091

ENTRYPOINT ["trailhound"]
CMD ["worker"]
