//! One test per rule of [`super`]: what each command decides against a running balance.

use oms_contracts::domain::{Currency, Quantity, Reason, StockDelta};
use oms_contracts::messages::OrderLine;
use oms_contracts::{OrderId, UserId};

use oms_contracts::OrderStatus;
use oms_contracts::messages::RejectReason;
use oms_contracts::routing::partition_of;
use oms_platform::store::{LedgerKind, LedgerOutcome, LineReservation, Refusal};

use super::*;

fn usd(amount: i64) -> Money {
    Money {
        amount,
        currency: Currency::USD,
    }
}

fn view(stock: i64) -> ProductView {
    ProductView {
        stock,
        active: true,
        price: usd(100),
        name: "Widget".into(),
        threshold: 2,
    }
}

fn ctx() -> Context {
    Context {
        partition: 0,
        partitions: 1,
        now: Utc::now(),
    }
}

fn read_with(products: &[(&ProductId, ProductView)]) -> Read {
    Read {
        products: products
            .iter()
            .map(|(id, v)| ((*id).clone(), v.clone()))
            .collect(),
        ..Read::default()
    }
}

fn reserve(order: &OrderId, product: &ProductId, q: u32) -> StockCommand {
    StockCommand::ReserveStock {
        order_id: order.clone(),
        product_id: product.clone(),
        quantity: Quantity::parse(i64::from(q)).expect("a valid quantity"),
        reply_to: "oms.orders.0".into(),
    }
}

fn release(order: &OrderId, product: &ProductId) -> StockCommand {
    StockCommand::ReleaseStock {
        order_id: order.clone(),
        product_id: product.clone(),
        reply_to: "oms.orders.0".into(),
    }
}

fn adjust(id: &str, product: &ProductId, delta: i64) -> StockCommand {
    StockCommand::AdjustStock {
        adjustment_id: id.into(),
        product_id: product.clone(),
        delta: StockDelta::parse(delta).expect("a valid delta"),
        reason: Reason::parse("count").expect("a valid reason"),
        admin_id: UserId::new(),
    }
}

fn place(order: &OrderDoc) -> StockCommand {
    StockCommand::PlaceOrder {
        order_id: order.id.clone(),
        user_id: order.user_id.clone(),
        lines: order.lines(),
        number: order.number,
    }
}

fn pending_order(lines: &[(&ProductId, i64)]) -> OrderDoc {
    let lines: Vec<OrderLine> = lines
        .iter()
        .map(|(p, q)| OrderLine {
            product_id: (*p).clone(),
            quantity: Quantity::parse(*q).expect("quantity"),
        })
        .collect();
    OrderDoc::placed(
        &OrderId::new(),
        &UserId::new(),
        &lines,
        None,
        "h".into(),
        Utc::now(),
    )
}

fn entries(out: &Decisions) -> Vec<(LedgerKind, LedgerOutcome, i64, i64)> {
    out.decided
        .iter()
        .filter_map(|(d, _)| match d {
            Decided::Entry(e) => Some((e.kind, e.outcome, e.delta, e.balance_after)),
            Decided::Order(_) => None,
        })
        .collect()
}

fn order_outcome(out: &Decisions, i: usize) -> &OrderOutcome {
    match &out.decided[i].0 {
        Decided::Order(o) => o,
        other => panic!("command {i} decided {other:?}"),
    }
}

#[test]
fn reservations_take_the_running_balance_and_never_go_below_zero() {
    let p = ProductId::new();
    let (a, b, c) = (OrderId::new(), OrderId::new(), OrderId::new());
    let mut read = read_with(&[(&p, view(5))]);
    let out = decide(
        &mut read,
        &[reserve(&a, &p, 3), reserve(&b, &p, 3), reserve(&c, &p, 2)],
        ctx(),
    );
    use LedgerKind::Reserve;
    use LedgerOutcome::*;
    assert_eq!(
        entries(&out),
        [
            (Reserve, Applied, -3, 2),
            (Reserve, Rejected, 0, 2),
            (Reserve, Applied, -2, 0)
        ]
    );
    assert_eq!(out.products, [(p.clone(), 5, true, 0)]);
    // 5 → 2 crosses the threshold of 2 once; 2 → 0 does not cross it again.
    let crossings: Vec<usize> = out.decided.iter().map(|(_, c)| c.len()).collect();
    assert_eq!(crossings, [1, 0, 0]);
}

