# One image for every service of the operations center (migrate, ingest, jobs, poll, dashboard,
# simulator). Pango and the Noto CJK fonts render the situation report's PDF offline.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 IOC_SKIP_SYSTEM_DEPS=1 IOC_ENV=production
RUN useradd --system --create-home --home-dir /home/ioc ioc \
 && apt-get update \
 && apt-get install -y --no-install-recommends curl libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY ioc ./ioc
COPY ingest ./ingest
COPY geo ./geo
COPY dashboard ./dashboard
COPY schemas ./schemas
RUN pip install --no-cache-dir .
USER ioc
ENV IOC_HOME=/home/ioc/.ioc
ENTRYPOINT ["ioc"]
CMD ["--help"]
