#!/usr/bin/env bash
# Throughput of the smtp-server example against Postfix's smtp-sink, both loaded by
# Postfix's smtp-source over loopback in the same run.
#
#   benches/throughput.sh            # 5 rounds of 10 sessions, 20,000 messages of 4 KiB
#   SESSIONS=20 MESSAGES=50000 LENGTH=1024 FSYNC_MESSAGES=5000 ROUNDS=5 benches/throughput.sh
#   FRESH_EXT4=1 benches/throughput.sh   # as root: Maildirs on a new loop-mounted ext4
#   SOURCES=2 benches/throughput.sh      # two smtp-source processes at once (see below)
#
# Prints messages per second for smtp-sink (discards everything), for smtp-server with
# --no-fsync (writes every message to the Maildir, no fsync) and with fsync (durable
# before the 250), and the ratios. The Maildir lives in a temporary directory
# (TMPDIR decides the file system, which matters a lot for the fsync number). The
# server runs with its default single runtime thread.
#
# One smtp-source process needs about as much CPU per message as the peer it loads, so
# on two vCPUs it can be what sets the rate: then the sink and the server come out equal
# whatever each needs per message, and only the CPU time per message tells them apart.
# SOURCES=2 runs two smtp-source processes at once (each with SESSIONS sessions and its
# share of the messages), which leaves the machine short of CPU, so the peer that needs
# less per message reaches the higher rate.
#
# On a file system shared with other work the ext4 numbers move a lot: without a
# journal, ext4 makes every new inode skip the inodes freed in the last minute or more,
# so creating files after a build or a test run deleted many costs several times more.
# Run it on a quiet machine, and not right after deleting a big Maildir.
#
# On a VM that hands memory back to its host (DAMON `pageout`, virtio-balloon free page
# reporting), the first write to a page the host no longer backs faults on the host. The
# server fills new page-cache pages with every message and the sink fills none; on this VM
# a new 8 KiB file costs 11 us while the page cache stays within memory used before, and
# 30 us once it grows past that (measured by writing 20,000 files per round into tmpfs:
# from the fifth round on, each one cost three times as much). So each round's Maildir is
# deleted once its messages are counted (on tmpfs and on FRESH_EXT4; KEEP_MAILDIRS=1 keeps
# them), and every round writes into page-cache memory the previous one freed. On another
# file system the Maildirs are kept until the end (see above). The script says when it
# sees either mechanism.
set -euo pipefail
cd "$(dirname "$0")/.."

SESSIONS="${SESSIONS:-10}"
MESSAGES="${MESSAGES:-20000}"
LENGTH="${LENGTH:-4096}"
FSYNC_MESSAGES="${FSYNC_MESSAGES:-$MESSAGES}"
ROUNDS="${ROUNDS:-5}"
SOURCES="${SOURCES:-1}"
if (( MESSAGES % SOURCES || FSYNC_MESSAGES % SOURCES )); then
  echo "MESSAGES and FSYNC_MESSAGES must be multiples of SOURCES" >&2
  exit 1
fi

SOURCE="$(command -v smtp-source || echo /usr/sbin/smtp-source)"
SINK="$(command -v smtp-sink || echo /usr/sbin/smtp-sink)"
for tool in "$SOURCE" "$SINK"; do
  [ -x "$tool" ] || { echo "missing $tool (run ../shared/tools/install-peers.sh)"; exit 1; }
done

cargo build --release --example smtp-server >&2
SERVER="target/release/examples/smtp-server"

# FRESH_EXT4=1 (root only): the Maildirs go to a new ext4 file system (mkfs defaults, with
# its journal) in a loop-mounted image file under TMPDIR, removed at the end. The numbers
# then depend neither on what else lives on the host's file system nor on how it was
# formatted, and clean-up deletes one file instead of every message.
IMAGE_DIR="" MOUNT_DIR=""
if [ "${FRESH_EXT4:-0}" = 1 ]; then
  IMAGE_DIR="$(mktemp -d)"
  MOUNT_DIR="$(mktemp -d)"
  truncate -s 4G "$IMAGE_DIR/maildir.ext4"
  mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$IMAGE_DIR/maildir.ext4"
  mount -o loop "$IMAGE_DIR/maildir.ext4" "$MOUNT_DIR"
  WORK="$(mktemp -d -p "$MOUNT_DIR")"
