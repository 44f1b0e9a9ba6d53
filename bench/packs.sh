#!/usr/bin/env bash
# All packs against the AWS pack alone (issue 11: "the all-packs slowdown over the AWS pack alone
# stays <= 1.5x on real source"), in user CPU seconds of one thread, and a check that a candidate
# build reports the same findings as a reference build.
#
#   bench/packs.sh [--runs N] [--bin NEW] [--ref OLD] [--check [--no-time]] [--history REPO]... [TREE...]
#
# NEW defaults to target/release/keyfence (build it first), OLD to /work/bins/keyfence-head when
# present. TREEs default to the moby, terraform and git trees under /work/benchdata. Runs are
# interleaved (binary by binary, configuration by configuration) and the medians printed, since
# the machine is shared. --check also compares the JSON findings (rule, file, line, fingerprint)
# of NEW and OLD with all packs on every tree and, with --history REPO, of `history`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=9 new="$here/target/release/keyfence" ref=/work/bins/keyfence-head check=0 time=1 histories=()
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

cpu() { # binary config tree -> user seconds, to the microsecond (/usr/bin/time rounds to 10 ms)
  python3 -c 'import resource, subprocess, sys
run = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
assert run.returncode in (0, 1), run
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime)' \
    "$1" scan "$3" --threads 1 --no-progress --format json --config "$2"
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

for tree in "${trees[@]}"; do
  [ "$time" = 1 ] || break
  for b in "${bins[@]}"; do : > "$work/$(basename "$b").all"; : > "$work/$(basename "$b").aws"; done
  for _ in $(seq "$runs"); do
    for b in "${bins[@]}"; do
      cpu "$b" "$work/all.toml" "$tree" >> "$work/$(basename "$b").all"
      cpu "$b" "$work/aws-only.toml" "$tree" >> "$work/$(basename "$b").aws"
    done
  done
  for b in "${bins[@]}"; do
    all=$(median < "$work/$(basename "$b").all"); aws=$(median < "$work/$(basename "$b").aws")
    printf '%-16s %-28s all packs %7.4f s  AWS pack %7.4f s  ratio %.2f  (user CPU, 1 thread, median of %d)\n' \
      "$(basename "$tree")" "$(basename "$b")" "$all" "$aws" "$(echo "$all / $aws" | bc -l)" "$runs"
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
    echo "DIFFERENT findings: $label"; diff "$work/$(basename "$ref").findings" "$work/$(basename "$new").findings" | head -20
    status=1
  fi
}
for tree in "${trees[@]}"; do compare "scan $(basename "$tree")" scan "$tree"; done
for h in "${histories[@]}"; do compare "history $(basename "$h")" history --repo "$h"; done
exit $status
