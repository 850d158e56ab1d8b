//! `oms seed`: fills a store with realistic orders quickly, for measuring reads at scale. Bulk
//! inserts of the store's own document types, consistent with each other: each product's stock
//! is its initial stock less what its holding orders reserved, every reservation and release is
//! in the ledger, and each order's history is what the workers would have written, so
//! `oms verify` passes and `oms analytics rebuild` can replay it. Orders spread over the past
//! year; their ids are UUIDv7 of their creation time, as the API makes them.

use chrono::{Duration as Span, Utc};
use mongodb::bson::DateTime;
use oms_contracts::domain::{Currency, Quantity};
use oms_contracts::messages::{HistoryEntry, OrderLine};
use oms_contracts::{Money, OrderId, OrderStatus, ProductId, Role, UserId};
use oms_platform::Store;
use oms_platform::store::{
    CustomerDoc, ImageDoc, LedgerDoc, LedgerKind, LedgerOutcome, LineReservation, OrderDoc, ProductDoc,
    UserDoc,
};

/// Documents per insert.
const BATCH: usize = 5_000;

/// The seeded shoppers' password (they are for measuring, not for production stores).
pub const PASSWORD: &str = "seeded-password-1";

/// A small deterministic generator (xorshift): the same seed, the same store.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// What was written.
pub struct Seeded {
    pub users: usize,
    pub products: usize,
    pub orders: usize,
    /// The shopper with the most orders (a tenth of them), for the per-user list.
    pub busiest_user: String,
}