else
  WORK="$(mktemp -d)"
fi
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ -n "$MOUNT_DIR" ]; then
    umount "$MOUNT_DIR" || true
    rm -rf "$IMAGE_DIR" "$MOUNT_DIR"
  else
    rm -rf "$WORK"
  fi
  if [ -n "${SHM_DIR:-}" ]; then rm -rf "$SHM_DIR"; fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on port $1" >&2
  return 1
}

# run_source PORT COUNT -> prints messages per second. With SOURCES=N, N smtp-source
# processes share the COUNT messages, each with SESSIONS sessions.
run_source() {
  local start end i pids=()
  start=$(date +%s.%N)
  for i in $(seq "$SOURCES"); do
    timeout 600 "$SOURCE" -s "$SESSIONS" -m "$(( $2 / SOURCES ))" -l "$LENGTH" -M client.test \
      -f sender@client.test -t rcpt@client.test "127.0.0.1:$1" >&2 &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i"; done
  end=$(date +%s.%N)
  python3 -c "print(round($2 / ($end - $start)))"
}

stop_last() {
  local pid="${PIDS[-1]}"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset 'PIDS[-1]'
}

echo "$SOURCES × smtp-source -s $SESSIONS -m $((MESSAGES / SOURCES)) -l $LENGTH, $ROUNDS rounds, $(nproc) CPUs, Maildir under $WORK ($(df -T "$WORK" | awk 'NR==2 {print $2}'))"

