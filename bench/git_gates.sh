#!/usr/bin/env bash
# Benchmarks the git gates on a large repository.
#
#   bench/git_gates.sh [REPO]
#
# Without REPO it builds a synthetic one in a temp dir: FILES files (default 50000) in one commit,
# then COMMITS (default 300) commits that each change a few files, so history has some depth.
# It then stages one small change and reports:
#   * the median wall time of `keyfence protect --staged` over RUNS runs (target < 50 ms),
#   * `keyfence history` over all refs next to `git cat-file --batch-all-objects --batch`
#     on the same repo (target: within 3x), with peak RSS of both.
# KEYFENCE=path/to/keyfence uses that binary; otherwise a release build is made (or reused).
set -euo pipefail

FILES=${FILES:-50000}
COMMITS=${COMMITS:-300}
RUNS=${RUNS:-21}
here=$(cd "$(dirname "$0")/.." && pwd)

if [[ -z "${KEYFENCE:-}" ]]; then
    (cd "$here" && cargo build --release --quiet)
    KEYFENCE="$here/target/release/keyfence"
fi
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }

export GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@e GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@e

if [[ $# -ge 1 ]]; then
    repo=$(cd "$1" && pwd)
    cleanup=""
else
    work=$(mktemp -d)
    cleanup="$work"
    repo="$work/repo"
    git init -q -b main "$repo"
    echo "building a repository with $FILES files and $COMMITS more commits..." >&2
    awk -v files="$FILES" -v commits="$COMMITS" 'BEGIN {
        srand(42); t = 1700000000
        print "commit refs/heads/main"; print "committer bench <b@e> " t " +0000"
        print "data 4"; print "init"
        for (i = 0; i < files; i++) {
            body = sprintf("// file %d\nconst NAME_%d = \"value-%d\";\nfn f%d() -> u32 { %d }\n", i, i, i * 7, i, i % 97)
            printf "M 100644 inline src/d%03d/f%05d.rs\ndata %d\n%s\n", i % 500, i, length(body), body
        }
        for (c = 1; c <= commits; c++) {
            print "commit refs/heads/main"; print "committer bench <b@e> " (t + c * 60) " +0000"
            msg = "change " c; print "data " length(msg); print msg
            for (k = 0; k < 5; k++) {
                i = int(rand() * files)
                body = sprintf("// file %d rev %d\nconst NAME_%d = \"value-%d-%d\";\n", i, c, i, i, c)
                printf "M 100644 inline src/d%03d/f%05d.rs\ndata %d\n%s\n", i % 500, i, length(body), body
            }
        }
    }' | git -C "$repo" fast-import --quiet
    git -C "$repo" reset -q --hard main
fi
trap '[[ -n "$cleanup" ]] && rm -rf "$cleanup"' EXIT

cd "$repo"
tracked=$(git ls-files | wc -l)
echo "repository: $repo ($tracked tracked files, $(git rev-list --all | wc -l) commits)"

# One small staged change.
first=$(git ls-files | sed -n 1p)
echo "// a staged edit" >> "$first"
git add "$first"

"$KEYFENCE" protect --staged --quiet >/dev/null  # warm the cache
times=()
for _ in $(seq "$RUNS"); do
    s=$(date +%s%N)
    "$KEYFENCE" protect --staged --quiet --no-progress >/dev/null
    e=$(date +%s%N)
    times+=($(( (e - s) / 1000 )))
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
printf 'protect --staged: median %d.%03d ms over %d runs (target < 50 ms)\n' $((median / 1000)) $((median % 1000)) "$RUNS"
git reset -q HEAD -- "$first" && git checkout -q -- "$first"

measure() { # label, command...
    local label=$1; shift
    local out tf
    tf=$(mktemp)
    /usr/bin/time -o "$tf" -f '%e %M' "$@" >/dev/null 2>&1 || true
    out=$(tail -n 1 "$tf")
    rm -f "$tf"
    printf '%-42s %7ss  peak RSS %5d MB\n' "$label" "${out% *}" $(( ${out#* } / 1024 )) >&2
    echo "${out% *}"
}
git cat-file --batch-all-objects --batch >/dev/null  # warm the cache
base=$(measure "git cat-file --batch-all-objects --batch" git cat-file --batch-all-objects --batch)
kf=$(measure "keyfence history (all refs)" "$KEYFENCE" history --quiet --no-progress)
awk -v a="$kf" -v b="$base" 'BEGIN { if (b > 0) printf "history / cat-file = %.2fx (target <= 3x)\n", a / b }'
