//! Reading a server-sent event stream in tests.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use super::TestApp;

/// Reads a server-sent event stream.
pub struct SseReader {
    response: reqwest::Response,
    buffer: String,
}

#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub data: Value,
}

impl SseReader {
    pub async fn open(app: &TestApp, path: &str, token: &str) -> Self {
        Self::open_at(&app.http, &app.url(path), token).await
    }

    /// Opens the stream at a full URL (another API process's).
    pub async fn open_at(http: &reqwest::Client, url: &str, token: &str) -> Self {
        let response = http
            .get(url)
            .bearer_auth(token)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .expect("SSE request");
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap_or("")
                .starts_with("text/event-stream"),
            "not an event stream"
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event, `None` when the stream ends; panics after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(SseEvent {
                    event,
                    data: serde_json::from_str(&data).unwrap_or(Value::String(data)),
                });
            }
            let chunk = tokio::time::timeout(timeout, self.response.chunk())
                .await
                .expect("no SSE event in time")
                .expect("SSE stream");
            match chunk {
                Some(bytes) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                None => return None,
            }
        }
    }
}
