# apflow: two commands.
#   make demo   install what is missing, build, load the samples, serve http://127.0.0.1:8080
#   make test   install what the tests need, then fmt + clippy + every test (SQLite and PostgreSQL)

CARGO       ?= cargo
TARGET_DIR  := $(or $(CARGO_TARGET_DIR),target)
APFLOW      := $(TARGET_DIR)/release/apflow
CORPUS      ?= ../shared/corpus/zugferd-corpus
# Real layouts split into tune (learned from) and check (only measured).
VARIED      ?= ../shared/corpus/varied
VARIED_ARG  := $(if $(wildcard $(VARIED)/splits.jsonl),--corpus $(VARIED))

.PHONY: demo test deps test-deps release eval conformance train bench samples clean

# The demo runs as of 20 March 2026, the week the sample invoices arrived,
# so their early-payment discounts are still open (override: APFLOW_TODAY).
demo: release
	APFLOW_TODAY=$${APFLOW_TODAY:-2026-03-20} $(APFLOW) demo

test: test-deps
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) run --locked --quiet -- distill
	OMP_THREAD_LIMIT=1 APFLOW_TEST_POSTGRES_URL="$$(scripts/ensure-postgres.sh)" $(CARGO) test --locked

deps:
	scripts/install-deps.sh
	scripts/fetch-model.sh

test-deps:
	scripts/install-deps.sh test
	scripts/fetch-model.sh
	scripts/ensure-postgres.sh >/dev/null

# `distill` derives the extraction model's token vectors from the fetched
# embedding model, once (about 40 s).
release: deps
	$(CARGO) build --release --locked
	$(APFLOW) distill

# Per-field extraction accuracy on a folder with truth.jsonl: both read
# paths, with and without the model, and the scan path. The varied corpus
# (when present) is scored tune beside check; its check split is the
# measure of layouts never tuned on.
eval: release
	$(if $(VARIED_ARG),OMP_THREAD_LIMIT=1 $(APFLOW) eval --visual-only --ocr-cache $(TARGET_DIR)/ocr-cache $(VARIED))
	$(APFLOW) eval $(CORPUS)
	$(APFLOW) eval --visual-only $(CORPUS)
	$(APFLOW) eval --visual-only --no-model $(CORPUS)
	OMP_THREAD_LIMIT=1 $(APFLOW) eval --scan $(CORPUS)
	OMP_THREAD_LIMIT=1 $(APFLOW) eval --scan --no-model $(CORPUS)

# EN 16931 conformance: `apflow check` over the official CEN examples and
# the valid ZUGFeRD / Factur-X corpus (every file valid is the target).
EXAMPLES    ?= ../shared/corpus/en16931-xml-examples
conformance: release
	find $(EXAMPLES) -iname '*.xml' -print0 | sort -z | xargs -0 $(APFLOW) check | grep -v -e ': valid (' -e ' warning: '
	find $(CORPUS) -name '*.pdf' -print0 | sort -z | xargs -0 $(APFLOW) check | grep -v -e ': valid (' -e ' warning: '

# Reproduces models/extraction/ (see its MODEL_CARD.md): synthetic
# invoices plus the tune split of the varied corpus.
train: release
	OMP_THREAD_LIMIT=1 $(APFLOW) train $(VARIED_ARG)

bench: release
	$(CARGO) bench --locked --bench extract
	OMP_THREAD_LIMIT=1 $(CARGO) bench --locked --bench ocr
	$(CARGO) bench --locked --bench model
	$(CARGO) bench --locked --bench ingest
	$(CARGO) bench --locked --bench pages
	$(CARGO) bench --locked --bench takeover

# Regenerates samples/ (needs only python3).
samples:
	python3 samples/generate.py

clean:
	$(CARGO) clean
	rm -rf data inbox
