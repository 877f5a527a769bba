#!/usr/bin/env bash
# Throughput of the smtp-server example against Postfix's smtp-sink, both loaded by
# Postfix's smtp-source over loopback in the same run.
#
#   benches/throughput.sh            # 10 sessions, 20,000 messages of 4 KiB
#   SESSIONS=20 MESSAGES=50000 LENGTH=1024 FSYNC_MESSAGES=5000 benches/throughput.sh
#
# Prints messages per second for smtp-sink (discards everything), for smtp-server with
# --no-fsync (writes every message to the Maildir, no fsync) and with fsync (durable
# before the 250), and the ratios. The Maildir lives in a temporary directory
# (TMPDIR decides the file system, which matters a lot for the fsync number). The
# server runs with its default single runtime thread.
#
# On a file system shared with other work the ext4 numbers move a lot: without a
# journal, ext4 makes every new inode skip the inodes freed in the last minute or more,
# so creating files after a build or a test run deleted many costs several times more.
# Run it on a quiet machine, and not right after deleting a big Maildir.
set -euo pipefail
cd "$(dirname "$0")/.."

SESSIONS="${SESSIONS:-10}"
MESSAGES="${MESSAGES:-20000}"
LENGTH="${LENGTH:-4096}"
FSYNC_MESSAGES="${FSYNC_MESSAGES:-$MESSAGES}"

SOURCE="$(command -v smtp-source || echo /usr/sbin/smtp-source)"
SINK="$(command -v smtp-sink || echo /usr/sbin/smtp-sink)"
for tool in "$SOURCE" "$SINK"; do
  [ -x "$tool" ] || { echo "missing $tool (run ../shared/tools/install-peers.sh)"; exit 1; }
done

cargo build --release --example smtp-server >&2
SERVER="target/release/examples/smtp-server"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
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

# run_source PORT COUNT -> prints messages per second
run_source() {
  local start end
  start=$(date +%s.%N)
  timeout 600 "$SOURCE" -s "$SESSIONS" -m "$2" -l "$LENGTH" -M client.test \
    -f sender@client.test -t rcpt@client.test "127.0.0.1:$1"
  end=$(date +%s.%N)
  python3 -c "print(round($2 / ($end - $start)))"
}

stop_last() {
  local pid="${PIDS[-1]}"
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset 'PIDS[-1]'
}

echo "smtp-source -s $SESSIONS -m $MESSAGES -l $LENGTH, $(nproc) CPUs, Maildir under $WORK ($(df -T "$WORK" | awk 'NR==2 {print $2}'))"

# 1. smtp-sink (as root it must drop privileges).
port=$(free_port)
user_opt=()
[ "$(id -u)" = 0 ] && user_opt=(-u nobody)
"$SINK" "${user_opt[@]}" "127.0.0.1:$port" 256 &
PIDS+=($!)
wait_port "$port"
sink=$(run_source "$port" "$MESSAGES")
stop_last
echo "smtp-sink:                 $sink msg/s"

# 2. smtp-server --no-fsync.
port=$(free_port)
RUST_LOG=warn "$SERVER" --listen "127.0.0.1:$port" --maildir "$WORK/nofsync" --hostname mx.bench --no-fsync &
PIDS+=($!)
wait_port "$port"
nofsync=$(run_source "$port" "$MESSAGES")
stop_last
stored=$(find "$WORK/nofsync/new" -type f | wc -l)
echo "smtp-server --no-fsync:    $nofsync msg/s ($stored messages in the Maildir)"
# Maildirs are kept until the end: on ext4 without a journal, creating files right after
# deleting many is slow for a minute or more (the kernel skips recently freed inodes).

# 2b. The same on tmpfs, when there is one: the server's own cost without the disk file
# system's (on a busy ext4, creating and renaming the file dominates).
shm=""
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
  SHM_DIR="$(mktemp -d -p /dev/shm)"
  port=$(free_port)
  RUST_LOG=warn "$SERVER" --listen "127.0.0.1:$port" --maildir "$SHM_DIR/md" --hostname mx.bench --no-fsync &
  PIDS+=($!)
  wait_port "$port"
  shm=$(run_source "$port" "$MESSAGES")
  stop_last
  stored=$(find "$SHM_DIR/md/new" -type f | wc -l)
  echo "smtp-server --no-fsync, Maildir on tmpfs: $shm msg/s ($stored messages in the Maildir)"
fi

# 3. smtp-server with fsync (the default).
port=$(free_port)
RUST_LOG=warn "$SERVER" --listen "127.0.0.1:$port" --maildir "$WORK/fsync" --hostname mx.bench &
PIDS+=($!)
wait_port "$port"
fsync=$(run_source "$port" "$FSYNC_MESSAGES")
stop_last
stored=$(find "$WORK/fsync/new" -type f | wc -l)
echo "smtp-server (fsync):       $fsync msg/s ($stored messages in the Maildir)"

python3 - "$sink" "$nofsync" "$fsync" "$shm" <<'EOF'
import sys
sink, nofsync, fsync = map(float, sys.argv[1:4])
print(f"ratio smtp-server --no-fsync / smtp-sink: {nofsync / sink:.2f}")
if sys.argv[4]:
    print(f"ratio smtp-server --no-fsync on tmpfs / smtp-sink: {float(sys.argv[4]) / sink:.2f}")
print(f"ratio smtp-server fsync / smtp-sink:      {fsync / sink:.2f}")
EOF
