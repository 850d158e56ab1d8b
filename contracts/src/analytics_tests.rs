use crate::ProductId;
use crate::domain::{Currency, Quantity};
use chrono::TimeZone;

use super::*;

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, h, m, 0).single().expect("time")
}

fn usd(amount: i64) -> Money {
    Money {
        amount,
        currency: Currency::USD,
    }
}

fn change(order: &OrderId, version: i64, to: OrderStatus, when: DateTime<Utc>) -> Change {
    Change {
        order_id: order.clone(),
        version,
        to,
        at: when,
        reason: None,
        lines: Vec::new(),
        total: None,
    }
}

fn placed(order: &OrderId, product: &ProductId, when: DateTime<Utc>) -> Change {
    Change {
        lines: vec![EventLine {
            product_id: product.clone(),
            quantity: Quantity::parse(3).expect("quantity"),
            name: Some("Mug".into()),
            unit_price: Some(usd(250)),
        }],
        total: Some(usd(750)),
        ..change(order, 1, OrderStatus::Placed, when)
    }
}

/// An order's whole life: placed, confirmed, shipped after 2 h, delivered a day later.
fn life(order: &OrderId, product: &ProductId) -> Vec<Change> {
    vec![
        change(order, 0, OrderStatus::Pending, at(9, 0)),
        placed(order, product, at(9, 1)),
        change(order, 2, OrderStatus::Confirmed, at(10, 0)),
        change(order, 3, OrderStatus::Shipped, at(11, 1)),
        change(order, 4, OrderStatus::Delivered, at(23, 1)),
    ]
}

fn fold(changes: &[Change]) -> (OrderFacts, Delta) {
    let mut facts = OrderFacts::default();
    let mut delta = Delta::default();
    for c in changes {
        apply(&mut facts, c, &mut delta);
    }
    // Zero counts are no contribution: compare what remains.
    delta.status.retain(|_, n| *n != 0);
    (facts, delta)
}

#[test]
fn a_placed_order_counts_once_with_its_revenue_and_units() {
    let (order, product) = (OrderId::new(), ProductId::new());
    let (_, delta) = fold(&[
        change(&order, 0, OrderStatus::Pending, at(9, 0)),
        placed(&order, &product, at(9, 1)),
    ]);
    assert_eq!(delta.status, BTreeMap::from([("PLACED", 1)]));
    let hour = &delta.buckets[&(Granularity::Hour, at(9, 0))];
    assert_eq!((hour.placed, hour.revenue["USD"]), (1, 750));
    let day = &delta.buckets[&(Granularity::Day, at(0, 0))];
    assert_eq!((day.placed, day.revenue["USD"]), (1, 750));
    let line = &delta.products[&((Granularity::Day, at(0, 0)), product.to_string())];
    assert_eq!(
        (line.units, line.revenue["USD"], line.name.as_deref()),
        (3, 750, Some("Mug"))
    );
}

#[test]
fn a_version_applies_once() {
    let (order, product) = (OrderId::new(), ProductId::new());
    let mut facts = OrderFacts::default();
    let mut delta = Delta::default();
    assert!(apply(&mut facts, &placed(&order, &product, at(9, 1)), &mut delta));
    let once = delta.clone();
    assert!(!apply(
        &mut facts,
        &placed(&order, &product, at(9, 1)),
        &mut delta
    ));
    assert_eq!(delta, once);
}

#[test]
fn any_arrival_order_gives_the_same_figures() {
    let (order, product) = (OrderId::new(), ProductId::new());
    let changes = life(&order, &product);
    let (facts, in_order) = fold(&changes);
    assert_eq!(facts.applied, vec![0, 1, 2, 3, 4]);
    assert_eq!(in_order.status, BTreeMap::from([("DELIVERED", 1)]));
    // Every permutation of the five changes (120), each delivered twice.
    let mut indices: Vec<usize> = (0..changes.len()).collect();
    let mut permutations = 0;
    permute(&mut indices, 0, &mut |p| {
        permutations += 1;
        let shuffled: Vec<Change> = p.iter().chain(p.iter()).map(|i| changes[*i].clone()).collect();
        let (other_facts, delta) = fold(&shuffled);
        assert_eq!(delta, in_order, "order {p:?}");
        assert_eq!(other_facts, facts);
    });
    assert_eq!(permutations, 120);
}

fn permute(items: &mut Vec<usize>, k: usize, visit: &mut impl FnMut(&[usize])) {
    if k == items.len() {
        visit(items);
        return;
    }
    for i in k..items.len() {
        items.swap(k, i);
        permute(items, k + 1, visit);
        items.swap(k, i);
    }
}

#[test]
fn lead_times_are_sampled_once_in_the_later_changes_bucket() {
    let (order, product) = (OrderId::new(), ProductId::new());
    let (_, delta) = fold(&life(&order, &product));
    let shipped_hour = &delta.buckets[&(Granularity::Hour, at(11, 0))];
    let two_hours = lead_time_bin(2 * 3600 * 1000);
    assert_eq!(shipped_hour.placed_to_shipped, BTreeMap::from([(two_hours, 1)]));
    let delivered_hour = &delta.buckets[&(Granularity::Hour, at(23, 0))];
    let twelve_hours = lead_time_bin(12 * 3600 * 1000);
    assert_eq!(
        delivered_hour.shipped_to_delivered,
        BTreeMap::from([(twelve_hours, 1)])
    );
    let day = &delta.buckets[&(Granularity::Day, at(0, 0))];
    assert_eq!(day.placed_to_shipped.values().sum::<i64>(), 1);
    assert_eq!(day.shipped_to_delivered.values().sum::<i64>(), 1);
    assert_eq!(day.delivered, 1);
}

