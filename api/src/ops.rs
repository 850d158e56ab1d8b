//! Operations endpoints for admins.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::auth::AdminUser;
use crate::error::ApiError;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/ops/verify", get(verify))
}

/// `GET /api/ops/verify`: the invariant report of `oms verify`.
async fn verify(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
) -> Result<Json<oms_workers::verify::Report>, ApiError> {
    let report = oms_workers::verify::verify(&state.store, state.config.reconcile_after).await?;
    Ok(Json(report))
}