#[test]
fn reservations_of_unknown_or_inactive_products_are_refused_with_their_reason() {
    let (known, inactive, unknown) = (ProductId::new(), ProductId::new(), ProductId::new());
    let order = OrderId::new();
    let mut off = view(9);
    off.active = false;
    let mut read = read_with(&[(&known, view(1)), (&inactive, off)]);
    let out = decide(
        &mut read,
        &[
            reserve(&order, &unknown, 1),
            reserve(&order, &inactive, 1),
            reserve(&order, &known, 2),
        ],
        ctx(),
    );
    let refusals: Vec<Option<Refusal>> = out
        .decided
        .iter()
        .map(|(d, _)| match d {
            Decided::Entry(e) => e.refusal.clone(),
            Decided::Order(_) => None,
        })
        .collect();
    let refused = |reason| Some(Refusal::Reservation { reason });
    assert_eq!(
        refusals,
        [
            refused(RejectReason::UnknownProduct),
            refused(RejectReason::InactiveProduct),
            refused(RejectReason::InsufficientStock)
        ]
    );
    assert!(
        out.entries.iter().all(|e| e.reason.is_none()),
        "a reason is the admin's alone"
    );
    assert!(out.entries.iter().all(|e| e.delta == 0));
}

#[test]
fn a_release_restores_what_its_reservation_took_and_refuses_a_late_reservation() {
    let p = ProductId::new();
    let (a, b) = (OrderId::new(), OrderId::new());
    let mut read = read_with(&[(&p, view(10))]);
    let out = decide(
        &mut read,
        &[
            reserve(&a, &p, 4),
            release(&a, &p),
            release(&b, &p),
            reserve(&b, &p, 1),
            reserve(&a, &p, 4),
        ],
        ctx(),
    );
    use LedgerKind::*;
    use LedgerOutcome::*;
    assert_eq!(
        entries(&out),
        [
            (Reserve, Applied, -4, 6),
            (Release, Applied, 4, 10),
            (Release, Noop, 0, 0),
            (Reserve, Rejected, 0, 0),
            // The same operation again: answered with its first decision.
            (Reserve, Applied, -4, 6),
        ]
    );
    assert_eq!(out.entries.len(), 4, "a repeated command adds no entry");
    assert_eq!(
        out.entries[3].refusal,
        Some(Refusal::Reservation {
            reason: RejectReason::OrderReleased
        })
    );
    assert_eq!(out.products, [(p.clone(), 10, true, 10)]);
}

#[test]
fn a_recorded_operation_is_answered_from_the_ledger_and_not_applied_again() {
    let p = ProductId::new();
    let a = OrderId::new();
    let mut read = read_with(&[(&p, view(10))]);
    let first = decide(&mut read, &[reserve(&a, &p, 4)], ctx());
    let mut redelivered = read_with(&[(&p, view(6))]);
    redelivered.known = first
        .entries
        .iter()
        .map(|e| (e.op_key.clone(), e.clone()))
        .collect();
    let again = decide(&mut redelivered, &[reserve(&a, &p, 4)], ctx());
    assert_eq!(entries(&again), entries(&first));
    assert!(again.entries.is_empty() && again.products.is_empty());
}

#[test]
fn adjustments_never_go_below_zero_and_unknown_products_refuse_them() {
    let p = ProductId::new();
    let mut read = read_with(&[(&p, view(3))]);
    let out = decide(
        &mut read,
        &[
            adjust("1", &p, -3),
            adjust("2", &p, -1),
            adjust("3", &p, 5),
            adjust("4", &ProductId::new(), 1),
        ],
        ctx(),
    );
    let outcomes: Vec<_> = out.entries.iter().map(|e| (e.outcome, e.balance_after)).collect();
    use LedgerOutcome::*;
    assert_eq!(
        outcomes,
        [(Applied, 0), (Rejected, 0), (Applied, 5), (Rejected, 0)]
    );
    // The admin's reason stays the reason; why it was refused is beside it, typed.
    assert_eq!(out.entries[1].reason.as_deref(), Some("count"));
    assert_eq!(out.entries[1].refusal, Some(Refusal::BelowZero { stock: 0 }));
    assert_eq!(
        out.entries[1].refusal.as_ref().map(Refusal::describe).as_deref(),
        Some("it would take the stock below zero (stock is 0)")
    );
    assert_eq!(out.entries[3].refusal, Some(Refusal::NoSuchProduct));
}

