//! The shared language of OMS: identifiers, validated domain values, message envelopes,
//! commands and events, routing (exchange and queue names, the partition function) and
//! the order state machine. Nothing in this crate performs I/O.

pub mod analytics;
pub mod domain;
pub mod ids;
pub mod messages;
pub mod order;
pub mod routing;
pub mod webhooks;

pub use domain::{Invalid, Money, Role};
pub use ids::{DeliveryId, MessageId, OrderId, ProductId, UserId, WebhookId};
pub use order::{Actor, OrderStatus, TransitionError};
