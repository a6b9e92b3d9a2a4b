# The hashnode node as a container image (docs/scale-out.md). Multi-stage: the first stage builds the package
# and its dependencies into a virtual environment; the second copies only that environment onto a slim Python,
# runs as an unprivileged user, keeps the node's data in a volume and checks its health on the standard gRPC
# health service. The entry point is `hashnode serve`, as everywhere else.
#
#   docker build -t hashnode .
#   docker run -v hashnode-data:/var/lib/hashnode -v /etc/hashnode:/etc/hashnode:ro \
#       -p 50051:50051 -p 50061:50061 hashnode
#
# /etc/hashnode holds node.toml, the roster, the keys and the tokens (`hashnode join` writes them); the config's
# listeners must bind 0.0.0.0 (not 127.0.0.1) to be reached from outside the container, except the admin API,
# which the health check reaches on 127.0.0.1:50052.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
# A C compiler for the compiled kernels setup.py builds (the PDQ index's, node/index/_kernel.c; the match path's,
# node/storage/_rowscan.c and node/api/_wire.c); only the compiled modules reach the final image. Versions come with the pinned base image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
# Dependencies as wheels only: every dependency of the node publishes manylinux wheels. (Not the [hashing]
# extra: pdqhash builds from C++ sources; a node matches hashes, its clients hash the files.)
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ONLY_BINARY=:all:
RUN python -m venv /opt/hashnode
COPY pyproject.toml setup.py README.md LICENSE ./
COPY node ./node
RUN /opt/hashnode/bin/pip install .

FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 hashnode \
    && useradd --system --uid 10001 --gid hashnode --home-dir /var/lib/hashnode --shell /usr/sbin/nologin hashnode \
    && install -d -o hashnode -g hashnode -m 0700 /var/lib/hashnode \
    && install -d -m 0755 /etc/hashnode
COPY --from=build /opt/hashnode /opt/hashnode
ENV PATH=/opt/hashnode/bin:$PATH PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/hashnode
VOLUME ["/var/lib/hashnode"]
# Client API, admin API (keep it unpublished: the health check uses it from inside), peer listener.
EXPOSE 50051 50052 50061
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["hashnode", "probe", "--target", "127.0.0.1:50052"]
# SIGTERM: the node reports NOT_SERVING, drains in-flight calls for 5 s and closes its store.
STOPSIGNAL SIGTERM
ENTRYPOINT ["hashnode", "serve"]
CMD ["--config", "/etc/hashnode/node.toml", "--data-dir", "/var/lib/hashnode"]
