//! Where messages go: exchange and queue names, queue arguments, and the partition function.
//! Queue arguments are part of the contract: RabbitMQ refuses to re-declare a queue with
//! other arguments (`PRECONDITION_FAILED`), so every process must declare them identically.

use crate::ids::{OrderId, ProductId};

/// Direct exchange for work; the routing key is the destination queue's name.
pub const COMMANDS_EXCHANGE: &str = "oms.commands";
/// Topic exchange for facts anyone may watch.
pub const EVENTS_EXCHANGE: &str = "oms.events";
/// Direct exchange for dead letters; the routing key is the queue the message died in.
pub const DEAD_LETTER_EXCHANGE: &str = "oms.dlx";

/// The image-upload queue: competing consumers, no ordering needed.
pub const IMAGES_QUEUE: &str = "oms.images";

/// The analytics projection's queue: every order status event, one active consumer. Declared
/// with the rest of the topology, so that events wait for the projection while it is down.
pub const ANALYTICS_QUEUE: &str = "oms.analytics";
/// The notifications worker's queue: every order event, for the shoppers' in-app inboxes.
pub const NOTIFICATIONS_QUEUE: &str = "oms.notifications";
/// The webhook worker's queue: every event some webhook type covers, fanned out to the
/// endpoints' deliveries in the order they were published (single active consumer).
pub const WEBHOOKS_QUEUE: &str = "oms.webhooks";

/// A delivery returned to its queue this many times is dead-lettered. Every unacked delivery
/// of a consumer that dies counts once (up to the prefetch of them), so the limit is generous:
/// it exists for messages that crash their consumer, not for fail-overs.
pub const DELIVERY_LIMIT: i64 = 50;

/// Routing keys on the events exchange.
pub mod event_keys {
    pub const ORDER_STATUS_CHANGED: &str = "order.status_changed";
    pub const ORDER_TRANSITION_REFUSED: &str = "order.transition_refused";
    pub const STOCK_ADJUSTED: &str = "stock.adjusted";
    pub const STOCK_ADJUSTMENT_REFUSED: &str = "stock.adjustment_refused";
    pub const STOCK_LOW: &str = "stock.low";
    pub const PRODUCT_IMAGE_READY: &str = "product.image_ready";
    pub const PRODUCT_IMAGE_FAILED: &str = "product.image_failed";
    /// Binding that receives every order event.
    pub const ALL_ORDER_EVENTS: &str = "order.#";
}

/// The kinds of queue OMS declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QueueKind {
    /// `oms.stock.<k>`: stock changes, one active consumer per partition.
    Stock,
    /// `oms.orders.<k>`: each order's process manager, one active consumer per partition.
    Orders,
    /// `oms.images`: image uploads, competing consumers.
    Images,
    /// `oms.notifications`: order events for the in-app inboxes, bound to `oms.events`.
    Notifications,
    /// `oms.webhooks`: events for webhook endpoints, bound to `oms.events`, one active consumer.
    Webhooks,
}

/// A queue OMS declares, with its dead-letter queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSpec {
    pub kind: QueueKind,
    pub name: String,
    pub partition: Option<u32>,
}

impl QueueSpec {
    /// Partitioned queues need a single active consumer: that is what serialises a product's
    /// stock changes and an order's transitions, while a standby takes over when it dies.
    pub fn single_active_consumer(&self) -> bool {
        matches!(
            self.kind,
            QueueKind::Stock | QueueKind::Orders | QueueKind::Webhooks
        )
    }

    /// The routing keys on `oms.events` this queue is bound with (none for command queues).
    pub fn event_bindings(&self) -> &'static [&'static str] {
        match self.kind {
            QueueKind::Notifications => &[event_keys::ORDER_STATUS_CHANGED],
            QueueKind::Webhooks => &[
                event_keys::ORDER_STATUS_CHANGED,
                event_keys::STOCK_LOW,
                event_keys::PRODUCT_IMAGE_READY,
                event_keys::PRODUCT_IMAGE_FAILED,
            ],
            QueueKind::Stock | QueueKind::Orders | QueueKind::Images => &[],
        }
    }

    pub fn dead_letter_queue(&self) -> String {
        dead_letter_queue(&self.name)
    }
}

pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dlq")
}

pub fn stock_queue(partition: u32) -> String {
    format!("oms.stock.{partition}")
}

pub fn orders_queue(partition: u32) -> String {
    format!("oms.orders.{partition}")
}

