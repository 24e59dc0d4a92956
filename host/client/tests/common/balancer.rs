//! A tiny stand-in for the fleet's HAProxy on 127.0.0.1, per the fleet
//! spec: `GET /.well-known/appliance-fleet` answers the listing,
//! `/node/NAME/...` goes to node NAME with the prefix stripped (503 when
//! the node does not answer), anything else is a 404 HTML page.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use appliance_client::http::{Endpoint, Limits};
use appliance_client::serve::{serve_connection, typed};
use http1::{Request, Response, ServerConfig};

#[derive(Default)]
struct State {
    listing: String,
    routes: HashMap<String, SocketAddr>,
}

pub struct Balancer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

fn html(status: u16, title: &str) -> Response {
    let page = format!("<html><body><h1>{status} {title}</h1></body></html>\n");
    typed(status, "text/html", page.into_bytes())
}

impl Balancer {
    pub fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let addr = super::serve_loopback(Arc::clone(&state), |_| false, handle);
        Self { addr, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Routes `/node/NAME/` to `backend`.
    pub fn route(&self, name: &str, backend: SocketAddr) {
        let mut s = self.state.lock().expect("state");
        s.routes.insert(name.into(), backend);
    }

    /// The listing body served from now on.
    pub fn set_listing(&self, listing: &str) {
        self.state.lock().expect("state").listing = listing.into();
    }
}

/// `{"version":1,"nodes":[...]}` of `(name, url)`.
pub fn listing(nodes: &[(&str, &str)]) -> String {
    let nodes: Vec<String> = nodes
        .iter()
        .map(|(name, url)| format!(r#"{{"name":"{name}","url":"{url}"}}"#))
        .collect();
    format!(r#"{{"version":1,"nodes":[{}]}}"#, nodes.join(","))
}

fn handle(state: &Mutex<State>, r: &Request) -> Response {
    let (listing, routes) = {
        let s = state.lock().expect("state");
        (s.listing.clone(), s.routes.clone())
    };
    if r.method == "GET" && r.path == "/.well-known/appliance-fleet" {
        return typed(200, "application/json", listing.into_bytes());
    }
    let Some(rest) = r.path.strip_prefix("/node/") else {
        return html(404, "Not Found");
    };
    let (name, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let Some(backend) = routes.get(name) else {
        return html(404, "Not Found");
    };
    let Ok(endpoint) = Endpoint::new(&format!("http://{backend}")) else {
        return html(503, "Service Unavailable");
    };
    let limits = Limits {
        timeout: Duration::from_secs(30),
        max_body_bytes: 32 << 20,
    };
    let answer = match r.method.as_str() {
        "GET" => endpoint.get(path, limits),
        _ => {
            let content_type = r.header("content-type").unwrap_or_default();
            let content_type = String::from_utf8_lossy(content_type);
            endpoint.post(path, &content_type, &r.body, limits)
        }
    };
    match answer {
        Ok(a) => {
            let content_type = a.header("content-type").unwrap_or(b"text/plain");
            let content_type = String::from_utf8_lossy(content_type).into_owned();
            typed(a.status, &content_type, a.body)
        }
        Err(_) => html(503, "Service Unavailable"),
    }
}

/// A plain web server on 127.0.0.1 that answers 404 HTML to everything.
pub fn web_404() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            std::thread::spawn(move || {
                serve_connection(stream, ServerConfig::default(), |_| html(404, "Not Found"));
            });
        }
    });
    addr
}
