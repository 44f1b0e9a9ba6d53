#!/usr/bin/env bash
# All packs against the AWS pack alone (issue 11: "the all-packs slowdown over the AWS pack alone
# stays <= 1.5x on real source"), in wall time and user CPU of one thread, and a check that a
# candidate build reports the same findings as a reference build.
#
#   bench/packs.sh [--runs N] [--bin NEW] [--ref OLD] [--check [--no-time]] [--history REPO]... [TREE...]
#
# NEW defaults to target/release/keyfence (build it first), OLD to /work/bins/keyfence-head when
# present. TREEs default to the moby, terraform and git trees under /work/benchdata. hyperfine runs
# the two configurations of a build alternately and their means are printed: wall time, which a
# scan on one thread spends almost all on CPU, and user CPU (the kernel samples the split between
# user and system time, so one run's user time is noisy; a mean of many is not). --check also compares the JSON findings (rule, file, line, fingerprint)
# of NEW and OLD with all packs on every tree and, with --history REPO, of `history`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=20 new="$here/target/release/keyfence" ref=/work/bins/keyfence-head check=0 time=1 histories=()
trees=()
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --bin) new=$2; shift 2 ;;
    --ref) ref=$2; shift 2 ;;
    --check) check=1; shift ;;
    --history) histories+=("$2"); shift 2 ;;
    --no-time) time=0; shift ;;
    *) trees+=("$1"); shift ;;
  esac
done
[ ${#trees[@]} -gt 0 ] || trees=(/work/benchdata/tree-moby /work/benchdata/tree-terraform /work/benchdata/tree-git)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
# "The AWS pack alone": no shipped packs, rules/aws.toml as the only pack.
cp "$here/rules/aws.toml" "$work/aws.toml"
printf 'extend_default = false\npacks = ["aws.toml"]\n' > "$work/aws-only.toml"
printf '' > "$work/all.toml"   # an empty config: the shipped packs, and no .keyfence.toml found in the tree
bins=("$new"); [ -x "$ref" ] && bins+=("$ref")

for tree in "${trees[@]}"; do
  [ "$time" = 1 ] || break
  for b in "${bins[@]}"; do
    hyperfine -N -i -w 2 -r "$runs" --export-json "$work/hf.json" \
      "$b scan $tree --threads 1 --no-progress --format json --config $work/all.toml" \
      "$b scan $tree --threads 1 --no-progress --format json --config $work/aws-only.toml" > /dev/null 2>&1
    python3 - "$work/hf.json" "$(basename "$tree")" "$(basename "$b")" "$runs" <<'PY'
import json, sys
all_, aws = json.load(open(sys.argv[1]))["results"]
print(f"{sys.argv[2]:16} {sys.argv[3]:28} all packs {all_['mean']:.4f} s  AWS pack {aws['mean']:.4f} s"
      f"  ratio {all_['mean'] / aws['mean']:.2f} wall, {all_['user'] / aws['user']:.2f} user CPU"
      f"  (1 thread, mean of {sys.argv[4]})")
PY
  done
done

[ "$check" = 1 ] || exit 0
[ -x "$ref" ] || { echo "no reference build at $ref" >&2; exit 2; }
findings() { # json report -> sorted "rule file line fingerprint" lines
  python3 -c 'import json,sys
for f in json.load(open(sys.argv[1])): print(f["rule_id"], f["file"], f["line"], f["fingerprint"], f.get("commit"))' "$1" | sort
}
status=0
compare() { # label, then the command's arguments after the binary
  local label=$1; shift
  for b in "$new" "$ref"; do
    "$b" "$@" --format json --no-progress --config "$work/all.toml" > "$work/out.json" 2>/dev/null || [ $? -eq 1 ]
    findings "$work/out.json" > "$work/$(basename "$b").findings"
  done
  if cmp -s "$work/$(basename "$new").findings" "$work/$(basename "$ref").findings"; then
    echo "same findings: $label ($(wc -l < "$work/$(basename "$new").findings"))"
  else
    echo "DIFFERENT findings: $label"; { diff "$work/$(basename "$ref").findings" "$work/$(basename "$new").findings" || true; } | head -20
    status=1
  fi
}
for tree in "${trees[@]}"; do compare "scan $(basename "$tree")" scan "$tree"; done
for h in "${histories[@]}"; do compare "history $(basename "$h")" history --repo "$h"; done
exit $status
