#!/usr/bin/env bash
# Checks the SAM template the way a deploy would use it, without AWS or Docker:
#   1. cfn-lint template.yaml
#   2. sam validate --lint
#   3. sam build into a temporary directory, then checks what was built: the onerouter package
#      and its catalog in the onerouter layer, and an executable run.sh for completions.
# Run from anywhere; uses the repo's .venv/bin when it exists. `sam build` needs a python3.13
# on PATH (the functions' runtime). Without one it is skipped with a message, except under CI,
# where that is a failure.
set -euo pipefail

repo_root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo_root"
if [ -d .venv/bin ]; then
    PATH="$repo_root/.venv/bin:$PATH"
fi

export SAM_CLI_TELEMETRY=0             # never phone home
export SAM_CLI_DISABLE_UPDATE_CHECK=1  # nor look for a newer SAM CLI
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"  # validate needs a region, not AWS

fail() {
    echo "check_template: $*" >&2
    exit 1
}

echo "== cfn-lint template.yaml"
cfn-lint template.yaml

echo "== sam validate --lint"
sam validate --lint --template-file template.yaml </dev/null

# Where pyenv is installed, 3.13 is a version beside the default one: make both visible.
if command -v pyenv >/dev/null 2>&1; then
    py313="$(pyenv versions --bare 2>/dev/null | grep -E '^3\.13\.[0-9]+$' | tail -n 1 || true)"
    if [ -n "$py313" ]; then
        export PYENV_VERSION="${PYENV_VERSION:-$(pyenv version-name 2>/dev/null | cut -d: -f1)}:$py313"
    fi
fi
if ! python3.13 -c 'import sys' >/dev/null 2>&1; then
    if [ -n "${CI:-}" ]; then
        fail "no python3.13 on PATH: CI must run sam build"
    fi
    echo "skipping sam build: no python3.13 on PATH"
    exit 0
fi

build_dir="$(mktemp -d /tmp/onerouter-sam-build.XXXXXX)"
cache_dir="$(mktemp -d /tmp/onerouter-sam-cache.XXXXXX)"
trap 'rm -rf "$build_dir" "$cache_dir"' EXIT

echo "== sam build (into $build_dir, python3.13 from $(command -v python3.13))"
sam build --template-file template.yaml --build-dir "$build_dir" --cache-dir "$cache_dir" \
    --parallel --no-cached </dev/null

echo "== built artifacts"
layer="$build_dir/OneRouterLayer/python/onerouter"
[ -f "$layer/__init__.py" ] || fail "onerouter layer lacks python/onerouter/__init__.py"
[ -f "$layer/routing/default_catalog.yaml" ] \
    || fail "onerouter layer lacks python/onerouter/routing/default_catalog.yaml"
if find "$build_dir/OneRouterLayer" -name __pycache__ | grep -q .; then
    fail "onerouter layer contains __pycache__"
fi
deps="$build_dir/DependenciesLayer/python"
for module in starlette uvicorn uvloop httptools httpcore pydantic pydantic_core yaml orjson mangum \
    aws_lambda_powertools boto3 stripe; do
    [ -e "$deps/$module" ] || fail "dependencies layer lacks $module"
done
[ -x "$build_dir/CompletionsFunction/run.sh" ] || fail "CompletionsFunction/run.sh missing or not executable"
[ -f "$build_dir/CompletionsFunction/app.py" ] || fail "CompletionsFunction/app.py missing"
[ -f "$build_dir/ApiFunction/app.py" ] || fail "ApiFunction/app.py missing"
[ -f "$build_dir/UsageConsumerFunction/app.py" ] || fail "UsageConsumerFunction/app.py missing"
[ -f "$build_dir/CreditExpiryFunction/app.py" ] || fail "CreditExpiryFunction/app.py missing"
[ -f "$build_dir/BillingWebhookFunction/app.py" ] || fail "BillingWebhookFunction/app.py missing"

# Both entry points import and build their app on the runtime's Python from the built layers
# alone (as /opt/python would hold them), with no AWS: what a cold start does.
for function in CompletionsFunction ApiFunction UsageConsumerFunction CreditExpiryFunction \
    BillingWebhookFunction; do
    (cd "$build_dir/$function" && env -i PATH="$PATH" PYENV_VERSION="${PYENV_VERSION:-}" \
        AWS_DEFAULT_REGION=us-east-1 PYTHONDONTWRITEBYTECODE=1 \
        PYTHONPATH=".:$build_dir/OneRouterLayer/python:$deps" \
        python3.13 -c 'import app; assert getattr(app, "app", None) or getattr(app, "handler")') \
        || fail "$function does not import on python3.13 from the built layers"
done

# Unzipped code and layers of one function must stay under Lambda's 250 MB.
size_mb="$(du -sm "$build_dir/DependenciesLayer" "$build_dir/OneRouterLayer" \
    "$build_dir/CompletionsFunction" | awk '{s += $1} END {print s}')"
[ "$size_mb" -lt 240 ] || fail "completions function with its layers is ${size_mb} MB unzipped"
echo "ok: template lints, builds, and the built function and layers look right (${size_mb} MB)"