#[test]
fn a_whole_order_reserves_every_line_at_the_read_prices_and_is_placed() {
    let (p, q) = (ProductId::new(), ProductId::new());
    let order = pending_order(&[(&p, 2), (&q, 1)]);
    let mut cheap = view(3);
    cheap.price = usd(40);
    let mut read = read_with(&[(&p, view(10)), (&q, cheap)]);
    read.orders.insert(order.id.clone(), order.clone());
    let out = decide(&mut read, &[place(&order)], ctx());

    let OrderOutcome::Decided(Event::OrderStatusChanged {
        to,
        version,
        from,
        lines,
        total,
        ..
    }) = order_outcome(&out, 0)
    else {
        panic!("not decided: {:?}", out.decided);
    };
    assert_eq!(
        (*from, *to, *version),
        (Some(OrderStatus::Pending), OrderStatus::Placed, 1)
    );
    // The event tells watchers what was bought, at what price, without reading the order.
    assert_eq!(*total, Some(usd(240)));
    let priced: Vec<(String, u32, Option<Money>)> = lines
        .iter()
        .map(|l| (l.product_id.to_string(), l.quantity.get(), l.unit_price))
        .collect();
    assert_eq!(
        priced,
        [
            (p.to_string(), 2, Some(usd(100))),
            (q.to_string(), 1, Some(usd(40)))
        ]
    );
    let (read_version, placed) = &out.orders[0];
    assert_eq!(*read_version, 0);
    assert_eq!(placed.status, OrderStatus::Placed);
    assert_eq!(placed.version, 1);
    assert_eq!(placed.total, Some(usd(240)));
    assert!(
        placed
            .items
            .iter()
            .all(|l| l.reservation == LineReservation::Reserved)
    );
    assert_eq!(placed.items[1].line_total, Some(40));
    assert_eq!(placed.history.last().and_then(|h| h.version), Some(1));
    let keys: Vec<&str> = out.entries.iter().map(|e| e.op_key.as_str()).collect();
    assert_eq!(
        keys,
        [
            LedgerDoc::reserve_key(order.id.as_str(), p.as_str()),
            LedgerDoc::reserve_key(order.id.as_str(), q.as_str())
        ]
    );
    let mut written = out.products.clone();
    written.sort();
    let mut expected = vec![(p.clone(), 10, true, 8), (q.clone(), 3, true, 2)];
    expected.sort();
    assert_eq!(written, expected);
    assert_eq!(out.decided[0].1.len(), 1, "q crossed its threshold of 2");
}

#[test]
fn a_whole_order_with_one_refused_line_takes_nothing_and_says_why_per_line() {
    let (p, q, missing) = (ProductId::new(), ProductId::new(), ProductId::new());
    let order = pending_order(&[(&p, 2), (&q, 5), (&missing, 1)]);
    let mut read = read_with(&[(&p, view(10)), (&q, view(4))]);
    read.orders.insert(order.id.clone(), order.clone());
    let out = decide(&mut read, &[place(&order)], ctx());

    let (_, rejected) = &out.orders[0];
    assert_eq!(rejected.status, OrderStatus::Rejected);
    let lines: Vec<_> = rejected
        .items
        .iter()
        .map(|l| (l.reservation, l.reject_reason))
        .collect();
    assert_eq!(
        lines,
        [
            (LineReservation::Released, None),
            (LineReservation::Rejected, Some(RejectReason::InsufficientStock)),
            (LineReservation::Rejected, Some(RejectReason::UnknownProduct)),
        ]
    );
    assert!(
        out.entries.is_empty() && out.products.is_empty(),
        "nothing taken, nothing written"
    );
    assert_eq!(
        rejected.history.last().and_then(|h| h.reason.clone()),
        Some(format!("{q}: not enough stock"))
    );
}

#[test]
fn a_whole_order_priced_in_two_currencies_is_rejected() {
    let (p, q) = (ProductId::new(), ProductId::new());
    let order = pending_order(&[(&p, 1), (&q, 1)]);
    let mut euro = view(5);
    euro.price = Money {
        amount: 100,
        currency: Currency::parse("EUR").expect("currency"),
    };
    let mut read = read_with(&[(&p, view(5)), (&q, euro)]);
    read.orders.insert(order.id.clone(), order.clone());
    let out = decide(&mut read, &[place(&order)], ctx());
    let (_, rejected) = &out.orders[0];
    assert_eq!(rejected.status, OrderStatus::Rejected);
    assert!(
        rejected
            .items
            .iter()
            .all(|l| l.reject_reason == Some(RejectReason::CurrencyMismatch))
    );
    assert!(out.entries.is_empty());
}

