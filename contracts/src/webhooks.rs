//! Webhooks as integrators see them: the event types an endpoint subscribes to, and how an
//! event on `oms.events` becomes the `{type, timestamp, data}` a webhook delivers, with the
//! stable id receivers de-duplicate by and the key deliveries are ordered by.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::Invalid;
use crate::messages::{Envelope, Event};
use crate::order::OrderStatus;

/// An event type an endpoint may subscribe to, as SPEC names it (`order.shipped`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum WebhookEventType {
    #[serde(rename = "order.placed")]
    OrderPlaced,
    #[serde(rename = "order.rejected")]
    OrderRejected,
    #[serde(rename = "order.confirmed")]
    OrderConfirmed,
    #[serde(rename = "order.shipped")]
    OrderShipped,
    #[serde(rename = "order.delivered")]
    OrderDelivered,
    #[serde(rename = "order.cancelled")]
    OrderCancelled,
    #[serde(rename = "product.low_stock")]
    ProductLowStock,
    #[serde(rename = "product.image_ready")]
    ProductImageReady,
    #[serde(rename = "product.image_failed")]
    ProductImageFailed,
}

impl WebhookEventType {
    pub const ALL: [WebhookEventType; 9] = [
        WebhookEventType::OrderPlaced,
        WebhookEventType::OrderRejected,
        WebhookEventType::OrderConfirmed,
        WebhookEventType::OrderShipped,
        WebhookEventType::OrderDelivered,
        WebhookEventType::OrderCancelled,
        WebhookEventType::ProductLowStock,
        WebhookEventType::ProductImageReady,
        WebhookEventType::ProductImageFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEventType::OrderPlaced => "order.placed",
            WebhookEventType::OrderRejected => "order.rejected",
            WebhookEventType::OrderConfirmed => "order.confirmed",
            WebhookEventType::OrderShipped => "order.shipped",
            WebhookEventType::OrderDelivered => "order.delivered",
            WebhookEventType::OrderCancelled => "order.cancelled",
            WebhookEventType::ProductLowStock => "product.low_stock",
            WebhookEventType::ProductImageReady => "product.image_ready",
            WebhookEventType::ProductImageFailed => "product.image_failed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| Invalid::new(format!("{raw:?} is not an event type")))
    }

    /// The type announcing an order's move to `status` (none for `PENDING`: nothing to tell).
    pub fn of_status(status: OrderStatus) -> Option<Self> {
        Some(match status {
            OrderStatus::Pending => return None,
            OrderStatus::Placed => WebhookEventType::OrderPlaced,
            OrderStatus::Rejected => WebhookEventType::OrderRejected,
            OrderStatus::Confirmed => WebhookEventType::OrderConfirmed,
            OrderStatus::Shipped => WebhookEventType::OrderShipped,
            OrderStatus::Delivered => WebhookEventType::OrderDelivered,
            OrderStatus::Cancelled => WebhookEventType::OrderCancelled,
        })
    }
}

impl fmt::Display for WebhookEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event as webhooks deliver it.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookEvent {
    /// The `webhook-id`: the same for every attempt and every redelivery of the event (an
    /// order's change is named by the order and its version, not by the message that carried it).
    pub id: String,
    pub kind: WebhookEventType,
    /// Deliveries to one endpoint with the same key go out in `seq` order: the order (or product).
    pub ordering_key: String,
    pub seq: i64,
    pub timestamp: DateTime<Utc>,
    pub data: serde_json::Value,
}

