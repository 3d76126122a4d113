# Shared by the example scripts: `source "$(dirname "$0")/../lib.sh" NAME` after `set -euo pipefail`.
# Provides $M (the matryoshka binary, built if needed; exported as MATRYOSHKA), $work (a fresh work
# directory, removed on exit unless KEEP=1), $td, $uid, $node_port, $http_port, and
#   step TEXT             a heading
#   fail TEXT             an error, exit 1
#   wait_for WHAT S CMD…  waits at most S seconds for CMD to succeed
#   free_port             a free loopback port
#   background CMD…       runs CMD in the background, stopped on exit
#   start_server          server on embedded SQLite (node API $node_port, HTTP $http_port), bundle in $work/bundle.pem
#   start_node_agent      node agent on $work/node.sock, attested with a join token for spiffe://$td/node
# Set `on_exit` to a command to run first when the script exits.

example_name="$1"
example_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -z "${MATRYOSHKA:-}" ]]; then
    MATRYOSHKA="$(cd "$example_root" && swift build --show-bin-path)/matryoshka"
    [[ -x "$MATRYOSHKA" ]] || (cd "$example_root" && swift build >/dev/null)
fi
M="$MATRYOSHKA"
export MATRYOSHKA

work="$(mktemp -d "${TMPDIR:-/tmp}/$example_name.XXXXXX")"
pids=()
on_exit=":"
cleanup() {
    eval "$on_exit" || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    # A process that inherited SIGTERM ignored gets SIGKILL after 5 s.
    for _ in $(seq 1 50); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [[ $alive == 0 ]] && break
        sleep 0.1
    done
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [[ "${KEEP:-}" == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "$example_name: $*" >&2; exit 1; }
wait_for() {
    local what="$1" seconds="$2"; shift 2
    for _ in $(seq 1 $((seconds * 10))); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    fail "timed out waiting for $what (logs in $work; KEEP=1 keeps them)"
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# background LOG CMD…: runs CMD with its output in $work/LOG, stopped on exit.
background() {
    local log="$1"; shift
    "$@" >"$work/$log" 2>&1 &
    pids+=($!)
}

td=example.org
uid="$(id -u)"
node_port="$(free_port)"
http_port="$(free_port)"
export MATRYOSHKA_SERVER="127.0.0.1:$node_port"
export MATRYOSHKA_ADMIN_SOCKET="$work/server/admin.sock"

start_server() {
    background server.log "$M" server run --data-dir "$work/server" --trust-domain "$td" \
        --bind "127.0.0.1:$node_port" --http "127.0.0.1:$http_port"
    wait_for "the server" 30 curl -sf "http://127.0.0.1:$http_port/ready"
    "$M" server bundle show >"$work/bundle.pem"
}

start_node_agent() {
    local token
    token="$("$M" server token generate --spiffe-id "spiffe://$td/node")"
    background node.log "$M" agent run --join-token "$token" --trust-bundle "$work/bundle.pem" \
        --socket "$work/node.sock" --data-dir "$work/node"
}
