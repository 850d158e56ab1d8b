//! The delivery loop. Due deliveries are claimed from the store (their `next_attempt_at` becomes
//! a lease: a worker that dies mid-attempt leaves the delivery to be taken again when it ends),
//! posted, and their outcome recorded with the next attempt's time from the retry schedule.
//! Nothing waits in memory: the schedule is the store, polled, so a restart loses nothing.
//!
//! Per endpoint, deliveries of one order go out in order: one whose predecessor is still
//! pending waits (`waiting`) until that one succeeds or finally fails.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use mongodb::bson::{self, DateTime, doc};
use oms_platform::Store;
use oms_platform::config::WebhooksConfig;
use oms_platform::store::{AttemptDoc, DeliveryDoc, DeliveryStatus, EndpointDoc};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::secrets::SealKey;
use super::sign::{secret_key, signature_header};
use super::ssrf::{self, UrlPolicy};

/// Deliveries claimed at once, and attempted at once, per worker process.
const CLAIM_BATCH: i64 = 128;
const CONCURRENCY: usize = 64;
/// The most of a receiver's answer that is kept.
pub const RESPONSE_BODY_LIMIT: usize = 4096;
/// How many attempts a delivery's log keeps (the newest).
const ATTEMPTS_KEPT: i32 = 50;

pub struct Dispatcher {
    store: Store,
    config: WebhooksConfig,
    key: SealKey,
    policy: UrlPolicy,
    http: reqwest::Client,
    /// Beyond the timeout, how long a claimed attempt is left to its worker.
    lease: Duration,
}

/// What one attempt came to.
struct Outcome {
    attempt: AttemptDoc,
    ok: bool,
    /// Nothing was sent and nothing can be (the endpoint is gone or disabled): fail at once.
    abandon: bool,
}

impl Dispatcher {
    pub fn new(store: Store, config: &WebhooksConfig) -> anyhow::Result<Self> {
        let policy = UrlPolicy::from_config(config);
        Ok(Self {
            store,
            key: SealKey::from_hex(&config.secrets_key)?,
            http: ssrf::client(policy, config.timeout)?,
            policy,
            lease: config.timeout + Duration::from_secs(5),
            config: config.clone(),
        })
    }