#[test]
fn a_redelivered_whole_order_resends_its_decision_and_decides_nothing() {
    let p = ProductId::new();
    let order = pending_order(&[(&p, 1)]);
    let mut read = read_with(&[(&p, view(5))]);
    read.orders.insert(order.id.clone(), order.clone());
    // The same command twice in one batch, then again in a later batch after the decision.
    let out = decide(&mut read, &[place(&order), place(&order)], ctx());
    let (OrderOutcome::Decided(first), OrderOutcome::DecidedBefore(again)) =
        (order_outcome(&out, 0), order_outcome(&out, 1))
    else {
        panic!("{:?}", out.decided);
    };
    assert_eq!(first, again);
    assert_eq!(out.orders.len(), 1);
    assert_eq!(out.entries.len(), 1);

    let decided = out.orders[0].1.clone();
    let mut later = read_with(&[(&p, view(4))]);
    later.orders.insert(decided.id.clone(), decided);
    let out = decide(&mut later, &[place(&order)], ctx());
    assert_eq!(
        order_outcome(&out, 0),
        &OrderOutcome::DecidedBefore(first.clone())
    );
    assert!(out.orders.is_empty() && out.entries.is_empty() && out.products.is_empty());
}

#[test]
fn whole_orders_that_are_withdrawn_ended_in_their_saga_or_elsewhere_are_not_decided() {
    let p = ProductId::new();
    let mut two = ctx();
    two.partitions = 2;
    two.partition = partition_of(p.as_str(), 2);
    let elsewhere = std::iter::repeat_with(ProductId::new)
        .find(|q| partition_of(q.as_str(), 2) != two.partition)
        .expect("a product of the other partition");
    let withdrawn = pending_order(&[(&p, 1)]);
    let mut cancelled = pending_order(&[(&p, 1)]);
    cancelled.status = OrderStatus::Cancelled;
    let mut in_saga = pending_order(&[(&p, 1)]);
    in_saga.dispatched = true;
    let spanning = pending_order(&[(&p, 1), (&elsewhere, 1)]);

    let mut read = read_with(&[(&p, view(5)), (&elsewhere, view(5))]);
    for order in [&cancelled, &in_saga, &spanning] {
        read.orders.insert(order.id.clone(), order.clone());
    }
    let out = decide(
        &mut read,
        &[
            place(&withdrawn),
            place(&cancelled),
            place(&in_saga),
            place(&spanning),
        ],
        two,
    );
    let outcomes: Vec<&OrderOutcome> = (0..4).map(|i| order_outcome(&out, i)).collect();
    assert_eq!(
        outcomes,
        [
            &OrderOutcome::Nothing,
            &OrderOutcome::Nothing,
            &OrderOutcome::Nothing,
            &OrderOutcome::Forward
        ]
    );
    assert!(out.orders.is_empty() && out.entries.is_empty() && out.products.is_empty());
}

#[test]
fn an_order_assumed_as_placed_is_decided_as_the_stored_one() {
    let (p, q) = (ProductId::new(), ProductId::new());
    let stored = pending_order(&[(&p, 2), (&q, 7)]);
    let assumed = as_placed(&place(&stored), Utc::now()).expect("a whole-order command");
    let products = [(&p, view(10)), (&q, view(4))];
    let decide_on = |order: &OrderDoc| {
        let mut read = read_with(&products);
        read.orders.insert(order.id.clone(), order.clone());
        let now = ctx();
        let out = decide(&mut read, &[place(&stored)], now);
        (
            out.orders[0].1.items.clone(),
            out.orders[0].1.status,
            out.orders[0].1.version,
        )
    };
    let (stored_lines, stored_status, stored_version) = decide_on(&stored);
    let (assumed_lines, assumed_status, assumed_version) = decide_on(&assumed);
    assert_eq!(format!("{stored_lines:?}"), format!("{assumed_lines:?}"));
    assert_eq!((stored_status, stored_version), (assumed_status, assumed_version));
    assert_eq!(as_placed(&adjust("x", &p, 1), Utc::now()).map(|o| o.id), None);
}

#[test]
fn whole_orders_and_single_commands_share_one_running_balance() {
    let p = ProductId::new();
    let first = pending_order(&[(&p, 3)]);
    let second = pending_order(&[(&p, 3)]);
    let saga_order = OrderId::new();
    let mut read = read_with(&[(&p, view(5))]);
    for order in [&first, &second] {
        read.orders.insert(order.id.clone(), order.clone());
    }
    let out = decide(
        &mut read,
        &[
            place(&first),
            reserve(&saga_order, &p, 2),
            place(&second),
            adjust("a", &p, 3),
        ],
        ctx(),
    );
    let statuses: Vec<OrderStatus> = out.orders.iter().map(|(_, o)| o.status).collect();
    assert_eq!(statuses, [OrderStatus::Placed, OrderStatus::Rejected]);
    assert_eq!(
        entries(&out),
        [
            (LedgerKind::Reserve, LedgerOutcome::Applied, -2, 0),
            (LedgerKind::Adjust, LedgerOutcome::Applied, 3, 3)
        ]
    );
    assert_eq!(out.products, [(p.clone(), 5, true, 3)]);
}
