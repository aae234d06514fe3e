# countersign container image.
#
#   docker build -t countersign:0.1.0 .
#   docker run --rm countersign:0.1.0 version
#
# Two stages on Debian 12 (bookworm), the platform the project builds and tests on:
# `build` compiles the countersign binary with Debian's -dev packages (the ones
# scripts/setup.sh installs, minus tests, benchmarks, fuzzing, Java and kcat) and
# librdkafka as scripts/setup.sh builds it (Debian trixie's source package, pinned and
# checksummed in scripts/lib/common.sh, built here into /opt/librdkafka); the runtime
# stage is bookworm-slim with only the shared libraries the binary loads.
#
# Layout at run time (read-only root filesystem friendly):
#   /usr/local/bin/countersign           the binary (ENTRYPOINT)
#   /opt/librdkafka/lib/librdkafka.so.1  librdkafka (the binary's RUNPATH), its licences in
#                                        /opt/librdkafka/share/doc/librdkafka
#   /etc/countersign/countersign.yaml    config (the repository default; mount your own)
#   /etc/countersign/content/            optional detection content (detectors.content_dir)
#   /var/lib/countersign                 the only place written to: state.dir (RocksDB),
#                                        a VOLUME; the image's config sets state.dir to it
#                                        (mount a named volume there to keep the state)
# Runs as uid/gid 10001. Port 9464: /metrics, /healthz, /readyz.

ARG DEBIAN_RELEASE=bookworm

FROM debian:${DEBIAN_RELEASE} AS build
ARG DEBIAN_FRONTEND=noninteractive
# From scripts/setup.sh APT_PACKAGES, what the countersign target needs (find_package and
# pkg-config in cmake/countersign_deps.cmake) and what building librdkafka needs
# (RDKAFKA_BUILD_PACKAGES): no GoogleTest/benchmark (tests and benchmarks are not built),
# no clang (fuzzing), no Java/Maven (test broker), no kcat.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential g++ cmake ninja-build pkg-config ca-certificates \
      dpkg-dev python3 debian-archive-keyring libssl-dev libsasl2-dev liblz4-dev libzstd-dev zlib1g-dev \
      libsimdjson-dev librocksdb-dev prometheus-cpp-dev libyaml-cpp-dev \
      libfmt-dev libspdlog-dev libcli11-dev libxxhash-dev libcivetweb-dev libre2-dev libicu-dev \
      libevtx-dev libbfio-dev libhyperscan-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# librdkafka from the setup script alone, so that this layer (minutes of compiling) is
# reused until the pin in scripts/lib/common.sh changes. setup.sh fetches the source
# package with apt from trixie's signed index into a private list dir, checks the pinned
# SHA-256 sums and fails if TLS, SASL (SCRAM, Cyrus), zlib, zstd or lz4 is missing.
COPY scripts/setup.sh scripts/
COPY scripts/lib/ scripts/lib/
RUN COUNTERSIGN_SKIP_APT=1 COUNTERSIGN_RDKAFKA_PREFIX=/opt/librdkafka scripts/setup.sh --librdkafka-only \
 && strip --strip-unneeded /opt/librdkafka/lib/librdkafka.so.1
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DCOUNTERSIGN_BUILD_TESTS=OFF -DCOUNTERSIGN_BUILD_BENCH=OFF \
      -DCOUNTERSIGN_RDKAFKA_PREFIX=/opt/librdkafka \
 && cmake --build /build --target countersign \
 && strip /build/processor/countersign \
 && readelf -d /build/processor/countersign | grep -q 'RUNPATH.*\[/opt/librdkafka/lib\]' \
 && /build/processor/countersign version
# The image's config is the repository default with the state where the image's volume
# is: `docker run` users get prevalence and restarts that keep it, without knowing the key.
RUN sed 's|^  dir: ""$|  dir: /var/lib/countersign|' config/countersign.yaml >/build/countersign.yaml \
 && grep -q '^  dir: /var/lib/countersign$' /build/countersign.yaml \
 && /build/processor/countersign rules check --config /build/countersign.yaml >/dev/null

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# The binary's NEEDED libraries (readelf -d), by package (dpkg -S), and those of
# librdkafka.so.1 (libssl3, libsasl2-2, liblz4-1, libzstd1; zlib1g is in the base image);
# their own dependencies (snappy, gflags, ...) come with them. ca-certificates: TLS to
# brokers with a public CA (librdkafka reads the system store when ssl.ca.location is unset).
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libssl3 libsasl2-2 liblz4-1 libzstd1 zlib1g libsimdjson14 librocksdb7.8 libprometheus-cpp-core1.0 libcivetweb1 \
      libyaml-cpp0.7 libspdlog1.10 libfmt9 libxxhash0 libre2-9 libevtx1 libicu72 libhyperscan5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 countersign \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/countersign \
      --no-create-home --shell /usr/sbin/nologin countersign \
 && mkdir -p /etc/countersign/content /var/lib/countersign \
 && chown 10001:10001 /var/lib/countersign \
 && chmod 0750 /var/lib/countersign
COPY --from=build /opt/librdkafka/lib/librdkafka.so.1 /opt/librdkafka/lib/
COPY --from=build /opt/librdkafka/share/doc/librdkafka/ /opt/librdkafka/share/doc/librdkafka/
COPY --from=build /build/processor/countersign /usr/local/bin/countersign
COPY --from=build /build/countersign.yaml /etc/countersign/countersign.yaml
USER 10001:10001
WORKDIR /var/lib/countersign
VOLUME ["/var/lib/countersign"]
EXPOSE 9464
ENTRYPOINT ["countersign"]
CMD ["run", "--config", "/etc/countersign/countersign.yaml"]
