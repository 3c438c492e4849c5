#!/bin/bash -eu
# Builds the cargo-fuzz targets of fuzz/ into $OUT, each with its committed
# seeds as <target>_seed_corpus.zip, and the parsers' dictionary as
# parsers.dict (libFuzzer's runners pick up <target>.dict).
#
# In ClusterFuzzLite's (or OSS-Fuzz's) builder, $SRC and $OUT are set, the
# default toolchain is nightly and RUSTFLAGS carry the sanitizer's flags.
# The same script runs on a developer machine with SRC and OUT pointing at
# folders of one's own (SRC holding the repository as $SRC/stm) and nightly
# installed beside stable:
#   SRC=/tmp/src OUT=/tmp/out .clusterfuzzlite/build.sh

: "${SRC:?set SRC to the folder that holds the repository as SRC/stm}"
: "${OUT:?set OUT to the folder the fuzzers are built into}"

cd "$SRC/stm/fuzz"

# cargo-fuzz needs nightly (AddressSanitizer is -Zsanitizer=address): the
# builder's default toolchain, or rustup's `+nightly` where stable is.
cargo_fuzz() {
  if rustc --version | grep -q nightly; then
    cargo fuzz "$@"
  else
    cargo +nightly fuzz "$@"
  fi
}

# Release, with debug assertions and overflow checks kept on (`-a`): the
# engine's own invariants are debug assertions.
cargo_fuzz build -O -a

triple="${CARGO_BUILD_TARGET:-x86_64-unknown-linux-gnu}"
built="${CARGO_TARGET_DIR:-target}/$triple/release"
mkdir -p "$OUT"
for target in $(cargo_fuzz list); do
  cp "$built/$target" "$OUT/"
  rm -f "$OUT/${target}_seed_corpus.zip"
  zip -q -j "$OUT/${target}_seed_corpus.zip" "seeds/$target"/*
done
cp parsers.dict "$OUT/parsers.dict"
