#!/usr/bin/env bash
# The Russian-doll stack on one machine, every layer with its own SPIFFE identity:
#
#   server ── node agent (join token) ── pod agent (nested) ── CI runner ── build tasks (exec)
#
# Prints a build task's lineage (the chain of custody down to the node), then revokes the runner
# with its subtree and shows the tasks' credentials refused by openssl with the server's CRL and
# by `matryoshka svid verify --crl`.
#
#   examples/russian-doll/run.sh            # builds matryoshka first if it is not built
#   MATRYOSHKA=/path/to/matryoshka examples/russian-doll/run.sh
#   KEEP=1 examples/russian-doll/run.sh     # keep the work directory (logs, SVIDs) afterwards
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../lib.sh" russian-doll
on_exit='touch "$work/finish"'

step "server (embedded SQLite) on 127.0.0.1:$node_port, HTTP on 127.0.0.1:$http_port"
start_server

step "node agent, attested with a join token (node alias spiffe://$td/node)"
start_node_agent

step "registrations: pod (nested) under the node, runner (nested) under the pod, tasks under the runner"
"$M" entry create --spiffe-id "spiffe://$td/pod/build" --parent-id "spiffe://$td/node" \
    --selector "unix:uid:$uid" --nested >/dev/null
"$M" entry create --spiffe-id "spiffe://$td/ci/runner" --parent-id "spiffe://$td/pod/build" \
    --selector "unix:uid:$uid" --nested >/dev/null
# One registration for every task: the runner chooses the last segment per task.
"$M" entry create --spiffe-id "spiffe://$td/ci/runner/task/*" --parent-id "spiffe://$td/ci/runner" \
    --selector "unix:uid:$uid" --x509-ttl 10m >/dev/null

wait_for "the node agent's socket" 30 test -S "$work/node.sock"
step "pod agent: a nested agent taking its identity from the node agent; it hosts the CI runner"
mkdir -p "$work/tasks"
export WORK="$work"
background pod.log "$M" agent run --parent-socket "$work/node.sock" --socket "$work/pod.sock" \
    --data-dir "$work/pod" -- "$here/runner.sh"

wait_for "task 1 and task 2" 60 test -f "$work/tasks/2/done"
cat "$work/tasks/1/output"

step "a build task's lineage: who vouched for it, layer by layer"
"$M" lineage show "$work/tasks/1/svid.pem"
step "verified offline, hop by hop, against the trust bundle"
"$M" lineage verify --bundle "$work/bundle.pem" "$work/tasks/1/svid.pem"
step "an unmodified verifier accepts it as a plain X509-SVID"
openssl verify -CAfile "$work/bundle.pem" "$work/tasks/1/svid.pem"
step "task 1 has exited: exec revoked its identity then"
grep -h "child identity revoked" "$work/tasks/1.exec.log" || fail "exec did not revoke task 1's identity"

wait_for "task 3 (long-running) to hold its SVID" 60 test -f "$work/tasks/3/svid.pem"
step "task 3 is running and its SVID verifies"
"$M" svid verify --bundle "$work/bundle.pem" "$work/tasks/3/svid.pem"

step "revoke the runner and everything inside it"
"$M" revoke --spiffe-id "spiffe://$td/ci/runner" --subtree --reason "runner compromised (demo)"

step "the server's CRL (GET /crl) refuses the runner's tasks"
curl -sf "http://127.0.0.1:$http_port/crl" -o "$work/crl.der"
openssl crl -inform DER -in "$work/crl.der" -out "$work/crl.pem"
for task in 1 3; do
    if openssl verify -crl_check -CRLfile "$work/crl.pem" -CAfile "$work/bundle.pem" "$work/tasks/$task/svid.pem"; then
        fail "openssl accepted task $task's revoked SVID"
    fi
    if "$M" svid verify --bundle "$work/bundle.pem" --crl "$work/crl.der" "$work/tasks/$task/svid.pem"; then
        fail "svid verify accepted task $task's revoked SVID"
    fi
done

step "task 3's Workload API no longer serves the revoked SVID"
wait_for "task 3 to see its revocation" 30 test -f "$work/tasks/3/refused"
cat "$work/tasks/3/refused"

step "done: every layer had its own identity; revoking the runner revoked its tasks"
