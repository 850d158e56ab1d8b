//! Messages on the broker. Every message is an [`Envelope`] around one of the enums below,
//! serialised as JSON with `type` naming the variant and `payload` holding its fields.
//! A queue carries exactly one of these enums, so a consumer parses into that enum and
//! anything else is a poison message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Money, Quantity, Reason, StockDelta};
use crate::ids::{MessageId, OrderId, ProductId, UserId};
use crate::order::{Actor, OrderStatus};

/// The version of the message schema this build writes.
pub const MESSAGE_VERSION: u16 = 1;

/// Content type of every message body.
pub const CONTENT_TYPE: &str = "application/json";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope<M> {
    pub message_id: MessageId,
    pub version: u16,
    /// The order or product this message serves: one grep follows its whole story.
    pub correlation_id: String,
    /// The message or HTTP request that caused this one.
    pub causation_id: String,
    pub occurred_at: DateTime<Utc>,
    #[serde(flatten)]
    pub body: M,
}

impl<M> Envelope<M> {
    pub fn new(correlation_id: impl Into<String>, causation_id: impl Into<String>, body: M) -> Self {
        Self {
            message_id: MessageId::new(),
            version: MESSAGE_VERSION,
            correlation_id: correlation_id.into(),
            causation_id: causation_id.into(),
            occurred_at: Utc::now(),
            body,
        }
    }

    /// A message caused by this one, in the same story.
    pub fn follow<N>(&self, body: N) -> Envelope<N> {
        Envelope::new(self.correlation_id.clone(), self.message_id.to_string(), body)
    }
}

/// Why the stock worker refused a reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    InsufficientStock,
    UnknownProduct,
    InactiveProduct,
    /// The order released this line before its reservation arrived (it was cancelled or rejected).
    OrderReleased,
    /// The order's lines are priced in more than one currency.
    CurrencyMismatch,
    /// The reservation could not be completed (the reconciler gave up on it).
    Unavailable,
}

impl RejectReason {
    pub const ALL: [RejectReason; 6] = [
        RejectReason::InsufficientStock,
        RejectReason::UnknownProduct,
        RejectReason::InactiveProduct,
        RejectReason::OrderReleased,
        RejectReason::CurrencyMismatch,
        RejectReason::Unavailable,
    ];

    /// The reason's code, as it is serialised (`insufficient_stock`, ...).
    pub fn code(self) -> &'static str {
        match self {
            RejectReason::InsufficientStock => "insufficient_stock",
            RejectReason::UnknownProduct => "unknown_product",
            RejectReason::InactiveProduct => "inactive_product",
            RejectReason::OrderReleased => "order_released",
            RejectReason::CurrencyMismatch => "currency_mismatch",
            RejectReason::Unavailable => "unavailable",
        }
    }

    /// The reason with this code, if there is one.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    pub fn describe(self) -> &'static str {
        match self {
            RejectReason::InsufficientStock => "not enough stock",
            RejectReason::UnknownProduct => "no such product",
            RejectReason::InactiveProduct => "the product is not for sale",
            RejectReason::OrderReleased => "the order was withdrawn before the stock was reserved",
            RejectReason::CurrencyMismatch => "the order mixes currencies",
            RejectReason::Unavailable => "the reservation could not be completed",
        }
    }
}

/// One line of an order: a product and how many.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub quantity: Quantity,
}

/// Commands for the stock worker that owns the product's partition (`oms.stock.<k>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum StockCommand {
    /// Decide a whole `PENDING` order whose products all belong to this partition: reserve
    /// every line or none, and move the order to `PLACED` or `REJECTED`, in one transaction.
    /// Orders that span partitions go to their order worker instead (the reservation saga).
    /// It carries the order's owner and lines as stored, so that deciding it needs no read
    /// of the order (the write is conditional on the order being still as placed).
    PlaceOrder {
        order_id: OrderId,
        user_id: UserId,
        lines: Vec<OrderLine>,
        /// The order's short number, for the events that announce its decision.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<i64>,
    },
    /// Take `quantity` units for one order line, exactly once per (order, product).
    ReserveStock {
        order_id: OrderId,
        product_id: ProductId,
        quantity: Quantity,
        reply_to: String,
    },
    /// Give back what `ReserveStock` took for this (order, product), exactly once; if the
    /// reservation has not arrived yet, it will be refused when it does.
    ReleaseStock {
        order_id: OrderId,
        product_id: ProductId,
        reply_to: String,
    },
    /// An admin's restock or correction.
    AdjustStock {
        adjustment_id: String,
        product_id: ProductId,
        delta: StockDelta,
        reason: Reason,
        admin_id: UserId,
    },
}

