//! Liveness and readiness.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    #[schema(example = "ready")]
    status: &'static str,
    checks: Checks,
    /// When not ready: `service_unavailable` and which dependencies are down.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    error: Option<NotReady>,
}

/// `up` or `down` for each dependency.
#[derive(Serialize, ToSchema)]
pub struct Checks {
    broker: &'static str,
    store: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct NotReady {
    code: &'static str,
    message: String,
}

/// 200 while the process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses((status = 200, description = "The process is up", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// 200 when both the broker and the store answer within two seconds, else 503 naming
/// what is down.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses(
        (status = 200, description = "The broker and the store are reachable", body = Readiness),
        (status = 503, description = "A dependency is down; `checks` says which", body = Readiness),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
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
    let body = Readiness {
        status: if down.is_empty() { "ready" } else { "not_ready" },
        checks: Checks {
            broker: word(broker_ok),
            store: word(store_ok),
        },
        error: (!down.is_empty()).then(|| NotReady {
            code: "service_unavailable",
            message: format!("unavailable: {}", down.join(", ")),
        }),
    };
    (status, Json(body))
}
