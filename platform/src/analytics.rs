//! Reading the read model for a range: the bucket documents of the range's granularity (at
//! most a few hundred), the per-product and per-reason documents of the same buckets, the
//! status counts, and the low-stock products. Nothing here reads the orders.

use std::collections::{BTreeMap, HashMap};

use crate::Store;
use crate::store::analytics::{BucketDoc, STATUS_DOC_ID};
use crate::store::{from_chrono, to_chrono};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use oms_contracts::Money;
use oms_contracts::domain::Currency;
use serde::Serialize;
use utoipa::ToSchema;

use oms_contracts::analytics::{Granularity, cover, quantile};

/// How many products `top_products` lists.
pub const TOP_PRODUCTS: usize = 10;
/// How many products `low_stock` lists at most.
pub const LOW_STOCK: usize = 20;

/// A range of whole buckets: `from` is a bucket's start; buckets starting before `to` count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub granularity: Granularity,
}

impl Range {
    /// The range of `granularity`'s buckets that hold `[from, to)`.
    pub fn covering(from: DateTime<Utc>, to: DateTime<Utc>, granularity: Granularity) -> Self {
        Self {
            from: granularity.floor(from),
            to,
            granularity,
        }
    }

    /// Every bucket start of the range, in order.
    pub fn starts(&self) -> impl Iterator<Item = DateTime<Utc>> + '_ {
        let g = self.granularity;
        std::iter::successors(Some(self.from), move |s| Some(g.next(*s))).take_while(|s| *s < self.to)
    }

    /// The end of the range's last bucket.
    pub fn end(&self) -> DateTime<Utc> {
        self.granularity.ceil(self.to)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct BucketOut {
    pub start: DateTime<Utc>,
    /// Orders placed (stock reserved) in the bucket.
    pub placed: i64,
    pub cancelled: i64,
    pub rejected: i64,
    pub delivered: i64,
    /// Revenue of the orders placed, in the summary's main currency.
    pub revenue: Money,
    /// Revenue per currency, when orders in several currencies were placed (else the one).
    pub revenue_by_currency: Vec<Money>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TotalsOut {
    pub placed: i64,
    pub cancelled: i64,
    pub rejected: i64,
    pub delivered: i64,
    pub revenue: Money,
    pub revenue_by_currency: Vec<Money>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TopProductOut {
    pub product_id: String,
    pub name: String,
    /// Units in the orders placed in the range.
    pub units: i64,
    pub revenue: Money,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LowStockOut {
    pub product_id: String,
    pub name: String,
    pub stock: i64,
    pub threshold: i64,
}

/// Percentiles of a lead time in milliseconds (null without samples); within about 5%.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PercentilesOut {
    pub p50: Option<i64>,
    pub p90: Option<i64>,
    /// How many orders the figures are taken from.
    pub samples: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct LeadTimesOut {
    /// From `PLACED` to `SHIPPED`, for orders shipped in the range.
    pub placed_to_shipped: PercentilesOut,
    /// From `SHIPPED` to `DELIVERED`, for orders delivered in the range.
    pub shipped_to_delivered: PercentilesOut,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ReasonOut {
    pub reason: String,
    pub count: i64,
}

/// The analytics of a range.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SummaryOut {
    /// The start of the first bucket.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// `hour` or `day`.
    pub bucket: String,
    /// The main currency: the one with the most revenue in the range (USD when none).
    pub currency: String,
    pub totals: TotalsOut,
    /// Every order by its current status (all time, not only the range).
    pub orders_by_status: BTreeMap<String, i64>,
    pub buckets: Vec<BucketOut>,
    /// The best sellers of the range by units.
    pub top_products: Vec<TopProductOut>,
    /// Active products at or below their low-stock threshold, lowest first (current stock).
    pub low_stock: Vec<LowStockOut>,
    pub lead_times_ms: LeadTimesOut,
    /// Why orders were cancelled in the range, most frequent first.
    pub cancellation_reasons: Vec<ReasonOut>,
}

/// One product's sales over a range: units, revenue per currency, its latest name.
#[derive(Default)]
struct Sales {
    units: i64,
    revenue: BTreeMap<String, i64>,
    name: Option<(DateTime<Utc>, String)>,
}

fn money(amount: i64, currency: &str) -> Money {
    Money {
        amount,
        currency: Currency::parse(currency).unwrap_or(Currency::USD),
    }
}

fn by_currency(revenue: &BTreeMap<String, i64>) -> Vec<Money> {
    revenue
        .iter()
        .filter(|(_, n)| **n != 0)
        .map(|(c, n)| money(*n, c))
        .collect()
}

/// Sums histogram documents' `b<bin>` fields.
fn merge_bins(into: &mut BTreeMap<u32, i64>, bins: &BTreeMap<String, i64>) {
    for (key, n) in bins {
        if let Some(bin) = key.strip_prefix('b').and_then(|b| b.parse().ok()) {
            *into.entry(bin).or_default() += n;
        }
    }
}

fn percentiles(bins: &BTreeMap<u32, i64>) -> PercentilesOut {
    PercentilesOut {
        p50: quantile(bins, 0.5),
        p90: quantile(bins, 0.9),
        samples: bins.values().sum(),
    }
}

/// The summary of `range`. `default_threshold` is the low-stock threshold of products that
/// set none.
pub async fn summary(
    store: &Store,
    range: Range,
    default_threshold: i64,
) -> mongodb::error::Result<SummaryOut> {
    let filter = doc! {
        "granularity": range.granularity.as_str(),
        "start": { "$gte": from_chrono(range.from), "$lt": from_chrono(range.to) },
    };
    // Sales and reasons need no series: whole months where they fit, days and hours at the edges.
    let spans: Vec<Document> = cover(range.from, range.end(), range.granularity)
        .into_iter()
        .map(|(g, lo, hi)| doc! { "granularity": g.as_str(), "start": { "$gte": from_chrono(lo), "$lt": from_chrono(hi) } })
        .collect();
    let products = futures_util::future::try_join_all(spans.iter().map(|span| async {
        store
            .analytics_products()
            .find(span.clone())
            .await?
            .try_collect::<Vec<_>>()
            .await
    }));
    let reasons = futures_util::future::try_join_all(spans.iter().map(|span| async {
        store
            .analytics_reasons()
            .find(span.clone())
            .await?
            .try_collect::<Vec<_>>()
            .await
    }));
    let (buckets, products, reasons, status, low_stock) = futures_util::try_join!(
        async {
            store
                .analytics_buckets()
                .find(filter.clone())
                .await?
                .try_collect::<Vec<_>>()
                .await
        },
        products,
        reasons,
        async {
            store
                .analytics_status()
                .find_one(doc! { "_id": STATUS_DOC_ID })
                .await
        },
        low_stock(store, default_threshold),
    )?;
    let products = products.into_iter().flatten();
    let reasons = reasons.into_iter().flatten();

    let mut revenue: BTreeMap<String, i64> = BTreeMap::new();
    let mut p2s = BTreeMap::new();
    let mut s2d = BTreeMap::new();
    let mut by_start = HashMap::new();
    for bucket in &buckets {
        for (c, n) in &bucket.revenue {
            *revenue.entry(c.clone()).or_default() += n;
        }
        merge_bins(&mut p2s, &bucket.placed_to_shipped);
        merge_bins(&mut s2d, &bucket.shipped_to_delivered);
        by_start.insert(bucket.start.timestamp_millis(), bucket);
    }
    let currency = revenue
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(c, _)| c.clone())
        .unwrap_or_else(|| Currency::USD.to_string());
    let empty = BucketDoc::empty(range.granularity.as_str(), from_chrono(range.from));
    let series: Vec<BucketOut> = range
        .starts()
        .map(|start| {
            let b = by_start.get(&start.timestamp_millis()).copied().unwrap_or(&empty);
            BucketOut {
                start,
                placed: b.placed,
                cancelled: b.cancelled,
                rejected: b.rejected,
                delivered: b.delivered,
                revenue: money(b.revenue.get(&currency).copied().unwrap_or(0), &currency),
                revenue_by_currency: by_currency(&b.revenue),
            }
        })
        .collect();
    let sum = |f: fn(&BucketOut) -> i64| series.iter().map(f).sum::<i64>();
    let totals = TotalsOut {
        placed: sum(|b| b.placed),
        cancelled: sum(|b| b.cancelled),
        rejected: sum(|b| b.rejected),
        delivered: sum(|b| b.delivered),
        revenue: money(revenue.get(&currency).copied().unwrap_or(0), &currency),
        revenue_by_currency: by_currency(&revenue),
    };

    // Per product: units, revenue per currency, and its latest name.
    let mut sales: HashMap<String, Sales> = HashMap::new();
    for p in products {
        let entry = sales.entry(p.product_id).or_default();
        entry.units += p.units;
        for (c, n) in p.revenue {
            *entry.revenue.entry(c).or_default() += n;
        }
        let start = to_chrono(p.start);
        if let Some(name) = p.name
            && entry.name.as_ref().is_none_or(|(at, _)| *at <= start)
        {
            entry.name = Some((start, name));
        }
    }
    let mut top_products: Vec<TopProductOut> = sales
        .into_iter()
        .map(|(product_id, sales)| {
            // A product is priced in one currency: its largest revenue is in it.
            let (c, n) = sales
                .revenue
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(c, n)| (c.clone(), *n))
                .unwrap_or_else(|| (currency.clone(), 0));
            TopProductOut {
                name: sales.name.map(|(_, n)| n).unwrap_or_else(|| product_id.clone()),
                product_id,
                units: sales.units,
                revenue: money(n, &c),
            }
        })
        .collect();
    top_products.sort_by(|a, b| {
        (b.units, b.revenue.amount, &a.product_id).cmp(&(a.units, a.revenue.amount, &b.product_id))
    });
    top_products.truncate(TOP_PRODUCTS);

    let mut reason_counts: BTreeMap<String, i64> = BTreeMap::new();
    for r in reasons {
        *reason_counts.entry(r.reason).or_default() += r.count;
    }
    let mut cancellation_reasons: Vec<ReasonOut> = reason_counts
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(reason, count)| ReasonOut { reason, count })
        .collect();
    cancellation_reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));

    let mut orders_by_status: BTreeMap<String, i64> = oms_contracts::OrderStatus::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), 0))
        .collect();
    if let Some(status) = status {
        for (name, n) in status.counts {
            orders_by_status.insert(name, n);
        }
    }

    Ok(SummaryOut {
        from: range.from,
        to: range.to,
        bucket: range.granularity.as_str().to_string(),
        currency,
        totals,
        orders_by_status,
        buckets: series,
        top_products,
        low_stock,
        lead_times_ms: LeadTimesOut {
            placed_to_shipped: percentiles(&p2s),
            shipped_to_delivered: percentiles(&s2d),
        },
        cancellation_reasons,
    })
}

