//! The caller's in-app notifications (one per status change of their orders, newest first),
//! and marking them read. Each user reaches only their own: every query names the caller.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use oms_contracts::OrderStatus;
use oms_platform::store::lists::{NotificationList, TimeKey};
use oms_platform::store::{NotificationDoc, to_chrono};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::contract::MAX_READ_IDS;
use crate::error::{ApiError, responses};
use crate::extract::{ApiJson, ApiQuery};
use crate::paging::{self, Page, position};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(list_notifications))
        .routes(routes!(mark_read))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// `true`: only unread ones; `false`: only read ones; absent: all.
    unread: Option<bool>,
    /// From 1 (default 1).
    page: Option<i64>,
    /// 1 to 100 (default 20).
    per_page: Option<i64>,
    /// The `next_cursor` of the previous page (instead of `page`).
    cursor: Option<String>,
}

/// One change of one of the caller's orders.
#[derive(Serialize, ToSchema)]
pub struct NotificationOut {
    pub id: String,
    pub order_id: String,
    /// The order's short number (`#1042`); absent on orders placed before numbers existed.
    pub order_number: Option<i64>,
    /// The order's new status.
    pub status: OrderStatus,
    pub from: Option<OrderStatus>,
    pub reason: Option<String>,
    /// The order's version after the change.
    pub version: i64,
    /// When the order changed.
    pub at: chrono::DateTime<chrono::Utc>,
    pub read_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<NotificationDoc> for NotificationOut {
    fn from(n: NotificationDoc) -> Self {
        Self {
            id: n.id,
            order_id: n.order_id.to_string(),
            order_number: n.order_number,
            status: n.status,
            from: n.from,
            reason: n.reason,
            version: n.version,
            at: to_chrono(n.at),
            read_at: n.read_at.map(to_chrono),
        }
    }
}

/// A page of notifications (the list shape of every list), and how many of the caller's are
/// unread (for the bell).
#[derive(Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<NotificationOut>,
    /// The page number asked for (1 when the page was asked for by `cursor`).
    pub page: u64,
    pub per_page: u64,
    /// Exact up to 1,000 (`total_exact`), beyond that a lower bound.
    pub total: u64,
    pub total_exact: bool,
    pub has_more: bool,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// All the caller's unread notifications, whatever the filter (at most 1,000 counted).
    pub unread: u64,
}

/// The caller's notifications, newest first.
#[utoipa::path(
    get,
    path = "/api/notifications",
    tag = "notifications",
    params(NotificationQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of the caller's notifications", body = NotificationPage),
        (status = 401, response = responses::Unauthenticated),
        (status = 404, response = responses::NotFound),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn list_notifications(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<NotificationQuery>,
) -> Result<Json<NotificationPage>, ApiError> {
    let list = NotificationList {
        user: user.id.clone(),
        unread: query.unread,
    };
    let name = format!("notifications:{}:{:?}", user.id, query.unread);
    let position = position::<TimeKey>(&state, &name, query.page, query.per_page, query.cursor.as_deref())?;
    let unread = NotificationList {
        user: user.id.clone(),
        unread: Some(true),
    };
    let (slice, count, unread) = tokio::try_join!(
        state
            .store
            .list_notifications(&list, &position.start, position.paging.per_page),
        state.store.count_notifications(&list),
        state.store.count_notifications(&unread),
    )?;
    let Page {
        items,
        page,
        per_page,
        total,
        total_exact,
        has_more,
        next_cursor,
    } = paging::page(
        &state,
        &name,
        &position,
        slice,
        count,
        |n: &NotificationDoc| TimeKey::new(n.at, n.id.clone()),
        NotificationOut::from,
    );
    Ok(Json(NotificationPage {
        items,
        page,
        per_page,
        total,
        total_exact,
        has_more,
        next_cursor,
        unread: unread.value,
    }))
}

/// Which notifications to mark read: `{"ids": [...]}` or `{"all": true}` (one of the two).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadIn {
    /// Up to 500 notification ids (another user's are ignored).
    ids: Option<Vec<String>>,
    /// Every unread notification of the caller.
    all: Option<bool>,
}

/// Marks the caller's notifications read (already read ones keep their time).
#[utoipa::path(
    post,
    path = "/api/notifications/read",
    tag = "notifications",
    request_body = ReadIn,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Marked"),
        (status = 400, response = responses::BadRequest),
        (status = 401, response = responses::Unauthenticated),
        (status = 415, response = responses::UnsupportedMediaType),
        (status = 422, response = responses::Invalid),
        (status = 503, response = responses::Unavailable),
    )
)]
async fn mark_read(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(body): ApiJson<ReadIn>,
) -> Result<StatusCode, ApiError> {
    let ids = match (body.ids, body.all) {
        (Some(ids), None | Some(false)) => {
            if ids.len() > MAX_READ_IDS {
                return Err(ApiError::Invalid {
                    code: "validation_failed",
                    field: "ids".into(),
                    message: format!("at most {MAX_READ_IDS} ids at once"),
                });
            }
            Some(ids)
        }
        (None, Some(true)) => None,
        _ => {
            return Err(ApiError::Invalid {
                code: "validation_failed",
                field: "ids".into(),
                message: "give either ids or all: true".into(),
            });
        }
    };
    state
        .store
        .mark_notifications_read(&user.id, ids.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
