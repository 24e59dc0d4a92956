//! The appliance's HTTP/1.1 server connection: request bytes, pipelined
//! requests included. The same bytes fed in one piece, one byte at a time,
//! and split at a fuzz-chosen point give the same transcript (requests,
//! rejections, close); bodies stay within the limit; every
//! rejection is a complete response that closes the connection. Fed byte
//! by byte under a body budget (the guest's glue), a body over it is
//! refused with 503 before any `100 Continue`, and nothing after it is
//! served.
#![no_main]

use http1::{Response, ServerConfig, ServerConn, ServerEvent};
use libfuzzer_sys::fuzz_target;

const CONFIG: ServerConfig = ServerConfig {
    max_head_bytes: 2048,
    max_body_bytes: 1024,
    idle_timeout_ms: 5_000,
    read_timeout_ms: 5_000,
    head_timeout_ms: 5_000,
};

/// Everything the glue would see, in order.
fn run<'a>(pieces: impl Iterator<Item = &'a [u8]>) -> Vec<ServerEvent> {
    let mut conn = ServerConn::new(CONFIG, 0);
    let mut log = Vec::new();
    let pump = |conn: &mut ServerConn, log: &mut Vec<ServerEvent>| loop {
        let ev = conn.poll(0);
        match &ev {
            ServerEvent::Pending => return,
            ServerEvent::Request(req) => {
                assert!(req.body.len() <= CONFIG.max_body_bytes);
                let out = conn
                    .respond(&Response::new(200, req.path.clone().into_bytes()), 0)
                    .expect("valid response");
                assert!(out.bytes.starts_with(b"HTTP/1.1 200 "));
                conn.response_sent(0);
            }
            ServerEvent::Reject { error, response } => {
                let line = format!("HTTP/1.1 {} ", error.status());
                assert!(response.starts_with(line.as_bytes()));
                assert!(conn.is_closed());
            }
            ServerEvent::Close(_) => {
                assert!(conn.is_closed());
                log.push(ev);
                return;
            }
            ServerEvent::Send(bytes) => {
                // Sent only while the body has not arrived yet, so it
                // depends on the chunking: checked, not compared.
                assert_eq!(bytes, b"HTTP/1.1 100 Continue\r\n\r\n");
                continue;
            }
        }
        log.push(ev);
    };
    'feed: for piece in pieces {
        let mut off = 0;
        while off < piece.len() {
            if conn.is_closed() {
                break 'feed;
            }
            let n = conn.receive(&piece[off..], 0);
            off += n;
            pump(&mut conn, &mut log);
            assert!(n > 0 || conn.is_closed(), "server stopped taking bytes");
        }
    }
    if !conn.is_closed() {
        conn.peer_closed();
        pump(&mut conn, &mut log);
    }
    log
}

/// In one piece, in turns like the guest's glue: admit the body in
/// progress (refusing one over `BUDGET`, as when its body budget cannot
/// hold it), then poll until the next request is answered.
fn run_with_budget(data: &[u8]) {
    const BUDGET: usize = 300;
    let mut conn = ServerConn::new(CONFIG, 0);
    let (mut off, mut refused, mut admitted) = (0, false, None);
    let admit = |conn: &mut ServerConn, refused: &mut bool, admitted: &mut Option<usize>| match conn
        .body_in_progress()
    {
        Some(len) if len > BUDGET => {
            conn.refuse_busy();
            *refused = true;
        }
        Some(len) => *admitted = Some(len),
        None => {}
    };
    loop {
        // As the glue: admit before and after taking bytes (a pipelined
        // head is parsed when the previous response goes).
        admit(&mut conn, &mut refused, &mut admitted);
        let n = match data.get(off..) {
            Some(rest) if !rest.is_empty() => conn.receive(rest, 0),
            _ => 0,
        };
        off += n;
        admit(&mut conn, &mut refused, &mut admitted);
        let mut answered = false;
        while !answered {
            match conn.poll(0) {
                ServerEvent::Pending => break,
                ServerEvent::Request(req) => {
                    assert!(
                        !refused && req.body.len() <= BUDGET,
                        "a refused body was served"
                    );
                    let seen = req.body.is_empty() || admitted == Some(req.body.len());
                    assert!(seen, "a body was taken before it was seen in progress");
                    admitted = None;
                    conn.respond(&Response::new(204, Vec::new()), 0)
                        .expect("valid response");
                    answered = true;
                }
                ServerEvent::Send(_) => assert!(!refused, "100 Continue after a refusal"),
                ServerEvent::Reject { error, .. } => {
                    assert_eq!(refused, error.status() == 503);
                    assert!(conn.is_closed());
                    return;
                }
                ServerEvent::Close(_) => return,
            }
        }
        if n == 0 && !answered {
            assert!(off >= data.len(), "server stopped taking bytes");
            return;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    run_with_budget(data);
    let whole = run(std::iter::once(data));
    assert_eq!(whole, run(data.chunks(1)), "byte-at-a-time differs");
    let at = usize::from(data.first().copied().unwrap_or(0)) * 7 % (data.len() + 1);
    let (a, b) = data.split_at(at);
    assert_eq!(whole, run([a, b].into_iter()), "split at {at} differs");
});
