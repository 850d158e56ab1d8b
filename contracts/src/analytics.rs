//! The analytics projection as pure functions: what one order status change adds to the read
//! model, given what the projection remembers of that order. The worker and `oms analytics
//! rebuild` both fold changes through [`apply`], so a rebuild equals the live model.
//!
//! A change applies once per (order, version): the order's facts list the versions applied.
//! Changes may arrive in any order; every figure is a sum of per-change contributions, except
//! the status counts (an order counts under the status of its highest version seen) and the
//! lead times (a sample is taken when the second of its two changes arrives, whichever it is).

use std::collections::BTreeMap;

use crate::messages::{Event, EventLine};
use crate::{Money, OrderId, OrderStatus};
use chrono::{DateTime, Datelike, DurationRound, Months, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// The width of a bucket. Every figure is kept per hour, per day and per month: a range is
/// answered with whole months where they fit and days or hours at its edges ([`cover`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Hour,
    Day,
    Month,
}

impl Granularity {
    pub const ALL: [Granularity; 3] = [Granularity::Hour, Granularity::Day, Granularity::Month];

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Hour => "hour",
            Granularity::Day => "day",
            Granularity::Month => "month",
        }
    }

    /// The start of the bucket holding `at` (UTC).
    pub fn floor(self, at: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Granularity::Hour => at.duration_trunc(TimeDelta::hours(1)).unwrap_or(at),
            Granularity::Day => at.duration_trunc(TimeDelta::days(1)).unwrap_or(at),
            Granularity::Month => Utc
                .with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
                .single()
                .unwrap_or(at),
        }
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next(self, start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Granularity::Hour => start + TimeDelta::hours(1),
            Granularity::Day => start + TimeDelta::days(1),
            Granularity::Month => start.checked_add_months(Months::new(1)).unwrap_or(start),
        }
    }

    /// The first bucket start at or after `at`.
    pub fn ceil(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let floor = self.floor(at);
        if floor == at { at } else { self.next(floor) }
    }

    fn finer(self) -> Option<Granularity> {
        match self {
            Granularity::Hour => None,
            Granularity::Day => Some(Granularity::Hour),
            Granularity::Month => Some(Granularity::Day),
        }
    }
}

/// The documents that hold exactly the buckets of `finest` width in `[from, to)` (both on
/// `finest`'s boundaries): `(granularity, first start, end)` spans, whole months where they fit,
/// then whole days, then hours.
pub fn cover(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    finest: Granularity,
) -> Vec<(Granularity, DateTime<Utc>, DateTime<Utc>)> {
    fn split(
        lo: DateTime<Utc>,
        hi: DateTime<Utc>,
        g: Granularity,
        finest: Granularity,
        out: &mut Vec<(Granularity, DateTime<Utc>, DateTime<Utc>)>,
    ) {
        if lo >= hi {
            return;
        }
        let Some(finer) = g.finer().filter(|_| g != finest) else {
            out.push((g, lo, hi));
            return;
        };
        let (a, b) = (g.ceil(lo), g.floor(hi));
        if a < b {
            split(lo, a, finer, finest, out);
            out.push((g, a, b));
            split(b, hi, finer, finest, out);
        } else {
            split(lo, hi, finer, finest, out);
        }
    }
    let mut out = Vec::new();
    split(from, to, Granularity::Month, finest, &mut out);
    out
}

/// Lead times are kept as a mergeable histogram: bin `i` holds durations `d` (ms) with
/// `floor(log2(max(d, 1)) * BINS_PER_OCTAVE) == i`, so a bin is about 9% wide and any range's
/// percentiles come from summing the bins of its buckets.
pub const BINS_PER_OCTAVE: f64 = 8.0;

pub fn lead_time_bin(ms: i64) -> u32 {
    let ms = ms.max(1) as f64;
    (ms.log2() * BINS_PER_OCTAVE).floor() as u32
}

/// The value a bin stands for: its geometric middle, in ms.
pub fn bin_value(bin: u32) -> i64 {
    (2f64.powf((f64::from(bin) + 0.5) / BINS_PER_OCTAVE)).round() as i64
}

/// The `q`-quantile (0..=1) of a histogram, as the value of the bin that holds it; `None`
/// without samples.
pub fn quantile(bins: &BTreeMap<u32, i64>, q: f64) -> Option<i64> {
    let total: i64 = bins.values().sum();
    if total <= 0 {
        return None;
    }
    // The rank of the quantile among the samples, 1-based (nearest-rank method).
    let rank = ((q * total as f64).ceil() as i64).clamp(1, total);
    let mut seen = 0;
    for (bin, count) in bins {
        seen += count;
        if seen >= rank {
            return Some(bin_value(*bin));
        }
    }
    None
}

/// The label a cancellation is counted under.
pub fn reason_label(reason: Option<&str>) -> String {
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => reason.chars().take(200).collect(),
        None => NO_REASON.to_string(),
    }
}

/// Cancellations without a reason.
pub const NO_REASON: &str = "(no reason given)";

/// What the projection remembers of one order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderFacts {
    /// The versions applied, ascending.
    pub applied: Vec<i64>,
    /// The status of the highest version applied.
    pub status: Option<OrderStatus>,
    pub placed_at: Option<DateTime<Utc>>,
    pub shipped_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl OrderFacts {
    fn version(&self) -> Option<i64> {
        self.applied.last().copied()
    }
}

