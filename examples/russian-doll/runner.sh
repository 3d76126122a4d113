#!/usr/bin/env bash
# The CI runner: hosted by the pod agent, so SPIFFE_ENDPOINT_SOCKET is the pod agent's socket,
# which serves it spiffe://example.org/ci/runner. Each build step runs under `matryoshka exec`
# with an identity of its own, vouched for by the runner's SVID.
set -euo pipefail
M="$MATRYOSHKA"
here="$(cd "$(dirname "$0")" && pwd)"
td=example.org

# Wait for the runner's own identity.
for _ in $(seq 1 300); do
    "$M" svid fetch >/dev/null 2>&1 && break
    sleep 0.1
done
echo "runner: $("$M" svid fetch 2>&1 | head -1)"

for task in 1 2; do
    "$M" exec --log-level info --spiffe-id "spiffe://$td/ci/runner/task/$task" --ttl 5m -- "$here/task.sh" "$task" \
        >"$WORK/tasks/$task.exec.log" 2>&1 || echo "runner: task $task failed with status $?"
    touch "$WORK/tasks/$task/done"
done
# Task 3 runs until the demo ends (it watches its identity being revoked).
"$M" exec --spiffe-id "spiffe://$td/ci/runner/task/3" --ttl 5m -- "$here/task.sh" 3 long \
    >"$WORK/tasks/3.exec.log" 2>&1 || true
# Stay up (as the pod agent's hosted command) until the demo finishes.
while [[ ! -f "$WORK/finish" ]]; do sleep 0.2; done
