//! The order process manager's decisions, as a pure function of the order and one message:
//! what the order becomes and which messages must go out. The handler applies a decision
//! with a conditional write on the order's version, then publishes its messages.
//!
//! Stock is released by sending `ReleaseStock` for every line that is reserved or may still
//! become reserved; the stock worker makes each release happen once and refuses a
//! reservation that arrives after its line's release, so late replies cannot leak stock.

use chrono::{DateTime, Utc};
use oms_contracts::messages::{Event, HistoryEntry, OrderMessage, RejectReason, StockCommand};
use oms_contracts::order::{self, Actor};
use oms_contracts::routing::{orders_queue_for, stock_queue_for};
use oms_contracts::{Money, OrderStatus, ProductId};
use oms_platform::store::{LineReservation, OrderDoc};

/// A message the decision sends.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Stock { queue: String, command: StockCommand },
    Event(Event),
}

#[derive(Debug, Default)]
pub struct Decision {
    /// The order's next state, when it changes: one version on from the order decided on, so
    /// that several changes decided in one batch announce distinct, increasing versions
    /// (outbox and timestamps are the handler's).
    pub next: Option<OrderDoc>,
    pub outputs: Vec<Output>,
}

/// The start of a change of `order`: a copy of it, one version on.
pub fn change(order: &OrderDoc) -> OrderDoc {
    let mut next = order.clone();
    next.version = order.version + 1;
    next
}