#[test]
fn a_cancelled_order_moves_its_count_and_records_the_reason() {
    let (order, product) = (OrderId::new(), ProductId::new());
    let cancel = Change {
        reason: Some("  changed my mind ".into()),
        ..change(&order, 2, OrderStatus::Cancelled, at(9, 30))
    };
    let (_, delta) = fold(&[placed(&order, &product, at(9, 1)), cancel]);
    assert_eq!(delta.status, BTreeMap::from([("CANCELLED", 1)]));
    let hour = &delta.buckets[&(Granularity::Hour, at(9, 0))];
    assert_eq!((hour.placed, hour.cancelled), (1, 1));
    assert_eq!(
        delta.reasons[&((Granularity::Hour, at(9, 0)), "changed my mind".to_string())],
        1
    );

    let silent = change(&OrderId::new(), 1, OrderStatus::Cancelled, at(9, 30));
    let (_, delta) = fold(&[silent]);
    assert_eq!(
        delta.reasons[&((Granularity::Day, at(0, 0)), NO_REASON.to_string())],
        1
    );
}

#[test]
fn a_rejected_order_has_no_revenue() {
    let order = OrderId::new();
    let (_, delta) = fold(&[
        change(&order, 0, OrderStatus::Pending, at(9, 0)),
        change(&order, 1, OrderStatus::Rejected, at(9, 0)),
    ]);
    let hour = &delta.buckets[&(Granularity::Hour, at(9, 0))];
    assert_eq!((hour.rejected, hour.placed), (1, 0));
    assert!(hour.revenue.is_empty());
    assert!(delta.products.is_empty());
}

#[test]
fn buckets_start_on_the_hour_and_the_day() {
    let t = Utc
        .with_ymd_and_hms(2026, 3, 1, 13, 59, 59)
        .single()
        .expect("time");
    assert_eq!(Granularity::Hour.floor(t), at(13, 0));
    assert_eq!(Granularity::Day.floor(t), at(0, 0));
    assert_eq!(Granularity::Month.floor(t), at(0, 0));
}

#[test]
fn quantiles_come_from_the_histogram_within_a_bin() {
    let mut bins = BTreeMap::new();
    for ms in 1..=1000i64 {
        *bins.entry(lead_time_bin(ms * 10)).or_default() += 1;
    }
    let p50 = quantile(&bins, 0.5).expect("p50") as f64;
    let p90 = quantile(&bins, 0.9).expect("p90") as f64;
    assert!((p50 / 5000.0 - 1.0).abs() < 0.1, "p50 {p50}");
    assert!((p90 / 9000.0 - 1.0).abs() < 0.1, "p90 {p90}");
    assert_eq!(quantile(&BTreeMap::new(), 0.5), None);
    // Every value falls in the bin whose value is within 5% of it.
    for ms in [1, 7, 300, 86_400_000] {
        let value = bin_value(lead_time_bin(ms)) as f64;
        assert!((value / ms as f64 - 1.0).abs() < 0.05 || ms < 10, "{ms}: {value}");
    }
}

#[test]
fn months_start_on_the_first_and_ranges_are_covered_by_the_coarsest_buckets() {
    let t = |s: &str| s.parse::<DateTime<Utc>>().expect("time");
    assert_eq!(
        Granularity::Month.floor(t("2026-02-17T05:00:00Z")),
        t("2026-02-01T00:00:00Z")
    );
    assert_eq!(
        Granularity::Month.next(t("2026-12-01T00:00:00Z")),
        t("2027-01-01T00:00:00Z")
    );
    assert_eq!(
        Granularity::Day.ceil(t("2026-02-17T05:00:00Z")),
        t("2026-02-18T00:00:00Z")
    );
    let spans = cover(
        t("2025-11-28T22:00:00Z"),
        t("2026-02-03T02:00:00Z"),
        Granularity::Hour,
    );
    assert_eq!(
        spans,
        vec![
            (
                Granularity::Hour,
                t("2025-11-28T22:00:00Z"),
                t("2025-11-29T00:00:00Z")
            ),
            (
                Granularity::Day,
                t("2025-11-29T00:00:00Z"),
                t("2025-12-01T00:00:00Z")
            ),
            (
                Granularity::Month,
                t("2025-12-01T00:00:00Z"),
                t("2026-02-01T00:00:00Z")
            ),
            (
                Granularity::Day,
                t("2026-02-01T00:00:00Z"),
                t("2026-02-03T00:00:00Z")
            ),
            (
                Granularity::Hour,
                t("2026-02-03T00:00:00Z"),
                t("2026-02-03T02:00:00Z")
            ),
        ]
    );
    // Daily ranges stop at days; a range inside one day is its hours.
    let daily = cover(
        t("2026-01-30T00:00:00Z"),
        t("2026-02-02T00:00:00Z"),
        Granularity::Day,
    );
    assert_eq!(
        daily,
        vec![(
            Granularity::Day,
            t("2026-01-30T00:00:00Z"),
            t("2026-02-02T00:00:00Z")
        )]
    );
    let hours = cover(
        t("2026-01-30T01:00:00Z"),
        t("2026-01-30T05:00:00Z"),
        Granularity::Hour,
    );
    assert_eq!(
        hours,
        vec![(
            Granularity::Hour,
            t("2026-01-30T01:00:00Z"),
            t("2026-01-30T05:00:00Z")
        )]
    );
}
