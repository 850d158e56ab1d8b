//! Orders: placing (with idempotency keys), reading, cancelling, admin transitions and
//! statistics. The API never changes an order's status itself: it checks the request
//! against the state machine, publishes the command with a confirm, and answers 202.

mod place;
pub use place::*;
mod read;
pub use read::*;
mod change;
pub use change::*;

pub mod events;
pub mod hub;
pub mod intake;
pub mod numbers;

use mongodb::bson::doc;
use oms_contracts::messages::{HistoryEntry, RejectReason};
use oms_contracts::order::{self, Actor};
use oms_contracts::{Money, OrderId, OrderStatus, UserId};
use oms_platform::store::{self, LineReservation, OrderDoc};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;

pub const MAX_LINES: usize = 50;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(place_order, list_orders))
        .routes(routes!(order_stats))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(transition_order))
        .routes(routes!(events::order_events))
        .routes(routes!(events::all_events))
}

#[derive(Serialize, ToSchema)]
pub struct LineOut {
    pub product_id: String,
    /// The product's name when it was reserved.
    pub name: Option<String>,
    pub quantity: i64,
    /// The product's price when it was reserved.
    pub unit_price: Option<Money>,
    pub line_total: Option<Money>,
    pub reservation: LineReservation,
    pub reject_reason: Option<RejectReason>,
    /// `reject_reason` in words.
    pub reject_message: Option<&'static str>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderOut {
    pub id: String,
    /// The short number people use for it (`#1042`); absent on orders placed before numbers.
    pub number: Option<i64>,
    pub user_id: String,
    /// Who placed it (name and e-mail address as they were then); absent on older orders.
    pub customer: Option<CustomerOut>,
    pub status: OrderStatus,
    pub items: Vec<LineOut>,
    pub total: Option<Money>,
    pub history: Vec<HistoryOut>,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// The statuses the caller may move the order to from its current `status`, from the
    /// state machine: for an admin the next step and `CANCELLED` while it is still allowed,
    /// for the order's owner only `CANCELLED` (before shipping); empty when the status is
    /// final. Live status events do not carry it: fetch the order again after one.
    pub allowed_next: Vec<OrderStatus>,
}

/// One change of an order's status, or a refused attempt at one.
#[derive(Serialize, ToSchema)]
pub struct HistoryOut {
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    /// A user id, or `system`.
    pub by: String,
    /// The name of whoever `by` is, when the caller may know it: the customer's for anyone who
    /// sees the order, an administrator's for administrators; otherwise absent.
    pub by_name: Option<String>,
    pub at: chrono::DateTime<chrono::Utc>,
    pub reason: Option<String>,
    /// Whether this was a refused attempt (the status did not change).
    pub refused: bool,
    /// The order's version once this entry was recorded (absent on old entries).
    pub version: Option<i64>,
}

/// The names of the people `orders`' histories name besides their customers, as `viewer` may
/// know them: administrators' names for administrators (one read), none for shoppers, who see
/// "an administrator".
pub(crate) async fn history_names(
    state: &AppState,
    orders: &[&OrderDoc],
    viewer: &CurrentUser,
) -> Result<HashMap<String, String>, ApiError> {
    if !viewer.is_admin() {
        return Ok(HashMap::new());
    }
    let mut others: Vec<&str> = orders
        .iter()
        .flat_map(|o| {
            o.history
                .iter()
                .map(|h| h.by.as_str())
                .filter(move |by| *by != o.user_id.as_str() && *by != "system")
        })
        .collect();
    others.sort_unstable();
    others.dedup();
    Ok(state.store.user_names(&others).await?)
}

/// The customer of an order.
#[derive(Serialize, ToSchema)]
pub struct CustomerOut {
    pub name: String,
    pub email: String,
}

/// How the state machine sees `user` acting on an order owned by `owner_id`.
fn actor_for(user: &CurrentUser, owner_id: &UserId) -> Option<Actor> {
    if user.is_admin() {
        Some(Actor::Admin)
    } else if *owner_id == user.id {
        Some(Actor::Owner)
    } else {
        None
    }
}

impl OrderOut {
    /// The order as `viewer` sees it: `allowed_next` depends on who asks.
    fn new(o: OrderDoc, viewer: &CurrentUser, names: &HashMap<String, String>) -> Self {
        let customer_name = o.customer.as_ref().map(|c| c.name.clone());
        let allowed_next = actor_for(viewer, &o.user_id)
            .map(|actor| order::allowed_next(o.status, actor))
            .unwrap_or_default();
        Self {
            allowed_next,
            items: o
                .items
                .into_iter()
                .map(|l| LineOut {
                    line_total: match (l.line_total, l.unit_price) {
                        (Some(amount), Some(price)) => Some(Money {
                            amount,
                            currency: price.currency,
                        }),
                        _ => None,
                    },
                    product_id: l.product_id.to_string(),
                    name: l.name,
                    quantity: i64::from(l.quantity),
                    unit_price: l.unit_price,
                    reservation: l.reservation,
                    reject_message: l.reject_reason.map(RejectReason::describe),
                    reject_reason: l.reject_reason,
                })
                .collect(),
            id: o.id.to_string(),
            number: o.number,
            user_id: o.user_id.to_string(),
            customer: o.customer.map(|c| CustomerOut {
                name: c.name,
                email: c.email,
            }),
            status: o.status,
            total: o.total,
            history: o
                .history
                .into_iter()
                .map(|h: HistoryEntry| HistoryOut {
                    by_name: if h.by == o.user_id.as_str() {
                        customer_name.clone()
                    } else {
                        names.get(&h.by).cloned()
                    },
                    from: h.from,
                    to: h.to,
                    by: h.by,
                    at: h.at,
                    reason: h.reason,
                    refused: h.refused,
                    version: h.version,
                })
                .collect(),
            version: o.version,
            created_at: store::to_chrono(o.created_at),
            updated_at: store::to_chrono(o.updated_at),
        }
    }
}

fn parse_order_id(raw: &str) -> Result<OrderId, ApiError> {
    OrderId::parse(raw).map_err(|_| ApiError::not_found("order"))
}

/// The order, if `user` may see it (its owner or an admin); anyone else gets 404.
pub async fn visible_order(state: &AppState, user: &CurrentUser, id: &OrderId) -> Result<OrderDoc, ApiError> {
    state
        .store
        .order(id)
        .await?
        .filter(|o| user.is_admin() || o.user_id == user.id)
        .ok_or_else(|| ApiError::not_found("order"))
}