/// One order status change, as the projection reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    pub order_id: OrderId,
    pub version: i64,
    pub to: OrderStatus,
    /// Truncated to milliseconds, as the store keeps times: live and rebuilt figures agree.
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
    pub lines: Vec<EventLine>,
    pub total: Option<Money>,
}

impl Change {
    /// The change an event announces; `None` for events that are not order status changes.
    pub fn from_event(event: &Event) -> Option<Self> {
        match event {
            Event::OrderStatusChanged {
                order_id,
                to,
                reason,
                version,
                at,
                lines,
                total,
                ..
            } => Some(Self {
                order_id: order_id.clone(),
                version: *version,
                to: *to,
                at: truncate_ms(*at),
                reason: reason.clone(),
                lines: lines.clone(),
                total: *total,
            }),
            _ => None,
        }
    }
}

pub fn truncate_ms(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at)
}

/// What changes add to one bucket.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BucketDelta {
    pub placed: i64,
    pub cancelled: i64,
    pub rejected: i64,
    pub delivered: i64,
    /// Revenue of the orders placed, per currency code.
    pub revenue: BTreeMap<String, i64>,
    pub placed_to_shipped: BTreeMap<u32, i64>,
    pub shipped_to_delivered: BTreeMap<u32, i64>,
}

/// What changes add to one product's figures in one bucket.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProductDelta {
    pub name: Option<String>,
    pub units: i64,
    pub revenue: BTreeMap<String, i64>,
}

/// Where a bucket's figures go: its width and start.
pub type BucketKey = (Granularity, DateTime<Utc>);

/// What a set of changes adds to the read model, as increments by where they go.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Delta {
    pub status: BTreeMap<&'static str, i64>,
    pub buckets: BTreeMap<BucketKey, BucketDelta>,
    pub products: BTreeMap<(BucketKey, String), ProductDelta>,
    pub reasons: BTreeMap<(BucketKey, String), i64>,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.status.values().all(|n| *n == 0)
            && self.buckets.is_empty()
            && self.products.is_empty()
            && self.reasons.is_empty()
    }

    fn each_bucket(&mut self, at: DateTime<Utc>, f: impl Fn(&mut BucketDelta)) {
        for g in Granularity::ALL {
            f(self.buckets.entry((g, g.floor(at))).or_default());
        }
    }
}

/// Applies `change` to an order's `facts`, adding what it contributes to `delta`.
/// Returns `false` (and changes nothing) when this version was applied already.
pub fn apply(facts: &mut OrderFacts, change: &Change, delta: &mut Delta) -> bool {
    let Err(slot) = facts.applied.binary_search(&change.version) else {
        return false;
    };
    let newest = facts.version().is_none_or(|v| change.version > v);
    facts.applied.insert(slot, change.version);
    if newest {
        if let Some(old) = facts.status {
            *delta.status.entry(old.as_str()).or_default() -= 1;
        }
        *delta.status.entry(change.to.as_str()).or_default() += 1;
        facts.status = Some(change.to);
    }
    let at = change.at;
    match change.to {
        OrderStatus::Placed => {
            delta.each_bucket(at, |b| {
                b.placed += 1;
                if let Some(total) = change.total {
                    *b.revenue.entry(total.currency.to_string()).or_default() += total.amount;
                }
            });
            for line in &change.lines {
                let Some(price) = line.unit_price else { continue };
                let units = i64::from(line.quantity.get());
                for g in Granularity::ALL {
                    let key = ((g, g.floor(at)), line.product_id.to_string());
                    let product = delta.products.entry(key).or_default();
                    product.units += units;
                    *product.revenue.entry(price.currency.to_string()).or_default() += units * price.amount;
                    if line.name.is_some() {
                        product.name.clone_from(&line.name);
                    }
                }
            }
            facts.placed_at = Some(at);
            if let Some(shipped) = facts.shipped_at {
                sample(delta, shipped, at, shipped, |b| &mut b.placed_to_shipped);
            }
        }
        OrderStatus::Cancelled => {
            delta.each_bucket(at, |b| b.cancelled += 1);
            let reason = reason_label(change.reason.as_deref());
            for g in Granularity::ALL {
                *delta
                    .reasons
                    .entry(((g, g.floor(at)), reason.clone()))
                    .or_default() += 1;
            }
        }
        OrderStatus::Rejected => delta.each_bucket(at, |b| b.rejected += 1),
        OrderStatus::Shipped => {
            facts.shipped_at = Some(at);
            if let Some(placed) = facts.placed_at {
                sample(delta, at, placed, at, |b| &mut b.placed_to_shipped);
            }
            if let Some(delivered) = facts.delivered_at {
                sample(delta, delivered, at, delivered, |b| &mut b.shipped_to_delivered);
            }
        }
        OrderStatus::Delivered => {
            delta.each_bucket(at, |b| b.delivered += 1);
            facts.delivered_at = Some(at);
            if let Some(shipped) = facts.shipped_at {
                sample(delta, at, shipped, at, |b| &mut b.shipped_to_delivered);
            }
        }
        OrderStatus::Pending | OrderStatus::Confirmed => {}
    }
    true
}

/// Records a lead time from `start` to `end` in the buckets of `at` (the later change's time).
fn sample(
    delta: &mut Delta,
    at: DateTime<Utc>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    histogram: fn(&mut BucketDelta) -> &mut BTreeMap<u32, i64>,
) {
    let bin = lead_time_bin((end - start).num_milliseconds());
    delta.each_bucket(at, |b| *histogram(b).entry(bin).or_default() += 1);
}

#[cfg(test)]
#[path = "analytics_tests.rs"]
mod tests;