/// Records in `next` (a [`change`]) that it moved from `from` to `to`, and returns the event
/// that announces it, carrying `next`'s version.
pub fn record_status(
    next: &mut OrderDoc,
    from: OrderStatus,
    to: OrderStatus,
    by: &str,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> Event {
    next.status = to;
    next.history.push(HistoryEntry {
        from: Some(from),
        to,
        by: by.to_string(),
        at: now,
        reason: reason.clone(),
        refused: false,
        version: Some(next.version),
    });
    Event::OrderStatusChanged {
        order_id: next.id.clone(),
        user_id: next.user_id.clone(),
        from: Some(from),
        to,
        by: by.to_string(),
        reason,
        version: next.version,
        at: now,
        lines: next.event_lines(),
        total: next.total,
        number: next.number,
    }
}

/// The event that announced `entry` of `order`'s history, rebuilt from the history (for a
/// decision whose event may not have gone out before a crash). `None` for a refusal or an
/// entry recorded without its version.
pub fn replay_event(order: &OrderDoc, entry: &HistoryEntry) -> Option<Event> {
    if entry.refused {
        return None;
    }
    Some(Event::OrderStatusChanged {
        order_id: order.id.clone(),
        user_id: order.user_id.clone(),
        from: entry.from,
        to: entry.to,
        by: entry.by.clone(),
        reason: entry.reason.clone(),
        version: entry.version?,
        at: entry.at,
        lines: order.event_lines(),
        total: order.total,
        number: order.number,
    })
}

impl Decision {
    fn nothing() -> Self {
        Self::default()
    }
}

pub struct Context {
    pub partitions: u32,
    pub now: DateTime<Utc>,
}

pub fn decide(order: &OrderDoc, message: &OrderMessage, ctx: &Context) -> Decision {
    match message {
        OrderMessage::PlaceOrder { .. } => place(order, ctx),
        OrderMessage::StockReserved {
            product_id,
            unit_price,
            product_name,
            ..
        } => reserved(order, product_id, *unit_price, product_name, ctx),
        OrderMessage::StockRejected {
            product_id, reason, ..
        } => rejected(order, product_id, *reason, ctx),
        OrderMessage::StockReleased { product_id, .. } => released(order, product_id),
        OrderMessage::CancelOrder {
            by, actor, reason, ..
        } => request(
            order,
            OrderStatus::Cancelled,
            *actor,
            by.as_str(),
            reason.as_ref().map(|r| r.as_str().to_string()),
            ctx,
        ),
        OrderMessage::TransitionOrder { to, by, reason, .. } => request(
            order,
            *to,
            Actor::Admin,
            by.as_str(),
            reason.as_ref().map(|r| r.as_str().to_string()),
            ctx,
        ),
        OrderMessage::AbandonOrder { reason, .. } => {
            if order.status != OrderStatus::Pending {
                return Decision::nothing();
            }
            let mut next = change(order);
            for line in next
                .items
                .iter_mut()
                .filter(|l| l.reservation == LineReservation::Pending)
            {
                line.reject_reason = Some(RejectReason::Unavailable);
            }
            finish(
                next,
                order.status,
                OrderStatus::Rejected,
                "system",
                Some(reason.as_str().to_string()),
                ctx,
            )
        }
    }
}

/// Start (or, for the reconciler, re-send) the reservations of a `PENDING` order.
fn place(order: &OrderDoc, ctx: &Context) -> Decision {
    if order.status != OrderStatus::Pending {
        return Decision::nothing();
    }
    let reply_to = orders_queue_for(&order.id, ctx.partitions);
    let outputs = order
        .items
        .iter()
        .filter(|line| line.reservation == LineReservation::Pending)
        .map(|line| Output::Stock {
            queue: stock_queue_for(&line.product_id, ctx.partitions),
            command: StockCommand::ReserveStock {
                order_id: order.id.clone(),
                product_id: line.product_id.clone(),
                quantity: line.quantity,
                reply_to: reply_to.clone(),
            },
        })
        .collect();
    let next = (!order.dispatched).then(|| {
        let mut next = change(order);
        next.dispatched = true;
        next
    });
    Decision { next, outputs }
}

fn line_index(order: &OrderDoc, product_id: &ProductId) -> Option<usize> {
    order.items.iter().position(|l| l.product_id == *product_id)
}

fn reserved(
    order: &OrderDoc,
    product_id: &ProductId,
    unit_price: Money,
    product_name: &str,
    ctx: &Context,
) -> Decision {
    let Some(i) = line_index(order, product_id) else {
        return Decision::nothing();
    };
    if order.status != OrderStatus::Pending || order.items[i].reservation != LineReservation::Pending {
        // A duplicate, or a reservation of a line already being released: nothing to do.
        return Decision::nothing();
    }
    let mut next = change(order);
    let line = &mut next.items[i];
    line.reservation = LineReservation::Reserved;
    line.name = Some(product_name.to_string());
    line.unit_price = Some(unit_price);
    line.line_total = Some(unit_price.amount.saturating_mul(i64::from(line.quantity)));
    if next
        .items
        .iter()
        .any(|l| l.reservation != LineReservation::Reserved)
    {
        return Decision {
            next: Some(next),
            outputs: Vec::new(),
        };
    }
    let currency = unit_price.currency;
    if next
        .items
        .iter()
        .any(|l| l.unit_price.is_some_and(|p| p.currency != currency))
    {
        for line in &mut next.items {
            line.reject_reason = Some(RejectReason::CurrencyMismatch);
        }
        return finish(
            next,
            order.status,
            OrderStatus::Rejected,
            "system",
            Some(RejectReason::CurrencyMismatch.describe().into()),
            ctx,
        );
    }
    let amount = next
        .items
        .iter()
        .filter_map(|l| l.line_total)
        .fold(0i64, i64::saturating_add);
    next.total = Some(Money { amount, currency });
    finish(next, order.status, OrderStatus::Placed, "system", None, ctx)
}

fn rejected(order: &OrderDoc, product_id: &ProductId, reason: RejectReason, ctx: &Context) -> Decision {
    let Some(i) = line_index(order, product_id) else {
        return Decision::nothing();
    };
    match (order.status, order.items[i].reservation) {
        (OrderStatus::Pending, LineReservation::Pending) => {
            let mut next = change(order);
            next.items[i].reservation = LineReservation::Rejected;
            next.items[i].reject_reason = Some(reason);
            let why = format!("{}: {}", order.items[i].product_id, reason.describe());
            finish(
                next,
                order.status,
                OrderStatus::Rejected,
                "system",
                Some(why),
                ctx,
            )
        }
        (_, LineReservation::Releasing) => {
            // The reservation was refused (or came after its release): nothing is held.
            let mut next = change(order);
            next.items[i].reservation = LineReservation::Released;
            Decision {
                next: Some(next),
                outputs: Vec::new(),
            }
        }
        _ => Decision::nothing(),
    }
}

fn released(order: &OrderDoc, product_id: &ProductId) -> Decision {
    let Some(i) = line_index(order, product_id) else {
        return Decision::nothing();
    };
    if order.items[i].reservation != LineReservation::Releasing {
        return Decision::nothing();
    }
    let mut next = change(order);
    next.items[i].reservation = LineReservation::Released;
    Decision {
        next: Some(next),
        outputs: Vec::new(),
    }
}

/// A cancel or an admin transition: checked against the state machine now, because the
/// status may have changed since the API looked. A refusal is recorded and announced.
fn request(
    order: &OrderDoc,
    to: OrderStatus,
    actor: Actor,
    by: &str,
    reason: Option<String>,
    ctx: &Context,
) -> Decision {
    match order::transition(order.status, to, actor) {
        Ok(()) => finish(change(order), order.status, to, by, reason, ctx),
        Err(refusal) => {
            let mut next = change(order);
            next.history.push(HistoryEntry {
                from: Some(order.status),
                to,
                by: by.to_string(),
                at: ctx.now,
                reason: Some(refusal.to_string()),
                refused: true,
                version: Some(next.version),
            });
            let event = Event::OrderTransitionRefused {
                order_id: order.id.clone(),
                user_id: order.user_id.clone(),
                status: order.status,
                requested: to,
                by: by.to_string(),
                reason: refusal.to_string(),
                version: next.version,
                at: ctx.now,
            };
            Decision {
                next: Some(next),
                outputs: vec![Output::Event(event)],
            }
        }
    }
}

/// Moves `next` (a [`change`], already carrying its line changes) from `from` to `to`:
/// history, event, and — when the order ends without delivery — the release of every line
/// that holds or may still get stock.
fn finish(
    mut next: OrderDoc,
    from: OrderStatus,
    to: OrderStatus,
    by: &str,
    reason: Option<String>,
    ctx: &Context,
) -> Decision {
    let mut outputs = Vec::new();
    if matches!(to, OrderStatus::Cancelled | OrderStatus::Rejected) {
        let order_id = next.id.clone();
        let reply_to = orders_queue_for(&order_id, ctx.partitions);
        for line in next.items.iter_mut() {
            if matches!(
                line.reservation,
                LineReservation::Reserved | LineReservation::Pending
            ) {
                line.reservation = LineReservation::Releasing;
                outputs.push(Output::Stock {
                    queue: stock_queue_for(&line.product_id, ctx.partitions),
                    command: StockCommand::ReleaseStock {
                        order_id: order_id.clone(),
                        product_id: line.product_id.clone(),
                        reply_to: reply_to.clone(),
                    },
                });
            }
        }
    }
    outputs.push(Output::Event(record_status(
        &mut next, from, to, by, reason, ctx.now,
    )));
    Decision {
        next: Some(next),
        outputs,
    }
}
