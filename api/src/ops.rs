//! Operations endpoints for admins: the queues as RabbitMQ sees them, dead letters (list and
//! replay), and the invariant report.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use oms_platform::dead_letters::{self, DeadLetter, DeadLetterError, Replayed};
use oms_platform::rabbit::QueuesReport;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::AdminUser;
use crate::contract::{MAX_DEAD_LETTER_LIST, MAX_REPLAY_IDS};
use crate::error::responses;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(verify))
        .routes(routes!(queues))
        .routes(routes!(list_dead_letters))
        .routes(routes!(replay_dead_letters))
}

/// Every check `oms verify` makes, by the kind of violation it reports, with what it checks.
const CHECKS: [(&str, &str); 5] = [
    ("negative_stock", "No product's stock is below zero"),
    (
        "stock_ledger_mismatch",
        "Every product's stock equals the sum of its ledger",
    ),
    (
        "missing_reservation",
        "Every placed, confirmed, shipped or delivered order holds exactly its quantities",
    ),
    (
        "stock_not_released",
        "Every cancelled or rejected order holds no stock",
    ),
    (
        "stuck_pending",
        "No order stays PENDING longer than the grace period",
    ),
];

/// One check of the report.
#[derive(Serialize, ToSchema)]
pub struct CheckOut {
    /// The kind of violation it looks for, e.g. `stock_ledger_mismatch`.
    pub name: String,
    /// What holds when it passes.
    pub description: String,
    pub ok: bool,
    /// How many violations it found.
    pub violations: u64,
}

/// The invariant report with when it ran, how long it took and each check's result.
#[derive(Serialize, ToSchema)]
pub struct VerifyOut {
    /// True when every check passed.
    pub ok: bool,
    /// When the checks started.
    pub checked_at: chrono::DateTime<chrono::Utc>,
    /// How long they took, in milliseconds.
    pub took_ms: u64,
    pub products_checked: u64,
    pub orders_checked: u64,
    /// Orders changed within the grace period, not judged.
    pub orders_in_flight: u64,
    /// Every check, in a fixed order, passed or not.
    pub checks: Vec<CheckOut>,
    pub violations: Vec<oms_platform::verify::Violation>,
}

impl VerifyOut {
    fn new(
        report: oms_platform::verify::Report,
        checked_at: chrono::DateTime<chrono::Utc>,
        took: std::time::Duration,
    ) -> Self {
        let count = |kind: &str| report.violations.iter().filter(|v| v.kind == kind).count() as u64;
        let mut checks: Vec<CheckOut> = CHECKS
            .iter()
            .map(|(name, description)| CheckOut {
                name: name.to_string(),
                description: description.to_string(),
                ok: count(name) == 0,
                violations: count(name),
            })
            .collect();
        // A kind this list does not know still shows, as a failed check of its own.
        for violation in &report.violations {
            if !checks.iter().any(|c| c.name == violation.kind) {
                checks.push(CheckOut {
                    name: violation.kind.to_string(),
                    description: violation.kind.replace('_', " "),
                    ok: false,
                    violations: count(violation.kind),
                });
            }
        }
        Self {
            ok: report.ok,
            checked_at,
            took_ms: took.as_millis() as u64,
            products_checked: report.products_checked,
            orders_checked: report.orders_checked,
            orders_in_flight: report.orders_in_flight,
            checks,
            violations: report.violations,
        }
    }
}

/// `GET /api/ops/verify`: the invariant report of `oms verify`, with its time and each check.
#[utoipa::path(
    get,
    path = "/api/ops/verify",
    tag = "ops",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The report; `ok` is false when any invariant is violated", body = VerifyOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn verify(State(state): State<AppState>, AdminUser(_): AdminUser) -> Result<Json<VerifyOut>, ApiError> {
    let checked_at = chrono::Utc::now();
    let started = std::time::Instant::now();
    let report = oms_platform::verify::verify(&state.store, state.config.reconcile_after).await?;
    Ok(Json(VerifyOut::new(report, checked_at, started.elapsed())))
}

