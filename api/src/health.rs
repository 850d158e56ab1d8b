//! Liveness and readiness.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// 200 when both the broker and the store answer within two seconds, else 503 naming
/// what is down.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let limit = Duration::from_secs(2);
    let (broker, store) = tokio::join!(
        tokio::time::timeout(limit, state.broker.check()),
        tokio::time::timeout(limit, state.store.ping()),
    );
    let broker_ok = matches!(broker, Ok(Ok(())));
    let store_ok = matches!(store, Ok(Ok(())));
    let word = |ok: bool| if ok { "up" } else { "down" };
    let mut down = Vec::new();
    if !broker_ok {
        down.push("broker");
    }
    if !store_ok {
        down.push("store");
    }
    let status = if down.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = json!({
        "status": if down.is_empty() { "ready" } else { "not_ready" },
        "checks": { "broker": word(broker_ok), "store": word(store_ok) },
    });
    if !down.is_empty() {
        body["error"] = json!({
            "code": "service_unavailable",
            "message": format!("unavailable: {}", down.join(", ")),
        });
    }
    (status, Json(body))
}