impl WebhookEvent {
    /// The webhook event an event on `oms.events` makes, if any type covers it.
    pub fn from_envelope(envelope: &Envelope<Event>) -> Option<Self> {
        let millis = envelope.occurred_at.timestamp_millis();
        let message = || format!("evt_{}", envelope.message_id.as_str().replace('-', ""));
        match &envelope.body {
            Event::OrderStatusChanged {
                order_id,
                user_id,
                from,
                to,
                reason,
                version,
                at,
                lines,
                total,
                number,
                ..
            } => Some(Self {
                id: format!("evt_{}_{version}", order_id.as_str().replace('-', "")),
                kind: WebhookEventType::of_status(*to)?,
                ordering_key: format!("order:{order_id}"),
                seq: *version,
                timestamp: *at,
                data: serde_json::json!({
                    "order_id": order_id,
                    "number": number,
                    "user_id": user_id,
                    "status": to,
                    "from": from,
                    "reason": reason,
                    "version": version,
                    "lines": lines.iter().map(|l| serde_json::json!({
                        "product_id": l.product_id,
                        "quantity": l.quantity,
                        "name": l.name,
                        "unit_price": l.unit_price,
                    })).collect::<Vec<_>>(),
                    "total": total,
                }),
            }),
            Event::StockLow {
                product_id,
                stock,
                threshold,
            } => Some(Self {
                id: message(),
                kind: WebhookEventType::ProductLowStock,
                ordering_key: format!("product:{product_id}"),
                seq: millis,
                timestamp: envelope.occurred_at,
                data: serde_json::json!({"product_id": product_id, "stock": stock, "threshold": threshold}),
            }),
            Event::ProductImageReady {
                product_id,
                url,
                width,
                height,
            } => Some(Self {
                id: message(),
                kind: WebhookEventType::ProductImageReady,
                ordering_key: format!("product:{product_id}"),
                seq: millis,
                timestamp: envelope.occurred_at,
                data: serde_json::json!({"product_id": product_id, "url": url, "width": width, "height": height}),
            }),
            Event::ProductImageFailed { product_id, reason } => Some(Self {
                id: message(),
                kind: WebhookEventType::ProductImageFailed,
                ordering_key: format!("product:{product_id}"),
                seq: millis,
                timestamp: envelope.occurred_at,
                data: serde_json::json!({"product_id": product_id, "reason": reason}),
            }),
            _ => None,
        }
    }

    /// The body every attempt posts: `{type, timestamp, data}`.
    pub fn body(&self) -> String {
        serde_json::json!({
            "type": self.kind,
            "timestamp": self.timestamp.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": self.data,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{OrderId, UserId};

    fn changed(to: OrderStatus, version: i64) -> Envelope<Event> {
        Envelope::new(
            "o",
            "c",
            Event::OrderStatusChanged {
                order_id: OrderId::parse("0190f5a2-1c3b-7d4e-8f00-0123456789ab").expect("id"),
                user_id: UserId::new(),
                from: Some(OrderStatus::Confirmed),
                to,
                by: "admin".into(),
                reason: None,
                version,
                at: Utc::now(),
                lines: vec![],
                total: None,
                number: Some(1042),
            },
        )
    }

    #[test]
    fn event_types_are_named_as_spec_says() {
        for t in WebhookEventType::ALL {
            assert_eq!(serde_json::to_value(t).expect("json"), t.as_str());
            assert_eq!(WebhookEventType::parse(t.as_str()), Ok(t));
        }
        assert!(WebhookEventType::parse("order.status_changed").is_err());
    }

    #[test]
    fn an_order_change_keeps_its_id_whatever_message_carries_it() {
        let a = WebhookEvent::from_envelope(&changed(OrderStatus::Shipped, 4)).expect("event");
        let b = WebhookEvent::from_envelope(&changed(OrderStatus::Shipped, 4)).expect("event");
        assert_eq!(a.id, b.id);
        assert_eq!(a.id, "evt_0190f5a21c3b7d4e8f000123456789ab_4");
        assert_eq!(a.kind, WebhookEventType::OrderShipped);
        assert_eq!(a.seq, 4);
        let body: serde_json::Value = serde_json::from_str(&a.body()).expect("json");
        assert_eq!(body["type"], "order.shipped");
        assert_eq!(body["data"]["status"], "SHIPPED");
        assert!(WebhookEvent::from_envelope(&changed(OrderStatus::Pending, 1)).is_none());
    }
}
