#!/usr/bin/env bash
# The context reader's own accuracy on phrasings it was not fitted to
# (benches/role_reader_accuracy.rs): per paraphrased family, a table learned from the
# true roles of its first m training texts reads every held-out text; a text counts
# when every role is read right. No teacher, no search, seconds per family. Last line:
#
#   families=<n> m=<m> all_roles_read=<mean> families_at_0.9=<count>
#
# Environment:
#   BENCH_M            training texts per family (default 3)
#   BENCH_FAMILY_SETS  folders under bench/data, space-separated (default: every
#                      paraphrased* set; e.g. "paraphrased_later16" for the families
#                      drawn after the reader's last change)
#   CARGO_TARGET_DIR   honoured, as cargo does
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --quiet >&2
cargo bench --quiet --bench role_reader_accuracy
