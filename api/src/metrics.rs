//! `GET /metrics` (Prometheus text) and the HTTP metrics middleware.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mongodb::bson::doc;

use crate::state::AppState;

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::default().routes(utoipa_axum::routes!(scrape))
}

/// Counts requests and their latency by method, route template and status.
pub async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("oms_http_requests_total", &labels).increment(1);
    metrics::histogram!("oms_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

/// The scrape: every recorded metric, plus orders by status counted now.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses((
        status = 200,
        description = "Prometheus text exposition: HTTP requests and latency by route and status, messages \
            consumed/acked/retried/dead-lettered by queue, handler latency by message type, orders by status, \
            image uploads by outcome",
        content_type = "text/plain",
        body = String
    ))
)]
pub async fn scrape(State(state): State<AppState>) -> impl IntoResponse {
    if let Err(err) = count_orders(&state).await {
        tracing::warn!(error = %err, "orders by status not counted for this scrape");
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        oms_platform::metrics::render(),
    )
}

async fn count_orders(state: &AppState) -> mongodb::error::Result<()> {
    for (status, count) in oms_platform::analytics::orders_by_status(&state.store).await? {
        metrics::gauge!("oms_orders", "status" => status).set(count as f64);
    }
    Ok(())
}
