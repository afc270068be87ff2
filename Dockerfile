# lnpilot in a container: the wheel built from this tree, run as an unprivileged user.
# Build: docker build -t lnpilot .   Run beside LNbits: contrib/docker/compose.yml.
# Configuration by environment (LNPILOT_<SECTION>__<KEY>) and/or a mounted lnpilot.toml
# named by LNPILOT_CONFIG; state (the SQLite store, channel backups) in /var/lib/lnpilot.

FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip install --no-cache-dir build && python -m build --wheel --outdir /wheels .

FROM python:3.11-slim
RUN useradd --system --home-dir /var/lib/lnpilot --create-home lnpilot
COPY --from=build /wheels/ /tmp/wheels/
RUN pip install --no-cache-dir /tmp/wheels/*.whl && rm -rf /tmp/wheels
USER lnpilot
WORKDIR /var/lib/lnpilot
ENV LNPILOT_DATA_DIR=/var/lib/lnpilot \
    LNPILOT_API__HOST=0.0.0.0 \
    LNPILOT_API__PORT=8181
VOLUME ["/var/lib/lnpilot"]
EXPOSE 8181
ENTRYPOINT ["lnpilot"]
CMD ["run"]
