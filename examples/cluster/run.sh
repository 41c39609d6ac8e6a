#!/usr/bin/env bash
# Two onex-host processes on one machine, one NATS between them (see README.md here).
#
#   make build plugins && examples/cluster/run.sh
#
# Host A (host-a.onex.yaml) runs the embedded NATS server with a client listener on
# 127.0.0.1:14222 and HTTP on 127.0.0.1:18081; host B (host-b.onex.yaml) joins it
# (nats.mode external) with HTTP on 127.0.0.1:18082. Both serve bin/plugins/core.wasm;
# only A serves bin/plugins/text.wasm. Data and logs go to examples/cluster/var/,
# recreated on every run. Needs bash and curl; takes a few seconds.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=$root/bin/onex-host
nats=nats://127.0.0.1:14222
a=http://127.0.0.1:18081
b=http://127.0.0.1:18082

for f in "$bin" "$root/bin/plugins/core.wasm" "$root/bin/plugins/text.wasm"; do
	[[ -f $f ]] || { echo "run.sh: $f is missing: run 'make build plugins' first" >&2; exit 2; }
done
for port in 14222 18081 18082; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "run.sh: port $port is in use: stop what listens there first" >&2
		exit 2
	fi
done

rm -rf "$here/var"
mkdir -p "$here/var"

# stop: SIGTERM to each host, the last started first (host A, which runs the NATS server,
# last), waiting for each to exit.
pids=()
stop() {
	local i
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		kill -TERM "${pids[i]}" 2>/dev/null || true
		wait "${pids[i]}" 2>/dev/null || true
	done
	pids=()
}
trap stop EXIT

# wait_ready URL LOG: until URL/readyz answers 200 (10 s at most).
wait_ready() {
	for _ in $(seq 100); do
		curl -sf "$1/readyz" >/dev/null && return 0
		sleep 0.1
	done
	echo "run.sh: $1 never became ready; its log:" >&2
	cat "$2" >&2
	exit 1
}

# field NAME: the value of "NAME" in the JSON on stdin (a number, string or boolean).
field() { grep -o "\"$1\": *[^,}]*" | head -n1 | sed 's/^[^:]*: *//'; }

# calls URL NODE: the calls of NODE that host ran (onex_calls_total, every outcome).
calls() {
	curl -sf "$1/metrics" | awk -v node="node=\"$2\"" '/^onex_calls_total\{/ && index($0, node) { n += $NF } END { print n + 0 }'
}

echo "# host A: embedded NATS on $nats, HTTP on $a"
"$bin" serve --config "$here/host-a.onex.yaml" --log-level info 2>"$here/var/host-a.log" &
pids+=($!)
wait_ready "$a" "$here/var/host-a.log"
echo "# host B: joins $nats, HTTP on $b"
"$bin" serve --config "$here/host-b.onex.yaml" --log-level info 2>"$here/var/host-b.log" &
pids+=($!)
wait_ready "$b" "$here/var/host-b.log"
# /readyz turns 200 once the nodes are loaded and registered on NATS.
echo "  host A /readyz: $(curl -sf "$a/readyz")"
echo "  host B /readyz: $(curl -sf "$b/readyz")"

echo
echo "# 20 requests through the cluster: onex-host submit core --type sum_numbers --data '[i,1000]'"
for i in $(seq 1 20); do
	out=$("$bin" submit core --nats-url "$nats" --type sum_numbers --data "[$i,1000]")
	printf '  [%2d,1000] -> result %-5s cache_hit %s\n' "$i" "$(field result <<<"$out")" "$(field cache_hit <<<"$out")"
done
echo "# which host answered: each host's /metrics (curl -s URL/metrics | grep '^onex_calls_total')"
echo "  host A: $(curl -sf "$a/metrics" | grep '^onex_calls_total{.*node="core"')"
echo "  host B: $(curl -sf "$b/metrics" | grep '^onex_calls_total{.*node="core"')"
echo "  $(calls "$a" core) + $(calls "$b" core) = 20: each request reached one member of the queue group of core, picked at random"

echo
echo "# the same computation twice, once through each host's HTTP API: the second is a hit of the shared cache"
req='{"computation_type":"stats","data":[2,4,4,4,5,5,7,9]}'
echo "  POST $a/v1/nodes/core/compute $req"
outA=$(curl -sf "$a/v1/nodes/core/compute" -d "$req")
echo "    host A: cache_hit $(field cache_hit <<<"$outA"), mean $(field mean <<<"$outA")"
echo "  POST $b/v1/nodes/core/compute $req"
outB=$(curl -sf "$b/v1/nodes/core/compute" -d "$req")
echo "    host B: cache_hit $(field cache_hit <<<"$outB"), mean $(field mean <<<"$outB")"

echo
echo "# host B's HTTP API for a node only host A serves (text): routed over NATS to A"
echo "  POST $b/v1/nodes/text/compute {\"computation_type\":\"slugify\",\"data\":\"Hello, ONEX World!\"}"
echo "    $(curl -sf "$b/v1/nodes/text/compute" -d '{"computation_type":"slugify","data":"Hello, ONEX World!"}')"
echo "  calls of text: host A $(calls "$a" text), host B $(calls "$b" text)"

echo
echo "# stopping both hosts (SIGTERM): B first, then A and its NATS server"
stop
echo "done; logs in examples/cluster/var/host-{a,b}.log"
