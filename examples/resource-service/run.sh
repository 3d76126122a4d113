#!/usr/bin/env bash
# "Which sub-task read this record?" end to end: a resource service that authenticates callers by
# X509-SVID (mutual TLS) or JWT-SVID, authorizes them by SPIFFE ID pattern, and logs each access
# with the caller's verified lineage.
#
#   server ── node agent ── CI runner ── build task (exec) ──HTTPS──▶ resource service
#
#   examples/resource-service/run.sh        (MATRYOSHKA=… to use a given binary; KEEP=1 keeps logs)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../lib.sh" resource-service
service_port="$(free_port)"
export SPIFFE_ENDPOINT_SOCKET="unix://$work/node.sock"

step "server, node agent"
start_server
start_node_agent
# The service's entry comes first: it is the default identity for this user on the node.
"$M" entry create --spiffe-id "spiffe://$td/records" --parent-id "spiffe://$td/node" \
    --selector "unix:uid:$uid" --dns localhost >/dev/null
"$M" entry create --spiffe-id "spiffe://$td/ci/runner" --parent-id "spiffe://$td/node" \
    --selector "unix:uid:$uid" --nested --audience records >/dev/null
"$M" entry create --spiffe-id "spiffe://$td/ci/runner/task/*" --parent-id "spiffe://$td/ci/runner" \
    --selector "unix:uid:$uid" --audience records >/dev/null
wait_for "an SVID from the node agent" 30 "$M" svid fetch

step "the resource service (spiffe://$td/records) on https://localhost:$service_port"
background service.log python3 "$here/resource_service.py" --listen "127.0.0.1:$service_port" \
    --allow "spiffe://$td/ci/runner/task/*" --audience records --access-log "$work/access.jsonl" \
    --bundle-url "http://127.0.0.1:$http_port/bundle"
wait_for "the resource service" 30 grep -q serving "$work/service.log"

step "build task 7 reads record 42 with its X509-SVID (mutual TLS) and with a JWT-SVID"
cat >"$work/task.sh" <<TASK
#!/usr/bin/env bash
set -euo pipefail
"$M" svid fetch --write "$work/task" >/dev/null
curl -sS --fail-with-body --cert "$work/task/svid.pem" --key "$work/task/svid_key.pem" \
    --cacert "$work/task/bundle.pem" "https://localhost:$service_port/records/42"; echo
token="\$("$M" jwt fetch --audience records)"
curl -sS --fail-with-body --cacert "$work/task/bundle.pem" -H "Authorization: Bearer \$token" \
    "https://localhost:$service_port/records/43"; echo
TASK
chmod +x "$work/task.sh"
"$M" exec --parent-id "spiffe://$td/ci/runner" --spiffe-id "spiffe://$td/ci/runner/task/7" -- "$work/task.sh"

step "a workload that is not a build task is refused"
"$M" svid fetch --write "$work/other" >/dev/null
status="$(curl -s -o /dev/null -w '%{http_code}' --cert "$work/other/svid.pem" --key "$work/other/svid_key.pem" \
    --cacert "$work/other/bundle.pem" "https://localhost:$service_port/records/42")"
echo "HTTP $status"
[[ "$status" == 403 ]] || fail "expected 403, got $status"

step "the access log: who read what, under which layers"
python3 - "$work/access.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    record = json.loads(line)
    layers = record.get("lineage") or []
    chain = " > ".join(layer.get("spiffe_id", "?") if isinstance(layer, dict) else str(layer) for layer in layers)
    print(f'{record["decision"]:5} {record["resource"]:12} {record["credential"] or "-":4} {record["caller"]}')
    print(f'      lineage: {chain or "-"}{"  (" + record["reason"] + ")" if record.get("reason") else ""}')
PY