for d in /sys/kernel/mm/damon/admin/kdamonds/*/contexts/*/schemes/*/action; do
  if [ -r "$d" ] && [ "$(cat "$d")" = pageout ] && [ "$(cat "${d%%/contexts/*}/state" 2>/dev/null)" = on ]; then
    echo "note: DAMON pages out cold memory on this machine; later rounds may pay host page faults" >&2
    break
  fi
done
if [ -d /sys/bus/virtio/drivers/virtio_balloon ] && ls /sys/bus/virtio/drivers/virtio_balloon | grep -q virtio; then
  echo "note: a virtio balloon is bound (free page reporting may return freed memory to the host)" >&2
fi

user_opt=()
[ "$(id -u)" = 0 ] && user_opt=(-u nobody) # smtp-sink must drop privileges as root

# cpu_per_message PID COUNT: the process's CPU time (user + system, all threads) per
# message in microseconds. Unlike the rate, this hardly moves when other work shares the
# machine.
cpu_per_message() {
  local ticks
  ticks=$(awk '{print $14 + $15}' "/proc/$1/stat")
  python3 -c "print(round($ticks * 1e6 / $(getconf CLK_TCK) / $2))"
}

# Runs smtp-sink and prints its rate and CPU time per message.
sink_round() {
  local port
  port=$(free_port)
  "$SINK" "${user_opt[@]}" "127.0.0.1:$port" 256 >&2 &
  PIDS+=($!)
  wait_port "$port"
  echo "$(run_source "$port" "$MESSAGES") $(cpu_per_message "${PIDS[-1]}" "$MESSAGES")"
  stop_last
}

# server_round MAILDIR COUNT [server flags...]: runs smtp-server into MAILDIR, checks that
# every message was stored, and prints the rate and CPU time per message.
server_round() {
  local dir="$1" count="$2" port rate stored
  shift 2
  port=$(free_port)
  RUST_LOG=warn "$SERVER" --listen "127.0.0.1:$port" --maildir "$dir" --hostname mx.bench "$@" >&2 &
  PIDS+=($!)
  wait_port "$port"
  rate="$(run_source "$port" "$count") $(cpu_per_message "${PIDS[-1]}" "$count")"
  stop_last
  stored=$(find "$dir/new" -type f | wc -l)
  if [ "$stored" != "$count" ]; then
    echo "$dir: $stored messages stored, $count sent" >&2
    exit 1
  fi
  if [ "${KEEP_MAILDIRS:-0}" != 1 ] && { [ -n "$MOUNT_DIR" ] || [[ -n "$SHM_DIR" && "$dir" == "$SHM_DIR"/* ]]; }; then
    rm -rf "$dir"
  fi
  echo "$rate"
}

# Rounds alternate between the sink and the server, so that a change in the machine's
# load hits both; the medians are compared. On a file system of unknown make the
# Maildirs are kept until the end: on ext4 without a journal, creating files right after
# deleting many is slow for a minute or more (the kernel skips recently freed inodes). The
# fresh ext4 has a journal, and tmpfs frees at once.
SHM_DIR=""
if [ -d /dev/shm ] && [ -w /dev/shm ]; then SHM_DIR="$(mktemp -d -p /dev/shm)"; fi
sinks=() nofsyncs=() shms=()
# Every run starts with no dirty pages: otherwise the kernel's writeback of the previous
# round's messages (30 seconds after they were written) takes CPU from whichever round is
# running then, sink or server.
for round in $(seq "$ROUNDS"); do
  sync
  sinks+=("$(sink_round)")
  sync
  nofsyncs+=("$(server_round "$WORK/nofsync$round" "$MESSAGES" --no-fsync)")
  # The same on tmpfs: the server's own cost without the disk file system's.
  if [ -n "$SHM_DIR" ]; then
    sync
    shms+=("$(server_round "$SHM_DIR/md$round" "$MESSAGES" --no-fsync)")
  fi
  show() { echo "${1% *} msg/s (${1#* } µs CPU/msg)"; }
  echo "round $round: smtp-sink $(show "${sinks[-1]}"), smtp-server --no-fsync $(show "${nofsyncs[-1]}")${SHM_DIR:+, on tmpfs $(show "${shms[-1]}")}"
done
# With fsync (the default): durable before the 250.
sync
fsync=$(server_round "$WORK/fsync" "$FSYNC_MESSAGES")

rates() { local x out=(); for x in "$@"; do out+=("${x% *}"); done; echo "${out[*]}"; }
cpus() { local x out=(); for x in "$@"; do out+=("${x#* }"); done; echo "${out[*]}"; }
python3 - "$(rates "${sinks[@]}")" "$(rates "${nofsyncs[@]}")" "$(rates "${shms[@]}")" \
  "$(cpus "${sinks[@]}")" "$(cpus "${nofsyncs[@]}")" "$(cpus "${shms[@]}")" "$fsync" <<'EOF'
import statistics, sys
def med(a):
    return statistics.median(map(float, a.split())) if a.strip() else None
sink, nofsync, shm, sink_cpu, nofsync_cpu, shm_cpu = (med(a) for a in sys.argv[1:7])
fsync, fsync_cpu = map(float, sys.argv[7].split())
print("medians:")
print(f"  smtp-sink:                      {sink:6.0f} msg/s, {sink_cpu:4.0f} µs CPU/msg")
print(f"  smtp-server --no-fsync:         {nofsync:6.0f} msg/s, {nofsync_cpu:4.0f} µs CPU/msg;"
      f" ratio {nofsync / sink:.2f} in rate, {sink_cpu / nofsync_cpu:.2f} in CPU efficiency")
if shm:
    print(f"  smtp-server --no-fsync, tmpfs:  {shm:6.0f} msg/s, {shm_cpu:4.0f} µs CPU/msg;"
          f" ratio {shm / sink:.2f} in rate, {sink_cpu / shm_cpu:.2f} in CPU efficiency")
print(f"  smtp-server with fsync:         {fsync:6.0f} msg/s, {fsync_cpu:4.0f} µs CPU/msg; ratio {fsync / sink:.2f} in rate")
EOF