/// Active products at or below their threshold, lowest stock first. Read from the products
/// (whose stock the stock worker keeps): releases of cancelled orders publish no event from
/// which a projection could follow the stock, and the catalogue is small beside the orders.
async fn low_stock(store: &Store, default_threshold: i64) -> mongodb::error::Result<Vec<LowStockOut>> {
    let mut low: Vec<LowStockOut> = store
        .products()
        .find(doc! { "active": true })
        .await?
        .try_collect::<Vec<_>>()
        .await?
        .into_iter()
        .filter_map(|p| {
            let threshold = p.low_stock_threshold.unwrap_or(default_threshold);
            (p.stock <= threshold).then(|| LowStockOut {
                product_id: p.id.to_string(),
                name: p.name,
                stock: p.stock,
                threshold,
            })
        })
        .collect();
    low.sort_by(|a, b| (a.stock, &a.name).cmp(&(b.stock, &b.name)));
    low.truncate(LOW_STOCK);
    Ok(low)
}

/// Orders by status without reading the orders: every status as the analytics projection counts
/// it (a moment behind the orders), except `PENDING`, which no event announces and which is
/// counted through the `status` index (few orders are pending at any time).
pub async fn orders_by_status(store: &Store) -> mongodb::error::Result<BTreeMap<&'static str, u64>> {
    let (status, orders) = (store.analytics_status(), store.orders());
    let (counted, pending) = tokio::try_join!(
        status.find_one(doc! { "_id": STATUS_DOC_ID }),
        orders.count_documents(doc! { "status": oms_contracts::OrderStatus::Pending.as_str() }),
    )?;
    let counts = counted.map(|c| c.counts).unwrap_or_default();
    Ok(oms_contracts::OrderStatus::ALL
        .iter()
        .map(|status| {
            let n = match status {
                oms_contracts::OrderStatus::Pending => pending,
                other => counts.get(other.as_str()).copied().unwrap_or(0).max(0) as u64,
            };
            (status.as_str(), n)
        })
        .collect())
}
