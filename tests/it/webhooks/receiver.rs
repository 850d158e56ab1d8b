//! A webhook receiver on loopback, started by a test: it records every request (headers, body,
//! when) and answers from a script (a status, or hanging), then with its default.
//! `verify` checks a delivery's signature the way the Standard Webhooks specification describes
//! it, written here from the spec's text (not with the code under test).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Copy, Debug)]
pub enum Reply {
    Status(u16),
    /// Never answers (until the test ends).
    Hang,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: String,
    pub reply: Reply,
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("JSON body")
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    default: Option<Reply>,
    received: Vec<Received>,
}

pub struct Receiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    stop: CancellationToken,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Receiver {
    /// Listens on 127.0.0.1 (a free port), answering 200 unless scripted otherwise.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!(
            "http://127.0.0.1:{}/hook",
            listener.local_addr().expect("addr").port()
        );
        let inner = Arc::new(Mutex::new(Inner::default()));
        let stop = CancellationToken::new();
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(inner.clone());
        let until = stop.clone();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move { until.cancelled().await })
                .await;
        });
        Self { url, inner, stop }
    }

    /// The next requests get these answers, in order.
    pub fn script(&self, replies: &[Reply]) {
        self.inner
            .lock()
            .expect("lock")
            .script
            .extend(replies.iter().copied());
    }

    /// Answers after the script.
    pub fn set_default(&self, reply: Reply) {
        self.inner.lock().expect("lock").default = Some(reply);
    }

    /// How many requests arrived (without copying them).
    pub fn count(&self) -> usize {
        self.inner.lock().expect("lock").received.len()
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().expect("lock").received.clone()
    }

    /// Waits until `done` holds for what was received; panics after `limit`.
    pub async fn wait_for(&self, limit: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the receiver never got what was expected; it got {:?}",
                received.iter().map(|r| (&r.id, r.reply)).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let reply = {
        let mut inner = inner.lock().expect("lock");
        let reply = inner
            .script
            .pop_front()
            .or(inner.default)
            .unwrap_or(Reply::Status(200));
        inner.received.push(Received {
            id: header("webhook-id"),
            timestamp: header("webhook-timestamp"),
            signature: header("webhook-signature"),
            content_type: header("content-type"),
            body: String::from_utf8_lossy(&body).into_owned(),
            reply,
            at: Instant::now(),
        });
        reply
    };
    match reply {
        Reply::Status(code) => StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK
        }
    }
}

/// Verifies a delivery as the Standard Webhooks specification says a receiver should:
/// the signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the key is the base64
/// decoding of the secret without its `whsec_` prefix; the signature is HMAC-SHA256, base64
/// encoded, prefixed `v1,`; the header may list several space-separated signatures, any of
/// which may match; the timestamp must be within five minutes of now.
pub fn verify(secret: &str, received: &Received) -> bool {
    let Some(encoded) = secret.strip_prefix("whsec_") else {
        return false;
    };
    let Ok(key) = STANDARD.decode(encoded) else {
        return false;
    };
    let Ok(timestamp) = received.timestamp.parse::<i64>() else {
        return false;
    };
    if (chrono::Utc::now().timestamp() - timestamp).abs() > 300 {
        return false;
    }
    let content = format!("{}.{}.{}", received.id, received.timestamp, received.body);
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(content.as_bytes());
    let expected = mac.finalize().into_bytes();
    received.signature.split(' ').any(|candidate| {
        candidate
            .strip_prefix("v1,")
            .and_then(|b64| STANDARD.decode(b64).ok())
            // The comparison's timing does not matter in a test.
            .is_some_and(|sig| sig.as_slice() == expected.as_slice())
    })
}
