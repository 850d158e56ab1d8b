//! Stock adjustments (restocks and corrections), decided by the product's stock worker, and
//! their outcome by id.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use oms_contracts::domain::{Reason, StockDelta};
use oms_contracts::messages::{Envelope, StockCommand};
use oms_contracts::routing::stock_queue_for;
use oms_platform::broker::Outgoing;
use oms_platform::store::LedgerOutcome;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::AdminUser;
use crate::error::responses;
use crate::error::{ApiError, Fields};
use crate::extract::{ApiJson, RequestId, idempotency_key};
use crate::state::AppState;

use super::{ensure_product_exists, parse_product_id};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StockIn {
    /// Units to add (restock) or remove (correction); not zero.
    delta: i64,
    reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct AdjustmentOut {
    pub adjustment_id: String,
    pub product_id: String,
    pub delta: i64,
    pub reason: String,
}

/// A restock or correction, applied by the product's stock worker (which refuses it if it
/// would take stock below zero; the outcome shows in the ledger and as an event). With an
/// `Idempotency-Key`, a retried request is applied once.
#[utoipa::path(
    post,
    path = "/api/products/{id}/stock",
    tag = "products",
    params(
        ("id" = String, Path, description = "The product's id"),
        (
            "Idempotency-Key" = Option<String>,
            Header,
            description = "1 to 100 visible ASCII characters: the same request with the same key is applied once"
        ),
    ),
    request_body = StockIn,
    security(("bearer" = ["admin"])),
    responses(
        (status = 202, description = "Sent to the product's stock worker", body = AdjustmentOut),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(super) async fn adjust_stock(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    RequestId(request_id): RequestId,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<StockIn>,
) -> Result<impl IntoResponse, ApiError> {
    let id = parse_product_id(&id)?;
    let mut fields = Fields::default();
    let delta = fields.parse("delta", StockDelta::parse(body.delta));
    let reason = fields.parse("reason", Reason::parse(&body.reason));
    let (delta, reason) = fields.finish(|| Some((delta?, reason?)))?;
    ensure_product_exists(&state, &id).await?;
    // With an Idempotency-Key, the same request (same key, delta and reason) is one
    // adjustment however often it is sent.
    let adjustment_id = match idempotency_key(&headers)? {
        Some(key) => {
            let request = format!(
                "{}\n{}\n{}\n{}\n{}",
                admin.id,
                id,
                key.as_str(),
                delta.units(),
                reason.as_str()
            );
            hex::encode(&Sha256::digest(request.as_bytes())[..16])
        }
        None => uuid::Uuid::now_v7().simple().to_string(),
    };
    let envelope = Envelope::new(
        id.to_string(),
        request_id,
        StockCommand::AdjustStock {
            adjustment_id: adjustment_id.clone(),
            product_id: id.clone(),
            delta,
            reason: reason.clone(),
            admin_id: admin.id.clone(),
        },
    );
    state
        .broker
        .publish(Outgoing::command(
            stock_queue_for(&id, state.config.partitions),
            &envelope,
        ))
        .await?;
    tracing::info!(product_id = %id, admin_id = %admin.id, delta = delta.units(), adjustment_id, "stock adjustment requested");
    Ok((
        StatusCode::ACCEPTED,
        Json(AdjustmentOut {
            adjustment_id,
            product_id: id.to_string(),
            delta: delta.units(),
            reason: reason.into_inner(),
        }),
    ))
}

/// Where a stock adjustment stands.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentStatus {
    /// Not decided yet (or no adjustment has this id).
    Pending,
    Applied,
    /// Refused by the stock worker: it would have taken the stock below zero.
    Refused,
}

#[derive(Serialize, ToSchema)]
pub struct AdjustmentStatusOut {
    pub adjustment_id: String,
    pub product_id: String,
    pub status: AdjustmentStatus,
    /// The change applied (0 unless applied).
    pub delta: i64,
    /// The stock after it, once applied.
    pub balance_after: Option<i64>,
    /// The admin's reason when applied; why it was refused when refused.
    pub reason: Option<String>,
}

/// The outcome of a stock adjustment, by the `adjustment_id` its 202 returned: `pending` until
/// the product's stock worker decides it, then `applied` or `refused` (with why).
#[utoipa::path(
    get,
    path = "/api/products/{id}/stock/{adjustment_id}",
    tag = "products",
    params(
        ("id" = String, Path, description = "The product's id"),
        ("adjustment_id" = String, Path, description = "The id the adjustment's 202 returned"),
    ),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "Where the adjustment stands", body = AdjustmentStatusOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, response = responses::NotFound),
        (status = 503, response = responses::Unavailable),
    )
)]
pub(super) async fn get_adjustment(
    State(state): State<AppState>,
    AdminUser(_admin): AdminUser,
    Path((id, adjustment_id)): Path<(String, String)>,
) -> Result<Json<AdjustmentStatusOut>, ApiError> {
    let id = parse_product_id(&id)?;
    ensure_product_exists(&state, &id).await?;
    let decided = if adjustment_id.len() <= 100
        && adjustment_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        state.store.stock_adjustment(&id, &adjustment_id).await?
    } else {
        None
    };
    let out = match decided {
        None => AdjustmentStatusOut {
            adjustment_id,
            product_id: id.to_string(),
            status: AdjustmentStatus::Pending,
            delta: 0,
            balance_after: None,
            reason: None,
        },
        Some(entry) => AdjustmentStatusOut {
            adjustment_id,
            product_id: id.to_string(),
            status: match entry.outcome {
                LedgerOutcome::Applied => AdjustmentStatus::Applied,
                _ => AdjustmentStatus::Refused,
            },
            delta: entry.delta,
            balance_after: (entry.outcome == LedgerOutcome::Applied).then_some(entry.balance_after),
            reason: match &entry.refusal {
                Some(refusal) => Some(refusal.describe()),
                None => entry.reason,
            },
        },
    };
    Ok(Json(out))
}
