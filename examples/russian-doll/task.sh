#!/usr/bin/env bash
# A build step: it holds its own SVID on the private socket `matryoshka exec` gave it.
set -euo pipefail
M="$MATRYOSHKA"
task="$1"
dir="$WORK/tasks/$task"
mkdir -p "$dir"
{
    echo "task $task: SPIFFE_ENDPOINT_SOCKET=$SPIFFE_ENDPOINT_SOCKET"
    "$M" svid fetch --write "$dir.tmp"
} >"$dir/output" 2>&1
mv "$dir.tmp/svid.pem" "$dir/svid.pem"
echo "task $task: building…" >>"$dir/output"
if [[ "${2:-}" == long ]]; then
    # Until revoked: the private Workload API stops serving the SVID.
    while "$M" svid fetch >/dev/null 2>"$dir/fetch.err"; do
        [[ -f "$WORK/finish" ]] && exit 0
        sleep 0.2
    done
    cp "$dir/fetch.err" "$dir/refused"
fi
