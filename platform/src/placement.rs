//! Where a new order is decided, the one rule the API (placing it) and the reconciler
//! (placing it again) share: whole, by the one stock partition that owns all its products,
//! or through its order worker's reservation saga when its products span partitions.

use oms_contracts::messages::{Envelope, OrderMessage, StockCommand};
use oms_contracts::routing::{orders_queue_for, single_stock_partition, stock_queue};

use crate::broker::Outgoing;
use crate::store::OrderDoc;

/// The message that starts deciding `order`, caused by `causation_id`.
pub fn placement(order: &OrderDoc, partitions: u32, causation_id: &str) -> Outgoing {
    let lines = order.lines();
    match single_stock_partition(lines.iter().map(|l| &l.product_id), partitions) {
        Some(k) => {
            let place = StockCommand::PlaceOrder {
                order_id: order.id.clone(),
                user_id: order.user_id.clone(),
                lines,
                number: order.number,
            };
            Outgoing::command(
                stock_queue(k),
                &Envelope::new(order.id.to_string(), causation_id, place),
            )
        }
        None => Outgoing::command(
            orders_queue_for(&order.id, partitions),
            &Envelope::new(
                order.id.to_string(),
                causation_id,
                OrderMessage::PlaceOrder {
                    order_id: order.id.clone(),
                },
            ),
        ),
    }
}