/// Every queue of a deployment with `partitions` stock and order partitions.
pub fn all_queues(partitions: u32) -> Vec<QueueSpec> {
    let stock = (0..partitions).map(|k| QueueSpec {
        kind: QueueKind::Stock,
        name: stock_queue(k),
        partition: Some(k),
    });
    let orders = (0..partitions).map(|k| QueueSpec {
        kind: QueueKind::Orders,
        name: orders_queue(k),
        partition: Some(k),
    });
    let images = std::iter::once(QueueSpec {
        kind: QueueKind::Images,
        name: IMAGES_QUEUE.to_string(),
        partition: None,
    });
    let watchers = [
        (QueueKind::Notifications, NOTIFICATIONS_QUEUE),
        (QueueKind::Webhooks, WEBHOOKS_QUEUE),
    ]
    .map(|(kind, name)| QueueSpec {
        kind,
        name: name.to_string(),
        partition: None,
    });
    stock.chain(orders).chain(images).chain(watchers).collect()
}

/// The partition of a key: 64-bit FNV-1a of its UTF-8 bytes, modulo `partitions`.
/// Stable across processes, platforms and releases; changing it would route one product's
/// commands to two queues at once, so the test below pins its values.
pub fn partition_of(key: &str, partitions: u32) -> u32 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let hash = key
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    (hash % u64::from(partitions.max(1))) as u32
}

/// The stock queue that serialises `product`'s stock changes.
pub fn stock_queue_for(product: &ProductId, partitions: u32) -> String {
    stock_queue(partition_of(product.as_str(), partitions))
}

/// The one stock partition that owns every product of an order, if there is one: such an
/// order is decided whole by that partition's stock worker (`StockCommand::PlaceOrder`);
/// an order whose products span partitions goes through its order worker's reservation saga.
pub fn single_stock_partition<'a>(
    products: impl IntoIterator<Item = &'a ProductId>,
    partitions: u32,
) -> Option<u32> {
    let mut owners = products.into_iter().map(|p| partition_of(p.as_str(), partitions));
    let first = owners.next()?;
    owners.all(|k| k == first).then_some(first)
}

/// The order queue that serialises `order`'s transitions.
pub fn orders_queue_for(order: &OrderId, partitions: u32) -> String {
    orders_queue(partition_of(order.as_str(), partitions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_function_is_pinned() {
        // These values must never change for a running deployment.
        assert_eq!(partition_of("", 8), (0xcbf2_9ce4_8422_2325u64 % 8) as u32);
        let pinned = [
            ("0190f5a2-1c3b-7d4e-8f00-0123456789ab", 8, 4),
            ("0190f5a2-1c3b-7d4e-8f00-0123456789ac", 8, 7),
            ("00000000-0000-0000-0000-000000000000", 8, 1),
            ("ffffffff-ffff-ffff-ffff-ffffffffffff", 8, 1),
            ("0190f5a2-1c3b-7d4e-8f00-0123456789ab", 4, 0),
            ("0190f5a2-1c3b-7d4e-8f00-0123456789ab", 16, 12),
            // FNV-1a("a") = 0xaf63dc4c8601ec8c, the published test vector.
            ("a", 1000, (0xaf63_dc4c_8601_ec8cu64 % 1000) as u32),
        ];
        for (key, n, expected) in pinned {
            assert_eq!(partition_of(key, n), expected, "partition_of({key:?}, {n})");
        }
    }

    #[test]
    fn partitions_spread_keys() {
        let mut counts = [0u32; 8];
        for _ in 0..8000 {
            counts[partition_of(ProductId::new().as_str(), 8) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 700), "skewed: {counts:?}");
    }

    #[test]
    fn an_order_is_whole_when_one_partition_owns_all_its_products() {
        let products: Vec<ProductId> = (0..40).map(|_| ProductId::new()).collect();
        let (a, b) = (&products[0], &products[1]);
        assert_eq!(single_stock_partition([a], 4), Some(partition_of(a.as_str(), 4)));
        assert_eq!(single_stock_partition([a, b], 1), Some(0));
        let other = products
            .iter()
            .find(|p| partition_of(p.as_str(), 4) != partition_of(a.as_str(), 4))
            .expect("some product in another partition");
        assert_eq!(single_stock_partition([a, other], 4), None);
        assert_eq!(single_stock_partition(std::iter::empty(), 4), None);
    }

    #[test]
    fn every_queue_is_named_once() {
        let queues = all_queues(4);
        assert_eq!(queues.len(), 11);
        assert_eq!(queues[0].name, "oms.stock.0");
        assert_eq!(queues[4].name, "oms.orders.0");
        assert_eq!(queues[8].name, "oms.images");
        assert_eq!(queues[8].dead_letter_queue(), "oms.images.dlq");
        assert!(queues[0].single_active_consumer());
        assert!(!queues[8].single_active_consumer());
        assert_eq!(queues[9].name, NOTIFICATIONS_QUEUE);
        assert_eq!(queues[10].name, WEBHOOKS_QUEUE);
        assert!(queues[10].single_active_consumer());
        assert!(queues[0].event_bindings().is_empty());
    }
}
