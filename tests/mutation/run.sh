#!/usr/bin/env bash
# One mutmut 3.8 run over one MUST-enforcing module (docs/spec-coverage.md "Mutation testing").
#
#   tests/mutation/run.sh MODULE [MUTANT_GLOB ...]
#
# MODULE picks the file to mutate and the fast unit tests that cover it (never e2e: the
# machine is shared). Each run works in its own copy of the checkout under
# ${MUTATION_DIR:-/tmp/ucp-mutation}/MODULE, with [tool.mutmut] rewritten for that module, so
# runs do not share mutmut's cache and the checkout gets no mutants/ directory. MUTANT_GLOBs
# (e.g. 'contracts.http_signatures.x__verify__mutmut_*') restrict the run to a documented sample.
# Prints the per-status counts and leaves the full list in .../MODULE/results.txt.
# MUTMUT_CHILDREN (default 1) sets mutmut's --max-children: 2 on an idle machine halves a whole-module run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
module=${1:?module: security signatures lifecycle merchant_call merchant_client webhooks extensions}
shift
case $module in
  security) mutate=api/security.py
    tests="tests/api/test_front_door.py tests/api/test_security_mutants.py" ;;
  signatures) mutate=contracts/http_signatures.py
    # test_signature_base checks the signing side against the library; test_signing_mutants pins what its
    # mutants showed unpinned (issue 11 item 7).
    tests="tests/contracts/test_http_signatures.py tests/contracts/test_signature_vectors.py tests/contracts/test_signature_coverage_rules.py tests/contracts/test_signature_mutants.py
      tests/contracts/test_signature_base.py tests/contracts/test_signing_mutants.py" ;;
  lifecycle) mutate=workflows/lifecycle.py
    tests="tests/workflows/test_lifecycle_rules.py tests/workflows/test_session_rules.py tests/workflows/test_lifecycle_mutants.py" ;;
  merchant_call) mutate="activities/merchant.py activities/operation.py"
    tests="tests/merchants/test_activity_mapping.py tests/merchants/test_merchant_call_mutants.py" ;;
  merchant_client) mutate=merchants/client.py  # what call_merchant delegates to (mutmut skips decorated methods)
    # The loopback tests that reach the client's refusal paths too: transport failures, redirects, signing
    # coverage (test_responses), the orphan cancel (test_merchant_answers), merchant auth, mTLS and 401s
    # (test_merchant_auth), target checks (test_targets). Without them 108 mutants had "no tests".
    tests="tests/merchants/test_client.py tests/merchants/test_activity_mapping.py tests/merchants/test_merchant_call_mutants.py
      tests/merchants/test_responses.py tests/merchants/releases/test_merchant_answers.py
      tests/merchants/releases/test_merchant_auth.py tests/merchants/releases/test_targets.py
      tests/merchants/test_client_mutants.py" ;;
  webhooks) mutate="merchants/webhooks.py workflows/orders.py"
    tests="tests/merchants/test_webhooks.py tests/merchants/test_webhook_mutants.py tests/workflows/test_order_webhook_mutants.py" ;;
  extensions) mutate=contracts/ucp/extensions.py
    tests="tests/contracts/test_extensions.py tests/contracts/test_vendor_extensions.py" ;;
  *) echo "unknown module $module" >&2; exit 2 ;;
esac
python=${PYTHON:-python}
mutmut=${MUTMUT:-$(dirname "$(command -v "$python")")/mutmut}
work=${MUTATION_DIR:-/tmp/ucp-mutation}/$module
mkdir -p "$work"
rm -rf "$work/mutants"
rsync -a --delete --exclude .git --exclude mutants --exclude '*.egg-info' --exclude __pycache__ \
  --exclude .mypy_cache --exclude .ruff_cache "$root/" "$work/"
existing=""
for t in $tests; do [ -e "$work/$t" ] && existing="$existing $t"; done
"$python" - "$work/pyproject.toml" "$mutate" "$existing" <<'PY'
import sys
path, mutate, tests = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
text = open(path, encoding="utf-8").read()
dirs = sorted({m.split("/")[0] for m in mutate})
section = "\n".join([
    "[tool.mutmut]",
    f"source_paths = {dirs!r}".replace("'", '"'),
    f"only_mutate = {mutate!r}".replace("'", '"'),
    'also_copy = ["tests", "api", "contracts", "core", "storage", "merchants", "activities", "workflows", "worker",'
    ' "ucp_connector", "reference_merchant", "docs", "bench", "deploy", "README.md"]',
    'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]',
    f"pytest_add_cli_args_test_selection = {tests!r}".replace("'", '"'),
    "",
])
lines, out, skipping = text.splitlines(keepends=True), [], False
for line in lines:
    if line.startswith("["):
        skipping = line.strip() == "[tool.mutmut]"
        if skipping:
            out.append(section)
    if not skipping:
        out.append(line)
text = "".join(out)
open(path, "w", encoding="utf-8").write(text)
PY
cd "$work"
nice "$mutmut" run --max-children "${MUTMUT_CHILDREN:-1}" "$@" > run.log 2>&1 || true
"$mutmut" results --all true > results.txt
if [ $# -gt 0 ]; then
  pattern=$(printf '%s\n' "$@" | sed 's/\./\\./g; s/\*/.*/g' | paste -sd'|')
  grep -E "^ *($pattern):" results.txt > selected.txt || true
else
  cp results.txt selected.txt
fi
echo "$module: $(wc -l < selected.txt) mutants"
awk -F': ' '{print $2}' selected.txt | sort | uniq -c
