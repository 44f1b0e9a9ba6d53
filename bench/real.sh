#!/usr/bin/env bash
# Side-by-side timings on real repositories, for two keyfence builds and the floors.
#
#   bench/real.sh NEW_KEYFENCE [OLD_KEYFENCE]
#
# Inputs: DATA (default /work/benchdata) as made by the shared corpus tool:
#   fetch hashicorp/terraform, git/git and moby/moby into a mirror folder, then
#   MIRRORS=<that folder> DATA=$DATA ../shared/tools/corpus.sh \
#     "terraform=<mirror>/hashicorp+terraform/repo:htp" "git=<mirror>/git+git/repo:ht" \
#     "moby=<mirror>/moby+moby/repo:t"
# which writes bare clones of the default branch with one fresh pack ($DATA/NAME.git), checkouts
# of HEAD ($DATA/tree-NAME) and a clone with one staged file holding a generated fake key
# ($DATA/pc-terraform). Peers (gitleaks, betterleaks, kingfisher) come from
# ../shared/tools/peers-install.sh into /opt/peers/bin; missing ones are left out.
# Each cell: hyperfine, warm cache, RUNS runs (default 5); prints mean ± stddev and min..max.
# Peak RSS is measured separately with /usr/bin/time (max over 2 runs).
set -euo pipefail
NEW=${1:?path to the keyfence to measure}
OLD=${2:-}
DATA=${DATA:-/work/benchdata}
RUNS=${RUNS:-5}
MODES=${MODES:-staged range history dir}
P=/opt/peers/bin
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

row() { # row NAME CMD...
    local name=$1; shift
    hyperfine -N -w 1 -r "$RUNS" -i --export-json "$out/h.json" "$*" >/dev/null 2>&1 || { echo "| $name | error |"; return; }
    local rss
    /usr/bin/time -o "$out/rss" -f "%M" "$@" >/dev/null 2>&1 || true
    rss=$(tail -1 "$out/rss")
    python3 - "$out/h.json" "$name" "$rss" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
print(f"| {sys.argv[2]} | {r['mean']*1000:.0f} ms ± {r['stddev']*1000:.0f} | {r['min']*1000:.0f}..{r['max']*1000:.0f} ms | {int(sys.argv[3])//1024} MB |")
PY
}

echo "| command | mean ± sd | range | peak RSS |"
echo "|---|---|---|---|"
for mode in $MODES; do
  case $mode in
  staged)
    cd "$DATA/pc-terraform"
    row "floor: git diff --cached (terraform)" git diff --cached --quiet --exit-code
    row "keyfence protect --staged (new)" "$NEW" protect --staged --no-progress -q
    [ -n "$OLD" ] && row "keyfence protect --staged (old)" "$OLD" protect --staged --no-progress -q
    cd - >/dev/null ;;
  range)
    repo="$DATA/terraform.git"
    tip=$(git --git-dir="$repo" rev-parse HEAD)
    one="$tip~1..$tip"; many="$tip~1000..$tip"
    row "floor: git log -p, 1 commit" git --git-dir="$repo" log -p "$one"
    row "keyfence range, 1 commit (new)" "$NEW" history "$one" --added-only --repo "$repo" --no-progress -q
    [ -n "$OLD" ] && row "keyfence range, 1 commit (old)" "$OLD" history "$one" --added-only --repo "$repo" --no-progress -q
    row "floor: git log -p, 1000 commits" git --git-dir="$repo" log -p "$many"
    row "keyfence range, 1000 commits (new)" "$NEW" history "$many" --added-only --repo "$repo" --no-progress -q
    [ -n "$OLD" ] && row "keyfence range, 1000 commits (old)" "$OLD" history "$many" --added-only --repo "$repo" --no-progress -q
    ;;
  history)
    for name in terraform git; do
      repo="$DATA/$name.git"
      row "floor: cat-file --batch-all-objects ($name)" git --git-dir="$repo" cat-file --batch-all-objects --batch --unordered
      row "keyfence history ($name, new)" "$NEW" history --repo "$repo" --no-progress -q
      [ -n "$OLD" ] && row "keyfence history ($name, old)" "$OLD" history --repo "$repo" --no-progress -q
      [ -x $P/betterleaks ] && row "betterleaks ($name)" $P/betterleaks git "$repo" --report-format json --report-path /dev/null --no-banner --exit-code 0 --log-level error
      [ -x $P/gitleaks ] && row "gitleaks ($name)" $P/gitleaks git "$repo" --report-format json --report-path /dev/null --no-banner --exit-code 0 --log-level error
    done ;;
  dir)
    for name in moby terraform; do
      tree="$DATA/tree-$name"
      row "floor: rg -c AKIA ($name tree)" rg -c --hidden 'AKIA[0-9A-Z]{16}' "$tree"
      row "keyfence scan ($name tree, new)" "$NEW" scan "$tree" --no-progress -q
      [ -n "$OLD" ] && row "keyfence scan ($name tree, old)" "$OLD" scan "$tree" --no-progress -q
    done ;;
  esac
done
