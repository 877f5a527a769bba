//! Whole in-memory SMTP sessions per second.
//!
//! Group `server`: the server machine alone, fed a client's bytes (EHLO, MAIL, 3 RCPT,
//! DATA of 4 KiB, QUIT), pipelined (one input) and not (one input per command, the body in
//! 1 KiB reads). Other groups (client, client+server) live beside it.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use ehlo::server::{Event, Server, ServerConfig};
use std::sync::Arc;
use std::time::Instant;

fn session_input() -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut body = Vec::with_capacity(4200);
    body.extend_from_slice(b"From: a@example.test\r\nTo: b@example.test\r\nSubject: bench\r\n\r\n");
    while body.len() < 4096 {
        body.extend_from_slice(
            b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n",
        );
    }
    let commands: [&[u8]; 6] = [
        b"EHLO client.example.test\r\n",
        b"MAIL FROM:<a@example.test>\r\n",
        b"RCPT TO:<b@example.test>\r\n",
        b"RCPT TO:<c@example.test>\r\n",
        b"RCPT TO:<d@example.test>\r\n",
        b"DATA\r\n",
    ];
    let mut whole = commands.concat();
    whole.extend_from_slice(&body);
    whole.extend_from_slice(b".\r\nQUIT\r\n");
    let mut pieces: Vec<Vec<u8>> = commands.iter().map(|c| c.to_vec()).collect();
    pieces.extend(body.chunks(1024).map(<[u8]>::to_vec));
    pieces.push(b".\r\n".to_vec());
    pieces.push(b"QUIT\r\n".to_vec());
    (whole, pieces)
}

fn one_session(config: &Arc<ServerConfig>, pieces: &[&[u8]], now: Instant) -> usize {
    let mut server = Server::new(Arc::clone(config), now);
    let mut out = 0;
    let mut content = 0;
    let mut feed = |server: &mut Server| {
        while let Some(e) = server.poll_event() {
            if let Event::MessageChunk(b) = &e {
                content += b.len();
            }
            if e.needs_decision() {
                server.accept();
            }
        }
        while let Some(t) = server.poll_transmit() {
            out += t.len();
        }
    };
    feed(&mut server);
    for p in pieces {
        server.receive(now, p);
        feed(&mut server);
    }
    assert!(server.is_closed());
    out + content
}

fn server_sessions(c: &mut Criterion) {
    let config = Arc::new(ServerConfig::new("mx.example.test"));
    let (whole, pieces) = session_input();
    let pieces: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
    let now = Instant::now();
    let mut g = c.benchmark_group("server");
    g.throughput(Throughput::Elements(1));
    g.bench_function("session_pipelined", |b| {
        b.iter(|| black_box(one_session(&config, &[whole.as_slice()], now)))
    });
    g.bench_function("session_lockstep", |b| {
        b.iter(|| black_box(one_session(&config, &pieces, now)))
    });
    g.finish();
}

// ----- group `client_server` (owned by the client helper) -----

/// Messages per session in the client+server benchmark.
const MESSAGES: usize = 10;

/// One session: the client machine sends `MESSAGES` messages of `body` to the server
/// machine, everything in memory. Returns the content octets the server received.
fn client_server_session(
    server_config: &Arc<ServerConfig>,
    client_config: &ehlo::client::ClientConfig,
    body: &bytes::Bytes,
    now: Instant,
) -> usize {
    use ehlo::client::{Client, Envelope, Event as CEvent};
    let mut server = Server::new(Arc::clone(server_config), now);
    let mut client = Client::new(client_config.clone(), now);
    let env = Envelope::new("a@example.test")
        .and_then(|e| e.recipient("b@example.test"))
        .and_then(|e| e.recipient("c@example.test"))
        .expect("envelope");
    for _ in 0..MESSAGES {
        client.send(env.clone(), body.clone()).expect("send");
    }
    client.quit();
    let mut content = 0;
    let mut delivered = 0;
    loop {
        let mut progress = false;
        while let Some(t) = client.poll_transmit(now) {
            server.receive(now, &t);
            progress = true;
        }
        while let Some(e) = server.poll_event() {
            if let Event::MessageChunk(b) = &e {
                content += b.len();
            }
            if e.needs_decision() {
                server.accept();
            }
        }
        while let Some(t) = server.poll_transmit() {
            client.receive(&t);
            progress = true;
        }
        while let Some(e) = client.poll_event() {
            if let CEvent::MessageResult { result: Ok(_), .. } = e {
                delivered += 1;
            }
        }
        if client.is_closed() || !progress {
            break;
        }
    }
    assert_eq!(delivered, MESSAGES);
    content
}

fn client_server_sessions(c: &mut Criterion) {
    let (whole, _) = session_input();
    // The 4 KiB body of the server group, without its commands.
    let start = whole
        .windows(6)
        .position(|w| w == b"DATA\r\n")
        .map_or(0, |i| i + 6);
    let end = whole.len() - b".\r\nQUIT\r\n".len();
    let body = bytes::Bytes::copy_from_slice(&whole[start..end]);
    let now = Instant::now();
    let mut g = c.benchmark_group("client_server");
    g.throughput(Throughput::Elements(MESSAGES as u64));
    for (name, chunking) in [("messages_data", false), ("messages_bdat", true)] {
        let mut sc = ServerConfig::new("mx.example.test");
        sc.extensions.chunking = chunking;
        let sc = Arc::new(sc);
        let mut cc = ehlo::client::ClientConfig::new("client.example.test");
        cc.tls = ehlo::client::TlsPolicy::Never;
        g.bench_function(name, |b| {
            b.iter(|| black_box(client_server_session(&sc, &cc, &body, now)))
        });
    }
    g.finish();
}

criterion_group!(server, server_sessions);
criterion_group!(client_server, client_server_sessions);
criterion_main!(server, client_server);