/// `GET /api/ops/queues`: every queue OMS declares, with depth, consumers, the active
/// consumer, rates and dead-letter depth.
#[utoipa::path(
    get,
    path = "/api/ops/queues",
    tag = "ops",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The queues", body = QueuesReport),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn queues(State(state): State<AppState>, AdminUser(_): AdminUser) -> Json<QueuesReport> {
    let vhost = state.config.amqp_vhost();
    Json(oms_platform::rabbit::queues(&state.management, &state.broker, &vhost).await)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterQuery {
    /// A queue OMS declares (or its dead-letter queue, `<queue>.dlq`); every queue when absent.
    queue: Option<String>,
    /// 1 to 1000 (default 100): per queue.
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct DeadLettersOut {
    /// The queue asked for; absent when every queue was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub queue: Option<String>,
    /// Each with the `queue` it died in, oldest first per queue.
    pub items: Vec<DeadLetter>,
}

/// A name OMS could give a queue (`contract::QUEUE_PATTERN`): `oms.` and 1 to 100 of
/// `a-z 0-9 . _ -`. Whether it declares that queue is the broker's to say (404 when not).
fn check_queue_name(queue: &str, code: &'static str) -> Result<(), ApiError> {
    let ok = queue.strip_prefix("oms.").is_some_and(|rest| {
        (1..=100).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::Invalid {
            code,
            field: "queue".into(),
            message: "must be the name of one of OMS's queues, such as oms.stock.0 or oms.images.dlq".into(),
        })
    }
}

fn dead_letter_error(err: DeadLetterError) -> ApiError {
    match err {
        // A well-formed name OMS does not declare (here: with this partition count) is no resource.
        DeadLetterError::UnknownQueue(_) => ApiError::not_found("queue"),
        DeadLetterError::Broker(err) => err.into(),
        DeadLetterError::Amqp(err) => {
            tracing::warn!(error = %err, "dead-letter queue unavailable");
            ApiError::Unavailable("the message broker")
        }
    }
}

/// `GET /api/ops/dead-letters?queue=&limit=`: dead letters of one queue, or of every queue when
/// none is named, with their reason and attempts; they stay in the dead-letter queue.
#[utoipa::path(
    get,
    path = "/api/ops/dead-letters",
    tag = "ops",
    params(DeadLetterQuery),
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The dead letters of the queue, or of every queue", body = DeadLettersOut),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 404, description = "`not_found`: no such queue (a name OMS would use, but not declared with this partition count)", body = ErrorBody),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn list_dead_letters(
    State(state): State<AppState>,
    AdminUser(_): AdminUser,
    ApiQuery(query): ApiQuery<DeadLetterQuery>,
) -> Result<Json<DeadLettersOut>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=i64::from(MAX_DEAD_LETTER_LIST)).contains(&limit) {
        return Err(ApiError::Invalid {
            code: "invalid_query",
            field: "limit".into(),
            message: format!("must be between 1 and {MAX_DEAD_LETTER_LIST}"),
        });
    }
    if let Some(queue) = &query.queue {
        check_queue_name(queue, "invalid_query")?;
    }
    let items = match &query.queue {
        Some(queue) => dead_letters::list(&state.broker, queue, limit as usize).await,
        None => dead_letters::list_all(&state.broker, limit as usize).await,
    }
    .map_err(dead_letter_error)?;
    Ok(Json(DeadLettersOut {
        queue: query.queue,
        items,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayIn {
    queue: String,
    /// The dead letters to replay; all of them when absent.
    ids: Option<Vec<String>>,
}

/// `POST /api/ops/dead-letters/replay`: moves dead letters back to their queue, each removed
/// from the dead-letter queue only after its republication is confirmed.
#[utoipa::path(
    post,
    path = "/api/ops/dead-letters/replay",
    tag = "ops",
    request_body = ReplayIn,
    security(("bearer" = ["admin"])),
    responses(
        (status = 202, description = "How many were replayed, and how many stay dead-lettered", body = Replayed),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (status = 403, response = responses::Forbidden),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 404, description = "`not_found`: no such queue (a name OMS would use, but not declared with this partition count)", body = ErrorBody),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn replay_dead_letters(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    ApiJson(body): ApiJson<ReplayIn>,
) -> Result<impl IntoResponse, ApiError> {
    if body
        .ids
        .as_ref()
        .is_some_and(|ids| ids.is_empty() || ids.len() > MAX_REPLAY_IDS)
    {
        return Err(ApiError::Invalid {
            code: "validation_failed",
            field: "ids".into(),
            message: format!("name 1 to {MAX_REPLAY_IDS} dead letters, or leave ids out to replay all"),
        });
    }
    check_queue_name(&body.queue, "validation_failed")?;
    let outcome = dead_letters::replay(&state.broker, &body.queue, body.ids.as_deref())
        .await
        .map_err(dead_letter_error)?;
    tracing::info!(admin_id = %admin.id, queue = %body.queue, replayed = outcome.replayed, "dead letters replayed");
    Ok((StatusCode::ACCEPTED, Json(outcome)))
}
