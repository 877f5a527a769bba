#!/usr/bin/env bash
# Resident memory per idle connection of the server examples: opens CONNECTIONS
# connections (default 4000) to each, has every one say EHLO, and prints the growth of the
# server's RSS divided by the number of connections.
#
#   benches/idle-memory.sh
#   CONNECTIONS=10000 benches/idle-memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CONNECTIONS="${CONNECTIONS:-4000}"
cargo build --release --examples >&2
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
for example in smtp-server event-loop blocking; do
  python3 - "target/release/examples/$example" "$CONNECTIONS" "$WORK/$example" <<'PY'
import resource, socket, subprocess, sys, time
binary, n, maildir = sys.argv[1], int(sys.argv[2]), sys.argv[3]
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 1000, n + 1000))
probe = socket.socket(); probe.bind(("127.0.0.1", 0)); port = probe.getsockname()[1]; probe.close()
server = subprocess.Popen([binary, "--listen", f"127.0.0.1:{port}", "--maildir", maildir,
                           "--max-connections", str(n + 10)],
                          env={"RUST_LOG": "error"}, stderr=subprocess.DEVNULL)
def rss():
    with open(f"/proc/{server.pid}/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS"))
try:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close(); break
        except OSError:
            time.sleep(0.05)
    time.sleep(0.2)
    before = rss()
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    for s in socks: s.recv(512)
    for s in socks: s.sendall(b"EHLO client.test\r\n")
    for s in socks: s.recv(4096)
    time.sleep(0.3)
    after = rss()
    print(f"{binary.rsplit('/', 1)[-1]:12} {n} idle connections: RSS {before} -> {after} KiB, "
          f"{(after - before) / n:.1f} KiB per connection")
finally:
    server.kill(); server.wait()
PY
done
