#!/usr/bin/env bash
# The main job, end to end, on this machine and nowhere else: build azcm and the fake cloud,
# start the fake on loopback, check the endpoints, onboard this machine under a temporary state
# root, show it locally and as ARM sees it, pack its logs, disconnect, and stop the fake.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/cargo-built.sh
. scripts/cargo-built.sh
built=$(cargo_built --release --locked --bin azcm --bin azcm-fakecloud)
azcm=$(built_path azcm)
fakecloud=$(built_path azcm-fakecloud)
work=$(mktemp -d)
"$fakecloud" --print-env --dir "$work" > "$work/env" 2> "$work/fakecloud.log" &
fake=$!
trap 'kill "$fake" 2>/dev/null || true; wait "$fake" 2>/dev/null || true; rm -rf "$work"' EXIT
# The fake prints its settings once it serves; if it exits or stays silent for 10 s, say so.
for _ in $(seq 100); do
    grep -q FAKE_ADMIN_URL "$work/env" 2>/dev/null && break
    kill -0 "$fake" 2>/dev/null || break
    sleep 0.1
done
if ! grep -q FAKE_ADMIN_URL "$work/env" 2>/dev/null; then
    if kill -0 "$fake" 2>/dev/null; then
        echo "demo: the fake cloud ($fakecloud) did not start serving within 10 s; its log:" >&2
    else
        wait "$fake" && status=0 || status=$?
        echo "demo: the fake cloud ($fakecloud) exited (status $status) before serving; its log:" >&2
    fi
    sed 's/^/  /' "$work/fakecloud.log" >&2
    exit 1
fi
# shellcheck disable=SC1091
. "$work/env"

echo "== azcm check (every Arc endpoint of the fake cloud, stage by stage)"
"$azcm" check --location "$FAKE_LOCATION" --cloud "$FAKE_CLOUD"

echo
echo "== azcm connect (the secret goes in on stdin)"
printf '%s\n' "$FAKE_CLIENT_SECRET" | "$azcm" connect \
    --service-principal-id "$FAKE_CLIENT_ID" --service-principal-secret - --tenant-id "$FAKE_TENANT_ID" \
    --subscription-id "$FAKE_SUBSCRIPTION_ID" --resource-group "$FAKE_RESOURCE_GROUP" \
    --location "$FAKE_LOCATION" --cloud "$FAKE_CLOUD" --resource-name demo-machine --tags "purpose=demo"

echo
echo "== the machine as ARM sees it"
python3 - "$FAKE_ADMIN_URL/machines" "$AZCM_EXTRA_CA_CERTS" <<'PY'
import json, ssl, sys, urllib.request
context = ssl.create_default_context(cafile=sys.argv[2])
with urllib.request.urlopen(sys.argv[1], context=context) as response:
    print(json.dumps(json.load(response)["value"], indent=2))
PY

echo
echo "== azcm show (agentconfig.json, the fake HIMDS, this machine)"
"$azcm" show

echo
echo "== azcm logs (redacted support archive, with its manifest)"
(cd "$work" && "$azcm" logs)

echo
echo "== azcm disconnect"
printf '%s\n' "$FAKE_CLIENT_SECRET" | "$azcm" disconnect \
    --service-principal-id "$FAKE_CLIENT_ID" --service-principal-secret - --tenant-id "$FAKE_TENANT_ID"
