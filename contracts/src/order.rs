//! The order state machine: the one place where order transitions are defined.
//! The API uses it to refuse obviously invalid requests at once; the order workers
//! use it again when they apply a transition, because the status may have moved meanwhile.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::Invalid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Placed,
    Rejected,
    Confirmed,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    /// The statuses an admin may ask for with `POST /api/orders/{id}/status`.
    pub const ADMIN_TARGETS: [OrderStatus; 4] = [
        OrderStatus::Confirmed,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Pending,
        OrderStatus::Placed,
        OrderStatus::Rejected,
        OrderStatus::Confirmed,
        OrderStatus::Shipped,
        OrderStatus::Delivered,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Placed => "PLACED",
            OrderStatus::Rejected => "REJECTED",
            OrderStatus::Confirmed => "CONFIRMED",
            OrderStatus::Shipped => "SHIPPED",
            OrderStatus::Delivered => "DELIVERED",
            OrderStatus::Cancelled => "CANCELLED",
        }
    }

    /// `DELIVERED`, `CANCELLED` and `REJECTED` never change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Delivered | OrderStatus::Cancelled | OrderStatus::Rejected
        )
    }

    /// Whether stock is held for this order's lines in this status.
    pub fn holds_stock(self) -> bool {
        matches!(
            self,
            OrderStatus::Placed | OrderStatus::Confirmed | OrderStatus::Shipped | OrderStatus::Delivered
        )
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OrderStatus {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        OrderStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| Invalid::new("is not an order status"))
    }
}

/// Who asks for a transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The shopper who owns the order.
    Owner,
    /// An administrator.
    Admin,
    /// OMS itself: the order workers and the reconciler.
    System,
}

/// A refused transition, with what would have been allowed instead.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an order cannot go from {from} to {to}{}", allowed_text(.allowed))]
pub struct TransitionError {
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub allowed: Vec<OrderStatus>,
}

fn allowed_text(allowed: &[OrderStatus]) -> String {
    if allowed.is_empty() {
        " (it is final)".to_string()
    } else {
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        format!("; allowed next: {}", names.join(", "))
    }
}

/// Every transition `actor` may make from `from`.
pub fn allowed_next(from: OrderStatus, actor: Actor) -> Vec<OrderStatus> {
    use OrderStatus::*;
    let cancellable = matches!(from, Pending | Placed | Confirmed);
    let mut next = Vec::new();
    match actor {
        Actor::System => {
            if from == Pending {
                next.extend([Placed, Rejected]);
            }
        }
        Actor::Admin => {
            match from {
                Placed => next.push(Confirmed),
                Confirmed => next.push(Shipped),
                Shipped => next.push(Delivered),
                _ => {}
            }
            if cancellable {
                next.push(Cancelled);
            }
        }
        Actor::Owner => {
            if cancellable {
                next.push(Cancelled);
            }
        }
    }
    next
}

/// The state machine: `Ok` when `actor` may move an order from `from` to `to`.
pub fn transition(from: OrderStatus, to: OrderStatus, actor: Actor) -> Result<(), TransitionError> {
    let allowed = allowed_next(from, actor);
    if allowed.contains(&to) {
        Ok(())
    } else {
        Err(TransitionError { from, to, allowed })
    }
}

#[cfg(test)]
mod tests {
    use super::OrderStatus::*;
    use super::*;

    /// The whole machine as a table: (from, to, actor) triples that are allowed.
    const ALLOWED: &[(OrderStatus, OrderStatus, Actor)] = &[
        (Pending, Placed, Actor::System),
        (Pending, Rejected, Actor::System),
        (Pending, Cancelled, Actor::Owner),
        (Pending, Cancelled, Actor::Admin),
        (Placed, Confirmed, Actor::Admin),
        (Placed, Cancelled, Actor::Owner),
        (Placed, Cancelled, Actor::Admin),
        (Confirmed, Shipped, Actor::Admin),
        (Confirmed, Cancelled, Actor::Owner),
        (Confirmed, Cancelled, Actor::Admin),
        (Shipped, Delivered, Actor::Admin),
    ];

    #[test]
    fn every_pair_for_every_actor_matches_the_table() {
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                for actor in [Actor::Owner, Actor::Admin, Actor::System] {
                    let expected = ALLOWED.contains(&(from, to, actor));
                    assert_eq!(
                        transition(from, to, actor).is_ok(),
                        expected,
                        "{from} -> {to} by {actor:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn final_statuses_allow_nothing() {
        for from in OrderStatus::ALL.into_iter().filter(|s| s.is_final()) {
            for actor in [Actor::Owner, Actor::Admin, Actor::System] {
                assert!(allowed_next(from, actor).is_empty());
            }
        }
    }

    #[test]
    fn refusals_name_the_allowed_next_statuses() {
        let err = transition(Placed, Shipped, Actor::Admin).expect_err("skip");
        assert_eq!(err.allowed, vec![Confirmed, Cancelled]);
        assert_eq!(
            err.to_string(),
            "an order cannot go from PLACED to SHIPPED; allowed next: CONFIRMED, CANCELLED"
        );
        let err = transition(Delivered, Cancelled, Actor::Owner).expect_err("final");
        assert_eq!(
            err.to_string(),
            "an order cannot go from DELIVERED to CANCELLED (it is final)"
        );
    }

    #[test]
    fn statuses_parse_from_their_names_only() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse::<OrderStatus>(), Ok(status));
        }
        assert!("placed".parse::<OrderStatus>().is_err());
    }
}