/// Messages for the order process manager that owns the order's partition (`oms.orders.<k>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum OrderMessage {
    /// Start reserving stock for a `PENDING` order.
    PlaceOrder { order_id: OrderId },
    /// The owner or an admin cancels.
    CancelOrder {
        order_id: OrderId,
        by: UserId,
        actor: Actor,
        reason: Option<Reason>,
    },
    /// An admin moves the order along its lifecycle.
    TransitionOrder {
        order_id: OrderId,
        to: OrderStatus,
        by: UserId,
        reason: Option<Reason>,
    },
    /// The reconciler gives up on a `PENDING` order whose reservations never completed.
    AbandonOrder { order_id: OrderId, reason: Reason },
    /// Reply from a stock worker: the line is reserved at this price.
    StockReserved {
        order_id: OrderId,
        product_id: ProductId,
        unit_price: Money,
        product_name: String,
        balance_after: i64,
    },
    /// Reply from a stock worker: the line cannot be reserved.
    StockRejected {
        order_id: OrderId,
        product_id: ProductId,
        reason: RejectReason,
    },
    /// Reply from a stock worker: the line's reservation is given back (or there was none).
    StockReleased {
        order_id: OrderId,
        product_id: ProductId,
        restored: i64,
    },
}

impl OrderMessage {
    pub fn order_id(&self) -> &OrderId {
        match self {
            OrderMessage::PlaceOrder { order_id }
            | OrderMessage::CancelOrder { order_id, .. }
            | OrderMessage::TransitionOrder { order_id, .. }
            | OrderMessage::AbandonOrder { order_id, .. }
            | OrderMessage::StockReserved { order_id, .. }
            | OrderMessage::StockRejected { order_id, .. }
            | OrderMessage::StockReleased { order_id, .. } => order_id,
        }
    }
}

/// Commands for the image workers (`oms.images`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum ImageCommand {
    /// Move the staged blob `staged_id` (GridFS) to the image store for `product_id`.
    UploadProductImage {
        product_id: ProductId,
        upload_id: String,
        staged_id: String,
        content_type: crate::domain::ImageType,
    },
}

/// One entry of an order's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    /// A user id, or `system`.
    pub by: String,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
    /// Whether this was a refused attempt (the status did not change).
    #[serde(default)]
    pub refused: bool,
    /// The order's version once this entry was recorded: the `version` of the event that
    /// announced it (absent on entries recorded before versions were kept here).
    #[serde(default)]
    pub version: Option<i64>,
}

/// One line of an order as its events describe it: the price and name once reserved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventLine {
    pub product_id: ProductId,
    pub quantity: Quantity,
    pub name: Option<String>,
    pub unit_price: Option<Money>,
}

/// Facts published on `oms.events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload")]
pub enum Event {
    OrderStatusChanged {
        order_id: OrderId,
        user_id: UserId,
        from: Option<OrderStatus>,
        to: OrderStatus,
        by: String,
        reason: Option<String>,
        /// The order's version after the change: clients drop events they have already seen.
        version: i64,
        at: DateTime<Utc>,
        /// The order's lines and total as they stand after the change (prices once `PLACED`), so
        /// that those who watch the events (read models, notifications, webhooks) need not read
        /// the order.
        #[serde(default)]
        lines: Vec<EventLine>,
        #[serde(default)]
        total: Option<Money>,
        /// The order's short number (`#1042`), for people; absent on orders placed before
        /// numbers existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<i64>,
    },
    OrderTransitionRefused {
        order_id: OrderId,
        user_id: UserId,
        status: OrderStatus,
        requested: OrderStatus,
        by: String,
        reason: String,
        version: i64,
        at: DateTime<Utc>,
    },
    StockAdjusted {
        product_id: ProductId,
        adjustment_id: String,
        delta: i64,
        balance_after: i64,
    },
    StockAdjustmentRefused {
        product_id: ProductId,
        adjustment_id: String,
        delta: i64,
        reason: String,
    },
    StockLow {
        product_id: ProductId,
        stock: i64,
        threshold: i64,
    },
    ProductImageReady {
        product_id: ProductId,
        url: String,
        width: u32,
        height: u32,
    },
    ProductImageFailed {
        product_id: ProductId,
        reason: String,
    },
}

