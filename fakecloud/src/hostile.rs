//! A hostile HTTPS server on loopback (a certificate from the fake's CA, so clients trust it):
//! every request gets the same scripted answer — a redirect elsewhere, huge numbers in
//! headers or JSON, a body that trickles in or never ends, CR/LF in text — and is counted, so a
//! test can also show that a server was never reached.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the hostile server answers to every request.
#[derive(Debug, Clone)]
pub enum Hostile {
    /// This status line, these headers and this body, then the connection closes.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// A 200 JSON answer whose body arrives one byte every `byte_ms` and never ends.
    Trickle { byte_ms: u64 },
}

impl Hostile {
    /// A JSON answer with a status and extra headers.
    pub fn json(status: u16, headers: &[(&str, &str)], body: &serde_json::Value) -> Self {
        Hostile::Answer {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: serde_json::to_vec(body).unwrap_or_default(),
        }
    }

    /// A redirect to `location` (307 keeps the method and body: a client that follows it
    /// re-sends a POSTed secret).
    pub fn redirect(status: u16, location: &str) -> Self {
        Hostile::Answer {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }
}

/// A running hostile server: its URL and how many requests reached it.
pub struct HostileServer {
    pub url: String,
    pub requests: Arc<AtomicUsize>,
}

impl HostileServer {
    pub fn request_count(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

pub async fn serve(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    answer: Hostile,
    requests: Arc<AtomicUsize>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, answer, requests) = (acceptor.clone(), answer.clone(), requests.clone());
        tokio::spawn(async move {
            let Ok(mut tls) = acceptor.accept(stream).await else {
                return;
            };
            // Read the request head (and whatever body came with it) up to 64 KiB.
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 << 10 {
                match tls.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            requests.fetch_add(1, Ordering::SeqCst);
            match answer {
                Hostile::Answer {
                    status,
                    headers,
                    body,
                } => {
                    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                    for (k, v) in &headers {
                        out.push_str(&format!("{k}: {v}\r\n"));
                    }
                    out.push_str(&format!(
                        "Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    ));
                    let mut bytes = out.into_bytes();
                    bytes.extend_from_slice(&body);
                    let _ = tls.write_all(&bytes).await;
                    let _ = tls.shutdown().await;
                }
                Hostile::Trickle { byte_ms } => {
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
                    if tls.write_all(head.as_bytes()).await.is_err() {
                        return;
                    }
                    // Bounded so a forgotten server stops by itself (an hour at most).
                    for _ in 0..(3_600_000 / byte_ms.max(1)) {
                        tokio::time::sleep(Duration::from_millis(byte_ms)).await;
                        if tls.write_all(b"1\r\n \r\n").await.is_err() || tls.flush().await.is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
    }
}