    /// Delivers until `shutdown`; attempts under way finish (within the timeout).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        tracing::info!("webhook deliveries starting");
        loop {
            if shutdown.is_cancelled() {
                return;
            }
            match self.claim().await {
                Ok(claimed) if !claimed.is_empty() => {
                    // One read of the batch's endpoints (a failed read leaves each to read its own).
                    let endpoints = self.endpoints(&claimed).await.unwrap_or_default();
                    futures_util::stream::iter(claimed)
                        .for_each_concurrent(CONCURRENCY, |d| self.attempt(d, &endpoints))
                        .await;
                    // More may be due already.
                    continue;
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "cannot read due webhook deliveries"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    /// Takes up to a batch of due deliveries: their lease ends `timeout + 5 s` from now.
    async fn claim(&self) -> mongodb::error::Result<Vec<DeliveryDoc>> {
        let deliveries = self.store.webhook_deliveries();
        let now = DateTime::now();
        let due = doc! { "status": DeliveryStatus::Pending.as_str(), "next_attempt_at": { "$lte": now } };
        let ids: Vec<bson::Bson> = deliveries
            .clone_with_type::<bson::Document>()
            .find(due)
            .sort(doc! { "next_attempt_at": 1 })
            .limit(CLAIM_BATCH)
            .projection(doc! { "_id": 1 })
            .await?
            .try_filter_map(|d| async move { Ok(d.get("_id").cloned()) })
            .try_collect()
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let token = uuid::Uuid::new_v4().simple().to_string();
        // Still due, by id: a settled delivery has no next attempt, one claimed meanwhile by
        // another worker has its lease ahead. No `status` here: with it, secantusd-rs walks the
        // whole due range of the status index (16 ms with 5,000 due) instead of the ids (2.7 ms).
        deliveries
            .update_many(
                doc! { "_id": { "$in": ids }, "next_attempt_at": { "$lte": now } },
                doc! { "$set": { "next_attempt_at": later(now, self.lease), "claim": &token } },
            )
            .await?;
        deliveries
            .find(doc! { "claim": &token })
            .sort(doc! { "next_attempt_at": 1, "seq": 1 })
            .await?
            .try_collect()
            .await
    }

    /// The endpoints of `deliveries`, by id.
    async fn endpoints(
        &self,
        deliveries: &[DeliveryDoc],
    ) -> mongodb::error::Result<HashMap<String, EndpointDoc>> {
        let mut ids: Vec<&str> = deliveries.iter().map(|d| d.endpoint_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        self.store
            .webhook_endpoints()
            .find(doc! { "_id": { "$in": ids } })
            .await?
            .map_ok(|e| (e.id.to_string(), e))
            .try_collect()
            .await
    }

    async fn attempt(&self, delivery: DeliveryDoc, endpoints: &HashMap<String, EndpointDoc>) {
        let span = tracing::info_span!(
            "webhook_delivery",
            delivery_id = %delivery.id,
            endpoint_id = %delivery.endpoint_id,
            event_id = %delivery.event_id,
        );
        let endpoint = endpoints.get(delivery.endpoint_id.as_str());
        if let Err(err) = self
            .try_attempt(&delivery, endpoint)
            .instrument(span.clone())
            .await
        {
            // Its lease runs out and it is taken again.
            span.in_scope(
                || tracing::warn!(error = %err, "webhook delivery not recorded; it will be retried"),
            );
        }
    }

    async fn try_attempt(
        &self,
        delivery: &DeliveryDoc,
        known: Option<&EndpointDoc>,
    ) -> mongodb::error::Result<()> {
        let deliveries = self.store.webhook_deliveries();
        let claim = delivery.claim.clone().unwrap_or_default();
        if let Some(earlier) = self.earlier_pending(delivery).await? {
            // Wait behind it: woken when it settles, or at its own next attempt at the latest.
            let until = earlier.next_attempt_at.unwrap_or_else(DateTime::now);
            deliveries
                .update_one(
                    doc! { "_id": earlier.id.as_str() },
                    doc! { "$set": { "has_waiters": true } },
                )
                .await?;
            deliveries
                .update_one(
                    doc! { "_id": delivery.id.as_str(), "claim": &claim },
                    doc! { "$set": { "next_attempt_at": until, "waiting": true }, "$unset": { "claim": "" } },
                )
                .await?;
            return Ok(());
        }
        let endpoint = match known {
            Some(endpoint) => Some(endpoint.clone()),
            None => self.store.webhook_endpoint(&delivery.endpoint_id).await?,
        };
        let outcome = match &endpoint {
            None => Outcome::abandoned("the endpoint was deleted"),
            Some(e) if e.disabled => Outcome::abandoned("the endpoint is disabled"),
            Some(e) => self.post(e, delivery).await,
        };
        self.record(delivery, &claim, endpoint.as_ref(), outcome).await
    }

    /// The first delivery of the same order to the same endpoint, before this one, that is still
    /// pending. The query names exactly the fields of its index (see `ensure_webhook_indexes`).
    async fn earlier_pending(&self, delivery: &DeliveryDoc) -> mongodb::error::Result<Option<DeliveryDoc>> {
        self.store
            .webhook_deliveries()
            .find_one(doc! {
                "endpoint_id": delivery.endpoint_id.as_str(),
                "ordering_key": &delivery.ordering_key,
                "status": DeliveryStatus::Pending.as_str(),
                "seq": { "$lt": delivery.seq },
            })
            .sort(doc! { "seq": 1 })
            .await
    }

    /// Makes the later deliveries of the same order that wait for `delivery` due now: they are
    /// found through the ordering index (pending, later), then set by id.
    async fn wake_waiters(&self, delivery: &DeliveryDoc, now: DateTime) -> mongodb::error::Result<()> {
        let deliveries = self.store.webhook_deliveries();
        let waiting: Vec<String> = deliveries
            .find(doc! {
                "endpoint_id": delivery.endpoint_id.as_str(),
                "ordering_key": &delivery.ordering_key,
                "status": DeliveryStatus::Pending.as_str(),
                "seq": { "$gt": delivery.seq },
            })
            .sort(doc! { "seq": 1 })
            .await?
            .try_filter_map(|d| async move { Ok(d.waiting.then(|| d.id.to_string())) })
            .try_collect()
            .await?;
        if !waiting.is_empty() {
            deliveries
                .update_many(
                    doc! { "_id": { "$in": waiting }, "waiting": true },
                    doc! { "$set": { "next_attempt_at": now, "waiting": false } },
                )
                .await?;
        }
        Ok(())
    }

    async fn post(&self, endpoint: &EndpointDoc, delivery: &DeliveryDoc) -> Outcome {
        let started = Instant::now();
        let url = match ssrf::check_form(self.policy, &endpoint.url) {
            Ok(url) => url,
            Err(why) => return Outcome::failed(started, format!("refused: the URL {why}")),
        };
        let now = DateTime::now();
        let keys: Vec<Vec<u8>> = endpoint
            .secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|at| at > now))
            .filter_map(|s| self.key.open(&s.sealed).ok())
            .filter_map(|s| secret_key(s.expose_secret()))
            .collect();
        if keys.is_empty() {
            return Outcome::failed(started, "no signing secret can be read".to_string());
        }
        let timestamp = chrono::Utc::now().timestamp();
        let signature = signature_header(&keys, &delivery.event_id, timestamp, &delivery.body);
        let sent = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &delivery.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.body.clone())
            .send()
            .await;
        let outcome = match sent {
            Err(err) => Outcome::failed(started, describe(&err, self.config.timeout)),
            Ok(mut response) => {
                let status = response.status();
                let body = read_capped(&mut response).await;
                let ok = status.is_success();
                Outcome {
                    attempt: AttemptDoc {
                        at: DateTime::now(),
                        response_status: Some(i32::from(status.as_u16())),
                        latency_ms: started.elapsed().as_millis() as i64,
                        error: (!ok).then(|| format!("the receiver answered {status}")),
                        response_body: body,
                    },
                    ok,
                    abandon: false,
                }
            }
        };
        let label = if outcome.ok { "succeeded" } else { "failed" };
        metrics::counter!("oms_webhook_attempts_total", "outcome" => label).increment(1);
        metrics::histogram!("oms_webhook_attempt_seconds").record(started.elapsed().as_secs_f64());
        outcome
    }

    /// Records the attempt and what comes next; wakes the next delivery of the same order when
    /// this one is settled; keeps the endpoint's failure record (and disables it after days of it).
    async fn record(
        &self,
        delivery: &DeliveryDoc,
        claim: &str,
        endpoint: Option<&EndpointDoc>,
        outcome: Outcome,
    ) -> mongodb::error::Result<()> {
        let now = DateTime::now();
        let tried = delivery.round_attempts + 1;
        let (status, next) = if outcome.ok {
            (DeliveryStatus::Succeeded, None)
        } else if outcome.abandon {
            (DeliveryStatus::Failed, None)
        } else {
            match self.config.retry_schedule.get((tried - 1).max(0) as usize) {
                Some(delay) => (DeliveryStatus::Pending, Some(later(now, *delay))),
                None => (DeliveryStatus::Failed, None),
            }
        };
        if !outcome.ok {
            tracing::info!(
                status = status.as_str(),
                attempt = tried,
                error = outcome.attempt.error.as_deref().unwrap_or(""),
                "webhook attempt failed"
            );
        }
        let attempt = bson::to_bson(&outcome.attempt)?;
        let deliveries = self.store.webhook_deliveries();
        let settled = status != DeliveryStatus::Pending;
        let mut set = doc! {
            "status": status.as_str(),
            "next_attempt_at": next,
            "round_attempts": tried,
            "waiting": false,
            "updated_at": now,
        };
        if settled {
            set.insert("has_waiters", false);
        }
        // The document as it was: whether a later delivery asked to be woken when this one settles.
        let before = deliveries
            .clone_with_type::<bson::Document>()
            .find_one_and_update(
                doc! { "_id": delivery.id.as_str(), "claim": claim },
                doc! {
                    "$set": set,
                    "$unset": { "claim": "" },
                    "$push": { "attempts": { "$each": [attempt], "$slice": -ATTEMPTS_KEPT } },
                },
            )
            .projection(doc! { "has_waiters": 1 })
            .await?;
        let has_waiters = before.is_some_and(|d| d.get_bool("has_waiters").unwrap_or(false));
        if settled && has_waiters {
            self.wake_waiters(delivery, now).await?;
        }
        if let Some(endpoint) = endpoint
            && !outcome.abandon
        {
            self.endpoint_health(endpoint, outcome.ok, now).await?;
        }
        Ok(())
    }

    async fn endpoint_health(
        &self,
        endpoint: &EndpointDoc,
        ok: bool,
        now: DateTime,
    ) -> mongodb::error::Result<()> {
        let endpoints = self.store.webhook_endpoints();
        let id = endpoint.id.as_str();
        match (ok, endpoint.failing_since) {
            (true, None) => {}
            (true, Some(_)) => {
                endpoints
                    .update_one(doc! { "_id": id }, doc! { "$set": { "failing_since": null } })
                    .await?;
            }
            (false, None) => {
                endpoints
                    .update_one(
                        doc! { "_id": id, "failing_since": null },
                        doc! { "$set": { "failing_since": now } },
                    )
                    .await?;
            }
            (false, Some(since)) => {
                let limit = self.config.disable_after.as_millis() as i64;
                if now.timestamp_millis() - since.timestamp_millis() >= limit {
                    let disabled = endpoints
                        .update_one(
                            doc! { "_id": id, "disabled": false, "failing_since": since },
                            doc! { "$set": {
                                "disabled": true,
                                "disabled_reason": format!(
                                    "every delivery failed for {}",
                                    humanize(self.config.disable_after)
                                ),
                                "updated_at": now,
                            } },
                        )
                        .await?;
                    if disabled.modified_count == 1 {
                        tracing::warn!(endpoint_id = %id, "webhook endpoint disabled after failing for too long");
                    }
                }
            }
        }
        Ok(())
    }
}

impl Outcome {
    fn failed(started: Instant, error: String) -> Self {
        Self {
            attempt: AttemptDoc {
                at: DateTime::now(),
                response_status: None,
                latency_ms: started.elapsed().as_millis() as i64,
                error: Some(error),
                response_body: None,
            },
            ok: false,
            abandon: false,
        }
    }