/// Inserts `users` shoppers (`seed-<n>@oms.test`), `products` products and `orders` orders.
pub async fn seed(store: &Store, orders: usize, products: usize, users: usize) -> anyhow::Result<Seeded> {
    let now = Utc::now();
    let at = |t: chrono::DateTime<Utc>| DateTime::from_millis(t.timestamp_millis());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let hash = oms_api::auth::password::hash(PASSWORD.to_string())
        .await
        .map_err(|e| anyhow::anyhow!("hashing the seed password: {e:?}"))?;

    let user_ids: Vec<UserId> = (0..users.max(1)).map(|_| UserId::new()).collect();
    let user_docs: Vec<UserDoc> = user_ids
        .iter()
        .enumerate()
        .map(|(n, id)| UserDoc {
            id: id.clone(),
            email: format!("seed-{n}@oms.test"),
            name: format!("Seeded shopper {n}"),
            password_hash: hash.clone(),
            role: Role::User,
            created_at: at(now - Span::days(366)),
            updated_at: at(now - Span::days(366)),
        })
        .collect();
    for chunk in user_docs.chunks(BATCH) {
        store.users().insert_many(chunk).ordered(false).await?;
    }

    // Enough stock that every order could hold its lines.
    let initial = (orders as i64 * 9 / products.max(1) as i64 + 10).min(oms_contracts::domain::MAX_STOCK);
    let mut catalogue: Vec<ProductDoc> = (0..products.max(1))
        .map(|n| ProductDoc {
            id: ProductId::new(),
            sku: format!("SEED-{n:05}"),
            name: format!("Seeded product {n}"),
            description: String::new(),
            price: Money {
                amount: 100 + rng.below(20_000) as i64,
                currency: Currency::USD,
            },
            stock: initial,
            active: true,
            image: ImageDoc::none(),
            low_stock_threshold: None,
            created_at: at(now - Span::days(366)),
            updated_at: at(now - Span::days(366)),
        })
        .collect();
    let mut ledger: Vec<LedgerDoc> = catalogue
        .iter()
        .map(|p| {
            entry(
                p,
                LedgerKind::Initial,
                LedgerDoc::initial_key(p.id.as_str()),
                initial,
                initial,
                None,
                p.created_at,
            )
        })
        .collect();

    let numbers = store.reserve_order_numbers(orders as i64).await?;
    let mut batch: Vec<OrderDoc> = Vec::with_capacity(BATCH);
    for n in 0..orders {
        let created = now - Span::seconds(rng.below(365 * 24 * 3600) as i64);
        let id = OrderId::parse(
            &uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
                uuid::NoContext,
                created.timestamp() as u64,
                created.timestamp_subsec_nanos(),
            ))
            .to_string(),
        )?;
        // A tenth of the orders are one shopper's; the rest spread over everyone.
        let who = if n % 10 == 0 {
            0
        } else {
            rng.below(user_ids.len() as u64) as usize
        };
        let owner = user_ids[who].clone();
        let lines: Vec<OrderLine> = (0..1 + rng.below(3))
            .map(|_| OrderLine {
                product_id: catalogue[rng.below(catalogue.len() as u64) as usize].id.clone(),
                quantity: Quantity::parse(1 + rng.below(3) as i64).expect("1 to 3 is a quantity"),
            })
            .collect::<Vec<_>>();
        let mut lines = lines;
        lines.sort_by(|a, b| a.product_id.as_str().cmp(b.product_id.as_str()));
        lines.dedup_by(|a, b| a.product_id == b.product_id);
        let status = match rng.below(20) {
            0..=11 => OrderStatus::Delivered,
            12..=13 => OrderStatus::Shipped,
            14..=15 => OrderStatus::Confirmed,
            16 => OrderStatus::Placed,
            17..=18 => OrderStatus::Cancelled,
            _ => OrderStatus::Rejected,
        };
        let mut order = OrderDoc::placed(&id, &owner, &lines, None, String::new(), created);
        // Numbers as the API gives them, from the store's counter (not in time order here).
        order.number = Some(numbers.start + n as i64);
        order.customer = Some(CustomerDoc::new(&user_docs[who].name, &user_docs[who].email));
        let mut total = 0;
        for line in &mut order.items {
            let product = catalogue
                .iter_mut()
                .find(|p| p.id == line.product_id)
                .expect("a seeded product");
            let q = i64::from(line.quantity.get());
            if status == OrderStatus::Rejected {
                line.reservation = LineReservation::Rejected;
                line.reject_reason = Some(oms_contracts::messages::RejectReason::InsufficientStock);
                continue;
            }
            line.reservation = LineReservation::Reserved;
            line.name = Some(product.name.clone());
            line.unit_price = Some(product.price);
            line.line_total = Some(product.price.amount * q);
            total += product.price.amount * q;
            product.stock -= q;
            let reserve_key = LedgerDoc::reserve_key(id.as_str(), product.id.as_str());
            ledger.push(entry(
                product,
                LedgerKind::Reserve,
                reserve_key,
                -q,
                product.stock,
                Some(&id),
                at(created),
            ));
            if status == OrderStatus::Cancelled {
                product.stock += q;
                let release_key = LedgerDoc::release_key(id.as_str(), product.id.as_str());
                ledger.push(entry(
                    product,
                    LedgerKind::Release,
                    release_key,
                    q,
                    product.stock,
                    Some(&id),
                    at(created),
                ));
            }
        }
        let path: &[OrderStatus] = match status {
            OrderStatus::Rejected => &[OrderStatus::Rejected],
            OrderStatus::Placed => &[OrderStatus::Placed],
            OrderStatus::Cancelled => &[OrderStatus::Placed, OrderStatus::Cancelled],
            OrderStatus::Confirmed => &[OrderStatus::Placed, OrderStatus::Confirmed],
            OrderStatus::Shipped => &[OrderStatus::Placed, OrderStatus::Confirmed, OrderStatus::Shipped],
            _ => &[
                OrderStatus::Placed,
                OrderStatus::Confirmed,
                OrderStatus::Shipped,
                OrderStatus::Delivered,
            ],
        };
        let mut when = created;
        for to in path {
            when += Span::minutes(1 + rng.below(48 * 60) as i64);
            order.version += 1;
            order.history.push(HistoryEntry {
                from: Some(order.status),
                to: *to,
                by: if *to == OrderStatus::Placed || *to == OrderStatus::Rejected {
                    "system".into()
                } else {
                    owner.to_string()
                },
                at: when.min(now),
                reason: None,
                refused: false,
                version: Some(order.version),
            });
            order.status = *to;
        }
        order.total = (status != OrderStatus::Rejected).then_some(Money {
            amount: total,
            currency: Currency::USD,
        });
        order.dispatched = true;
        order.updated_at = at(when.min(now));
        batch.push(order);
        if batch.len() == BATCH {
            store.orders().insert_many(&batch).ordered(false).await?;
            batch.clear();
        }
        if ledger.len() >= BATCH {
            store.ledger().insert_many(&ledger).ordered(false).await?;
            ledger.clear();
        }
    }
    if !batch.is_empty() {
        store.orders().insert_many(&batch).ordered(false).await?;
    }
    if !ledger.is_empty() {
        store.ledger().insert_many(&ledger).ordered(false).await?;
    }
    for chunk in catalogue.chunks(BATCH) {
        store.products().insert_many(chunk).ordered(false).await?;
    }
    Ok(Seeded {
        users: user_ids.len(),
        products: catalogue.len(),
        orders,
        busiest_user: user_docs[0].email.clone(),
    })
}

fn entry(
    product: &ProductDoc,
    kind: LedgerKind,
    op_key: String,
    delta: i64,
    balance_after: i64,
    order: Option<&OrderId>,
    at: DateTime,
) -> LedgerDoc {
    LedgerDoc {
        op_key,
        product_id: product.id.clone(),
        kind,
        outcome: LedgerOutcome::Applied,
        delta,
        balance_after,
        order_id: order.cloned(),
        actor: "system".into(),
        reason: (kind == LedgerKind::Initial).then(|| "initial stock".to_string()),
        refusal: None,
        unit_price: order.map(|_| product.price),
        product_name: order.map(|_| product.name.clone()),
        at,
    }
}
