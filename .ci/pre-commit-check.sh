#!/usr/bin/env bash
# Runs the real pre-commit framework against this repository's .pre-commit-hooks.yaml: a commit
# that stages an AWS key must be refused, a clean one accepted. Keys are generated here, never
# stored in the repository.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
command -v pre-commit >/dev/null || python3 -m pip install --quiet pre-commit
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# try-repo builds the hook in a fresh store each time; a shared target dir builds keyfence once.
export CARGO_TARGET_DIR="$work/target"
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
if echo "$out" | grep -q "$key"; then echo "FAIL: the raw key was printed" >&2; exit 1; fi
echo "commit with a key refused"