    fn abandoned(why: &str) -> Self {
        Self {
            abandon: true,
            ..Self::failed(Instant::now(), format!("not sent: {why}"))
        }
    }
}

fn later(at: DateTime, by: Duration) -> DateTime {
    DateTime::from_millis(at.timestamp_millis().saturating_add(by.as_millis() as i64))
}

fn humanize(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{} days", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{} hours", s / 3600),
        s => format!("{s} s"),
    }
}

/// What went wrong, without the URL (it may carry a token) and with the cause (a refused address).
fn describe(err: &reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        return format!("timed out after {timeout:?}");
    }
    let mut text = if err.is_connect() {
        "could not connect".to_string()
    } else {
        "the request failed".to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The start of the answer's body (at most [`RESPONSE_BODY_LIMIT`] bytes) as text.
async fn read_capped(response: &mut reqwest::Response) -> Option<String> {
    let mut bytes: Vec<u8> = Vec::new();
    while bytes.len() < RESPONSE_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    if bytes.is_empty() {
        return None;
    }
    bytes.truncate(RESPONSE_BODY_LIMIT);
    Some(truncate_text(String::from_utf8_lossy(&bytes).into_owned()))
}

/// Cuts text to at most [`RESPONSE_BODY_LIMIT`] bytes on a character boundary.
fn truncate_text(mut text: String) -> String {
    if text.len() > RESPONSE_BODY_LIMIT {
        let mut end = RESPONSE_BODY_LIMIT;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_text_is_at_most_4_kib() {
        assert_eq!(truncate_text("é".repeat(3000)).len(), 4096);
        assert_eq!(truncate_text("x".repeat(10)), "x".repeat(10));
    }
}
