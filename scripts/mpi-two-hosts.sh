#!/usr/bin/env bash
# mpi-two-hosts.sh: the MPI probe and a tiny `rlhf sft` run across two "hosts" on this machine —
# two network namespaces joined by a veth pair, each with its own address — launched by mpirun from
# a hostfile, with a plm_rsh_agent that enters the other namespace (`ip netns exec`) instead of ssh.
# Ranks talk over TCP on the veth only (no shared memory), and each result must equal a one-process
# run within 1e-5 relative (the trainer: every logged loss, and the final weights in the L2 norm).
# Needs root (namespaces), iproute2 and Open MPI; leaves nothing behind.
# Leaves out real machines (same launch, with ssh as the agent and real host names).
#
# Usage: scripts/mpi-two-hosts.sh [--bench]   (--bench: also `rlhf-bench allreduce` across the hosts)
# Env: PROBE (default .build/release/MPIProbe), RLHF (default .build/release/rlhf),
#      BENCH (default .build/release/rlhf-bench).
set -euo pipefail
cd "$(dirname "$0")/.."

PROBE=$(realpath "${PROBE:-.build/release/MPIProbe}")
RLHF=$(realpath "${RLHF:-.build/release/rlhf}")
BENCH=$(realpath "${BENCH:-.build/release/rlhf-bench}")
FIXTURES=$(realpath Tests/RLHFTests/Fixtures)
[ -x "$PROBE" ] || { echo "mpi-two-hosts: no probe at $PROBE (swift build -c release --product MPIProbe)" >&2; exit 1; }
[ -x "$RLHF" ] || { echo "mpi-two-hosts: no rlhf at $RLHF (swift build -c release --product rlhf)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "mpi-two-hosts: no mpirun (apt-get install -y libopenmpi-dev openmpi-bin)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "mpi-two-hosts: network namespaces need root" >&2; exit 1; }

# Unique names per run, so two runs (or a leftover of a killed one) never collide.
tag="rlhf$$"
nsa="$tag-a" nsb="$tag-b"
net="10.231.$(( $$ % 250 ))"
ipa="$net.1" ipb="$net.2"
work=$(mktemp -d)
cleanup() {
    ip netns del "$nsa" 2>/dev/null || true
    ip netns del "$nsb" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# 1. two namespaces, one veth pair between them, loopback up in each
ip netns add "$nsa"
ip netns add "$nsb"
ip link add "v$tag-a" netns "$nsa" type veth peer name "v$tag-b" netns "$nsb"
ip -n "$nsa" addr add "$ipa/24" dev "v$tag-a"
ip -n "$nsb" addr add "$ipb/24" dev "v$tag-b"
for ns in "$nsa" "$nsb"; do ip -n "$ns" link set lo up; done
ip -n "$nsa" link set "v$tag-a" up
ip -n "$nsb" link set "v$tag-b" up

# 2. the launcher: mpirun runs `agent HOST COMMAND...` as it would run ssh; the host names a namespace
cat > "$work/agent" <<AGENT
#!/bin/sh
host=\$1; shift
case "\$host" in
    $ipa) ns=$nsa ;;
    $ipb) ns=$nsb ;;
    *) echo "mpi-two-hosts agent: unknown host \$host" >&2; exit 1 ;;
esac
exec ip netns exec "\$ns" /bin/sh -c "\$*"
AGENT
chmod +x "$work/agent"
printf '%s slots=1\n%s slots=1\n' "$ipa" "$ipb" > "$work/hostfile"

mpi_two_hosts() {
    ip netns exec "$nsa" mpirun --allow-run-as-root --hostfile "$work/hostfile" -np 2 \
        --mca plm_rsh_agent "$work/agent" --mca plm_rsh_no_tree_spawn 1 \
        --mca btl tcp,self --mca btl_tcp_if_include "$net.0/24" --mca oob_tcp_if_include "$net.0/24" \
        --map-by node "$@"
}
tx_bytes() { ip netns exec "$nsb" cat "/sys/class/net/v$tag-b/statistics/tx_bytes"; }

# 3. the probe on both hosts, then in one process, and the comparison
before=$(tx_bytes)
start=$(date +%s%N)
mpi_two_hosts "$PROBE" > "$work/two.txt"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
after=$(tx_bytes)
"$PROBE" --single > "$work/one.txt"
echo "== two hosts ($ipa in $nsa, $ipb in $nsb), ${ms} ms, $((after - before)) bytes sent by host b over the veth"
cat "$work/two.txt"
echo "== one process"
cat "$work/one.txt"
# Losses and Σ|p|, Σp² relative to themselves; Σp relative to Σ|p| (it can cancel).
awk '
    function abs(v) { return v < 0 ? -v : v }
    function rel(a, b) { m = abs(a) > abs(b) ? abs(a) : abs(b); return m == 0 ? 0 : abs(a - b) / m }
    FNR == 1 { file++ }
    $1 == "step" { loss[file, $2] = $4; steps[file]++ }
    $1 == "checksum" { for (k = 2; k <= 4; k++) sum[file, k] = $k; has[file] = 1 }
    END {
        if (!steps[1] || steps[1] != steps[2] || !has[1] || !has[2]) { print "mpi-two-hosts: missing output"; exit 1 }
        worst = 0
        for (i = 0; i < steps[1]; i++) { r = rel(loss[1, i], loss[2, i]); if (r > worst) worst = r }
        r = abs(sum[1, 2] - sum[2, 2]) / sum[1, 3]; if (r > worst) worst = r
        for (k = 3; k <= 4; k++) { r = rel(sum[1, k], sum[2, k]); if (r > worst) worst = r }
        printf "max relative difference: %.3e (limit 1e-5)\n", worst
        exit (worst <= 1e-5 ? 0 : 1)
    }' "$work/one.txt" "$work/two.txt"