impl Event {
    /// The routing key on the events exchange.
    pub fn routing_key(&self) -> &'static str {
        use crate::routing::event_keys as k;
        match self {
            Event::OrderStatusChanged { .. } => k::ORDER_STATUS_CHANGED,
            Event::OrderTransitionRefused { .. } => k::ORDER_TRANSITION_REFUSED,
            Event::StockAdjusted { .. } => k::STOCK_ADJUSTED,
            Event::StockAdjustmentRefused { .. } => k::STOCK_ADJUSTMENT_REFUSED,
            Event::StockLow { .. } => k::STOCK_LOW,
            Event::ProductImageReady { .. } => k::PRODUCT_IMAGE_READY,
            Event::ProductImageFailed { .. } => k::PRODUCT_IMAGE_FAILED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_carry_type_and_payload() {
        let order_id = OrderId::new();
        let envelope = Envelope::new(
            order_id.to_string(),
            "req-1",
            OrderMessage::PlaceOrder {
                order_id: order_id.clone(),
            },
        );
        let json = serde_json::to_value(&envelope).expect("serialise");
        assert_eq!(json["type"], "PlaceOrder");
        assert_eq!(json["payload"]["order_id"], order_id.as_str());
        assert_eq!(json["version"], 1);
        assert_eq!(json["correlation_id"], order_id.as_str());
        let back: Envelope<OrderMessage> = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, envelope);
    }

    #[test]
    fn a_message_for_another_queue_does_not_parse() {
        let envelope = Envelope::new(
            "p",
            "r",
            ImageCommand::UploadProductImage {
                product_id: ProductId::new(),
                upload_id: "u".into(),
                staged_id: "s".into(),
                content_type: crate::domain::ImageType::Png,
            },
        );
        let bytes = serde_json::to_vec(&envelope).expect("serialise");
        assert!(serde_json::from_slice::<Envelope<StockCommand>>(&bytes).is_err());
    }

    #[test]
    fn invalid_quantities_do_not_parse() {
        let json = serde_json::json!({
            "message_id": MessageId::new(), "version": 1, "correlation_id": "o", "causation_id": "c",
            "occurred_at": "2026-01-01T00:00:00Z", "type": "ReserveStock",
            "payload": {"order_id": OrderId::new(), "product_id": ProductId::new(), "quantity": 0, "reply_to": "q"}
        });
        assert!(serde_json::from_value::<Envelope<StockCommand>>(json).is_err());
    }

    #[test]
    fn reject_reason_codes_are_their_serialised_names() {
        for reason in RejectReason::ALL {
            let json = serde_json::to_value(reason).expect("serialise");
            assert_eq!(json, reason.code());
            assert_eq!(RejectReason::from_code(reason.code()), Some(reason));
        }
        assert_eq!(RejectReason::from_code("nope"), None);
    }

    #[test]
    fn follow_keeps_the_story() {
        let first = Envelope::new(
            "order-1",
            "request-1",
            OrderMessage::PlaceOrder {
                order_id: OrderId::new(),
            },
        );
        let next = first.follow(Event::StockLow {
            product_id: ProductId::new(),
            stock: 1,
            threshold: 5,
        });
        assert_eq!(next.correlation_id, "order-1");
        assert_eq!(next.causation_id, first.message_id.to_string());
    }
}
