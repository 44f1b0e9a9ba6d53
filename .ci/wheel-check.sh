#!/usr/bin/env bash
# The no-Rust install route, end to end: build the binary wheel (maturin), install it into a fresh
# venv and run it; then the real pre-commit framework with the wheel-based hooks
# (keyfence-python, keyfence-python-pre-push) from this repository, resolving the wheel from the
# locally built one (PIP_FIND_LINKS, no index) with no cargo on PATH: a staged Terraform key is
# refused at commit, a key committed with --no-verify is refused at push to a local bare remote.
# Keys are generated here, never stored. Usage: wheel-check.sh [WHEEL_DIR] (default: build it).
set -euo pipefail

# The full key ID may appear only inside the advice (an identifier to paste into `aws iam …`
# commands, as issue 12 asks); anywhere else, such as the finding line, it must be redacted.
raw_key_outside_advice() {
  if echo "$1" | grep -F "$2" | grep -v -E -e "--access-key-id $2" -e "AttributeValue=$2" \
      -e "--key-id $2" -e "What to do now — AWS key $2" | grep -q .; then
    echo "$1"; echo "FAIL: the raw key was printed outside the advice commands" >&2; exit 1
  fi
}
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dist="$work/dist"
mkdir -p "$dist"

if [ "${1:-}" != "" ]; then
  cp "$1"/keyfence_scanner-*.whl "$dist/"
else
  command -v maturin >/dev/null || python3 -m pip install --quiet "maturin>=1.5,<2"
  # The same target dir as cargo's, so the release build is shared with anything else using it.
  (cd "$here/python" && maturin build --release --out "$dist")
fi
ls "$dist"/keyfence_scanner-*.whl >/dev/null

echo "== wheel: install into a fresh venv and run"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --no-index --find-links "$dist" keyfence-scanner
"$work/venv/bin/keyfence" --version
key=$(python3 -c 'import random; r=random.Random(11); print("AKIA"+"".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)))')
mkdir "$work/plain"
printf 'provider "aws" {\n  access_key = "%s"\n}\n' "$key" > "$work/plain/main.tf"
set +e
out=$("$work/venv/bin/keyfence" scan "$work/plain" --no-color 2>&1); rc=$?
set -e
[ "$rc" = 1 ] || { echo "$out"; echo "FAIL: the wheel's keyfence exited $rc on a key (expected 1)" >&2; exit 1; }
echo "wheel binary finds the key (exit 1)"

echo "== pre-commit framework with the wheel-based hooks"
command -v pre-commit >/dev/null || python3 -m pip install --quiet pre-commit
# The hook environment builds the root's thin project (setuptools) and installs the wheel from
# $dist only: no index, and no cargo on PATH, so a source build could not even start.
python3 -m pip download --quiet --only-binary=:all: --dest "$dist" "setuptools>=61"
export PIP_FIND_LINKS="$dist" PIP_NO_INDEX=1 PRE_COMMIT_HOME="$work/pre-commit-cache"
hook_path=$(printf '%s' "$PATH" | tr ':' '\n' | grep -v -e cargo -e rustup | paste -sd: -)
rev=$(git -C "$here" rev-parse HEAD)
# try-repo-like: the hooks as committed at HEAD of this checkout.
git init -q --bare "$work/remote.git"
git init -q -b main "$work/demo"
cd "$work/demo"
git config user.email ci@example.com && git config user.name ci
git remote add origin "$work/remote.git"
cat > .pre-commit-config.yaml <<YAML
repos:
  - repo: $here
    rev: $rev
    hooks:
      - id: keyfence-python
      - id: keyfence-python-pre-push
YAML
echo 'provider "aws" { region = "us-east-1" }' > main.tf
git add -A
PATH="$hook_path" pre-commit install --hook-type pre-commit --hook-type pre-push >/dev/null
started=$(date +%s)
PATH="$hook_path" git commit -q -m "clean start"
PATH="$hook_path" git push -q origin main
echo "clean commit and push accepted (hook environment built in $(( $(date +%s) - started ))s)"
if find "$PRE_COMMIT_HOME" -maxdepth 2 -name 'rustenv-*' | grep -q . \
  || find "$PRE_COMMIT_HOME" -name '*.rlib' | grep -q .; then
  echo "FAIL: the hook environment compiled Rust" >&2; exit 1
fi

printf 'provider "aws" {\n  region     = "us-east-1"\n  access_key = "%s"\n}\n' "$key" > main.tf
git add main.tf
set +e
out=$(PATH="$hook_path" git commit -m "add key" 2>&1); rc=$?
set -e
if [ "$rc" = 0 ]; then echo "$out"; echo "FAIL: pre-commit (wheel hook) accepted a staged AWS key" >&2; exit 1; fi
echo "$out" | grep -q "aws-access-key-id" || { echo "$out"; echo "FAIL: refused without naming the rule" >&2; exit 1; }
raw_key_outside_advice "$out" "$key"
echo "staged key refused at commit"

PATH="$hook_path" git commit -q --no-verify -m "add key (hook skipped)"
set +e
out=$(PATH="$hook_path" git push origin main 2>&1); rc=$?
set -e
if [ "$rc" = 0 ]; then echo "$out"; echo "FAIL: pre-push (wheel hook) let a key through" >&2; exit 1; fi
echo "$out" | grep -q "aws-access-key-id" || { echo "$out"; echo "FAIL: push refused without naming the rule" >&2; exit 1; }
raw_key_outside_advice "$out" "$key"
[ "$(git -C "$work/remote.git" rev-parse main)" != "$(git rev-parse HEAD)" ] || { echo "FAIL: the remote received the commit" >&2; exit 1; }
echo "pushed key refused at pre-push; the remote does not have it"
echo "wheel route: $(( $(date +%s) - started ))s from hook install to both refusals"