grep -q '^ranks: 2$' "$work/two.txt" || { echo "mpi-two-hosts: the run did not report 2 ranks" >&2; exit 1; }
[ "$((after - before))" -gt 0 ] || { echo "mpi-two-hosts: nothing crossed the veth" >&2; exit 1; }

# 4. a trainer across the hosts: tiny SFT (3 steps, dropout 0.1, 3-row batches split 2 + 1,
# held-out loss each step) on both hosts, then in one process, into folders both "hosts" see.
sft=(sft --set "model_path=$FIXTURES/tiny-llama" --set "train_file=$FIXTURES/sft.jsonl" --set eval_fraction=0
     --set batch_size=3 --set learning_rate=0.01 --set max_steps=3 --set logging_steps=1 --set dropout=0.1)
before=$(tx_bytes)
start=$(date +%s%N)
mpi_two_hosts "$RLHF" "${sft[@]}" --set "output_dir=$work/sft-two" > "$work/sft-two.txt" 2>&1 \
    || { cat "$work/sft-two.txt"; echo "mpi-two-hosts: rlhf sft across the hosts failed" >&2; exit 1; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
after=$(tx_bytes)
"$RLHF" "${sft[@]}" --set "output_dir=$work/sft-one" > "$work/sft-one.txt" 2>&1 \
    || { cat "$work/sft-one.txt"; echo "mpi-two-hosts: rlhf sft in one process failed" >&2; exit 1; }
echo "== rlhf sft on two hosts, ${ms} ms, $((after - before)) bytes sent by host b over the veth"
grep -m 1 "^ranks:" "$work/sft-two.txt"
grep -q '^ranks: 2$' "$work/sft-two.txt" || { echo "mpi-two-hosts: rlhf sft did not report 2 ranks" >&2; exit 1; }
[ "$((after - before))" -gt 0 ] || { echo "mpi-two-hosts: nothing of rlhf sft crossed the veth" >&2; exit 1; }
# Every step's train/loss and train/grad_norm, relative (the metrics lines are flat JSON objects).
metrics() { grep -o '"train/\(loss\|grad_norm\)": *[-0-9.eE+]*' "$1/metrics.jsonl" | sed 's/.*: *//'; }
paste <(metrics "$work/sft-one") <(metrics "$work/sft-two") | awk '
    function abs(v) { return v < 0 ? -v : v }
    { n++; m = abs($1) > abs($2) ? abs($1) : abs($2); r = m == 0 ? 0 : abs($1 - $2) / m; if (r > worst) worst = r }
    END {
        if (n < 6) { print "mpi-two-hosts: rlhf sft logged " n " of 6 losses and norms"; exit 1 }
        printf "rlhf sft: %d losses and gradient norms, max relative difference %.3e (limit 1e-5)\n", n, worst
        exit (worst <= 1e-5 ? 0 : 1)
    }'
# The final weights: the same safetensors header (names, shapes, F32), then ||a - b|| / ||a|| over all floats.
floats() {
    local n; n=$(od -A n -t u8 -N 8 "$1" | tr -d ' ')
    od -A n -t f4 -v -j $((8 + n)) "$1" | tr -s ' ' '\n' | sed '/^$/d'
}
header() { local n; n=$(od -A n -t u8 -N 8 "$1" | tr -d ' '); head -c $((8 + n)) "$1"; }
cmp -s <(header "$work/sft-one/model.safetensors") <(header "$work/sft-two/model.safetensors") \
    || { echo "mpi-two-hosts: the two runs saved different tensors" >&2; exit 1; }
paste <(floats "$work/sft-one/model.safetensors") <(floats "$work/sft-two/model.safetensors") | awk '
    { n++; d += ($1 - $2) * ($1 - $2); s += $1 * $1 }
    END {
        r = s > 0 ? sqrt(d / s) : 0
        printf "rlhf sft: final weights (%d floats) differ by %.3e relative in the L2 norm (limit 1e-5)\n", n, r
        exit (n > 0 && r <= 1e-5 ? 0 : 1)
    }'

if [ "${1:-}" = "--bench" ]; then
    echo "== rlhf-bench allreduce across the two hosts"
    mpi_two_hosts "$BENCH" allreduce --runs 5
fi
echo "mpi-two-hosts: OK"
