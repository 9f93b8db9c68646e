# caregraph: build with the Rust toolchain, run on a slim Debian as a non-root user.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p caregraph

FROM debian:bookworm-slim
RUN useradd --system --uid 10001 --home-dir /data caregraph \
    && mkdir -p /data && chown caregraph /data
COPY --from=build /src/target/release/caregraph /usr/local/bin/caregraph
USER caregraph
WORKDIR /data
ENV CAREGRAPH_LISTEN=0.0.0.0:8080 \
    CAREGRAPH_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["caregraph"]
CMD ["serve"]
