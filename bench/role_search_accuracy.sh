#!/usr/bin/env bash
# Roles by search alone on every paraphrased family (benches/role_search_accuracy.rs):
# per family, the formula and labels searched on its first m training texts, the
# plan's reader learned from those labels, the node's code run in the sandbox on every
# held-out text. No teacher, no student, minutes for every set drawn so far; the
# build (bench/paraphrased_families.sh) goes on to the teacher where this finds no
# fit. Last line:
#
#   families=<n> m=<m> fitted=<count> heldout=<mean, 0 without a fit> families_at_0.9=<count>
#
# Environment:
#   BENCH_M            training texts per family (default 3)
#   BENCH_FAMILY_SETS  folders under bench/data, space-separated (default: every
#                      paraphrased* set; e.g. "paraphrased_later18" for the families
#                      drawn after the search's last change)
#   CARGO_TARGET_DIR   honoured, as cargo does
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet >&2
cargo bench --quiet --bench role_search_accuracy
