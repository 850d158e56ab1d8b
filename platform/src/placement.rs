//! Where a new order is decided, the one rule the API (placing it) and the reconciler
//! (placing it again) share: whole, by the one stock partition that owns all its products,
//! or through its order worker's reservation saga when its products span partitions.

use oms_contracts::messages::{Envelope, OrderMessage, StockCommand};
use oms_contracts::routing::{orders_queue_for, single_stock_partition, stock_queue};
use oms_contracts::{OrderId, UserId};

use crate::broker::Outgoing;
use crate::store::OrderDoc;

/// The message that starts deciding `order`, caused by `causation_id`; `None` when the stored
/// order's ids are malformed.
pub fn placement(order: &OrderDoc, partitions: u32, causation_id: &str) -> Option<Outgoing> {
    let order_id = OrderId::parse(&order.id).ok()?;
    let lines = order.lines();
    if lines.len() != order.items.len() {
        return None;
    }
    Some(
        match single_stock_partition(lines.iter().map(|l| &l.product_id), partitions) {
            Some(k) => {
                let place = StockCommand::PlaceOrder {
                    order_id,
                    user_id: UserId::parse(&order.user_id).ok()?,
                    lines,
                };
                Outgoing::command(
                    stock_queue(k),
                    &Envelope::new(order.id.clone(), causation_id, place),
                )
            }
            None => Outgoing::command(
                orders_queue_for(&order_id, partitions),
                &Envelope::new(
                    order.id.clone(),
                    causation_id,
                    OrderMessage::PlaceOrder { order_id },
                ),
            ),
        },
    )
}
