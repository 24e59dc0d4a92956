//! The HTTP/1.1 client's response parser (what the guest reads from the key
//! broker, and the client from the appliance), chunked bodies included:
//! the same bytes in one piece and one byte at a time give the same result,
//! and the body stays within the limit.
#![no_main]

use http1::{ClientConfig, ClientError, ReceivedResponse, ResponseParser};
use libfuzzer_sys::fuzz_target;

const CONFIG: ClientConfig = ClientConfig {
    max_head_bytes: 2048,
    max_body_bytes: 4096,
    max_chunk_bytes: 1024,
    timeout_ms: 10_000,
    read_timeout_ms: None,
};

fn run<'a>(
    head: bool,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<ReceivedResponse>, ClientError> {
    let mut p = ResponseParser::new(CONFIG, head, 0);
    for piece in pieces {
        let mut off = 0;
        while off < piece.len() {
            let n = p.receive(&piece[off..]);
            if n == 0 {
                break;
            }
            off += n;
        }
    }
    p.peer_closed();
    p.poll(0)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let head = flags & 1 == 1;
    let whole = run(head, std::iter::once(body));
    if let Ok(Some(resp)) = &whole {
        assert!(resp.body.len() <= CONFIG.max_body_bytes);
        assert!(!head || resp.body.is_empty());
        assert!((100..=999).contains(&resp.status));
    }
    assert_eq!(whole, run(head, body.chunks(1)));
});
