#!/usr/bin/env bash
# Installs the system packages apflow needs to build and run, on Debian or
# Ubuntu (apt). Elsewhere it says what to install and goes on if the tools
# are already there. Safe to run again: it installs only what is missing.
#
#   scripts/install-deps.sh          build + run
#   scripts/install-deps.sh test     also what the test suite needs (PostgreSQL)
set -euo pipefail

want=(build-essential pkg-config ca-certificates poppler-utils
      libtesseract-dev libleptonica-dev tesseract-ocr tesseract-ocr-osd
      tesseract-ocr-eng tesseract-ocr-deu tesseract-ocr-fra tesseract-ocr-nld
      tesseract-ocr-spa tesseract-ocr-ita)
if [ "${1:-}" = "test" ]; then
  want+=(postgresql postgresql-client libxml2-utils dovecot-imapd openssl chromium chromium-driver)
fi

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
fi

if [ ${#missing[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "apflow: please install as root: apt-get install ${missing[*]}" >&2; exit 1
      fi
    fi
    echo "apflow: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
elif ! command -v dpkg-query >/dev/null 2>&1; then
  echo "apflow: not a Debian/Ubuntu system; make sure a C compiler, pkg-config and poppler-utils are installed${1:+ (and PostgreSQL for the tests)}." >&2
fi

# Rust: apflow needs 1.95 or newer (rust-version in Cargo.toml).
if ! command -v cargo >/dev/null 2>&1; then
  cat >&2 <<'MSG'
apflow: Rust is not installed. Install it with rustup (https://rustup.rs):
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh
then open a new shell and run this command again.
MSG
  exit 1
fi
have=$(rustc --version | awk '{print $2}')
if [ "$(printf '%s\n1.95.0\n' "$have" | sort -V | head -n1)" != "1.95.0" ]; then
  echo "apflow: Rust $have is too old; apflow needs 1.95 or newer (rustup update)." >&2
  exit 1
fi
