#!/usr/bin/env bash
# Runs the real pre-commit framework against this repository's .pre-commit-hooks.yaml: a commit
# that stages an AWS key must be refused, a clean one accepted. Keys are generated here, never
# stored in the repository.
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
command -v pre-commit >/dev/null || python3 -m pip install --quiet pre-commit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# try-repo builds the hook in a fresh store each time; a shared target dir builds keyfence once.
export CARGO_TARGET_DIR="$work/target"
# A private store: the pre-push check below installs this repository's hooks by path and rev.
export PRE_COMMIT_HOME="$work/pre-commit-home"
cd "$work"
git init -q demo && cd demo
git config user.email ci@example.com && git config user.name ci
key=$(python3 -c 'import random; r=random.Random(7); print("AKIA"+"".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)))')

echo 'provider "aws" { region = "us-east-1" }' > main.tf
git add main.tf
pre-commit try-repo "$here" keyfence --verbose
echo "clean commit accepted"

printf 'provider "aws" {\n  access_key = "%s"\n}\n' "$key" > main.tf
git add main.tf
if out=$(pre-commit try-repo "$here" keyfence --verbose 2>&1); then
  echo "$out"
  echo "FAIL: pre-commit accepted a staged AWS key" >&2
  exit 1
fi
echo "$out" | grep -q "aws-access-key-id" || { echo "$out"; echo "FAIL: refused without naming the rule" >&2; exit 1; }
raw_key_outside_advice "$out" "$key"
echo "commit with a key refused"

# The pre-push stage: the framework reads git's pre-push input itself and runs the hook with
# an empty stdin and PRE_COMMIT_* variables naming the refs. try-repo cannot install hooks, so
# the demo's config names this repository at its committed HEAD.
cd "$work"
git init -q --bare remote.git
git init -q pushdemo && cd pushdemo
git config user.email ci@example.com && git config user.name ci
git checkout -q -b main
git remote add origin "$work/remote.git"
cat > .pre-commit-config.yaml <<EOF
repos:
  - repo: $here
    rev: $(git -C "$here" rev-parse HEAD)
    hooks:
      - id: keyfence-pre-push
EOF
pre-commit install --hook-type pre-push
echo 'provider "aws" { region = "us-east-1" }' > main.tf
git add -A && git commit -q --no-verify -m clean
# The first push holds the root commit: the framework names only the local branch.
git push -q origin main 2>&1 || { echo "FAIL: the framework's pre-push refused a clean first push" >&2; exit 1; }
clean=$(git rev-parse HEAD)
echo "clean first push accepted"
echo 'locals { region = "us-east-1" }' > vars.tf
git add -A && git commit -q --no-verify -m "clean again"
git push -q origin main 2>&1 || { echo "FAIL: the framework's pre-push refused a clean push" >&2; exit 1; }
clean=$(git rev-parse HEAD)
echo "clean push accepted"

printf 'provider "aws" {\n  access_key = "%s"\n}\n' "$key" > main.tf
git commit -q --no-verify -am "leak"
if out=$(git push origin main 2>&1); then
  echo "$out"
  echo "FAIL: the framework's pre-push let a commit with an AWS key through" >&2
  exit 1
fi
echo "$out" | grep -q "aws-access-key-id" || { echo "$out"; echo "FAIL: push refused without naming the rule" >&2; exit 1; }
raw_key_outside_advice "$out" "$key"
[ "$(git -C "$work/remote.git" rev-parse main)" = "$clean" ] || { echo "FAIL: the remote moved" >&2; exit 1; }
if git -C "$work/remote.git" grep -q "$key" main -- 2>/dev/null; then echo "FAIL: the key reached the remote" >&2; exit 1; fi
echo "push with a key refused"
# A new branch carrying the key: the framework names the range from its first new commit.
if out=$(git push origin main:refs/heads/topic 2>&1); then
  echo "$out"
  echo "FAIL: the framework's pre-push let a new branch with an AWS key through" >&2
  exit 1
fi
git -C "$work/remote.git" rev-parse -q --verify refs/heads/topic >/dev/null && { echo "FAIL: topic reached the remote" >&2; exit 1; }
echo "new branch with a key refused"
