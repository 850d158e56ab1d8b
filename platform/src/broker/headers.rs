//! The AMQP headers OMS writes and reads, in one place: the cause an outgoing message names,
//! the failure bookkeeping a dead letter carries, and RabbitMQ's own counts.

use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString};

/// The id of the message an outgoing message follows from.
pub const CAUSATION_ID: &str = "causation_id";
/// Why the message was dead-lettered.
pub const REASON: &str = "x-oms-reason";
/// How many times it was tried.
pub const ATTEMPTS: &str = "x-oms-attempts";
pub const FIRST_FAILURE_AT: &str = "x-oms-first-failure-at";
pub const DEAD_LETTERED_AT: &str = "x-oms-dead-lettered-at";
/// The queue it was dead-lettered from.
pub const ORIGINAL_QUEUE: &str = "x-oms-original-queue";
pub const REPLAYED_AT: &str = "x-oms-replayed-at";
/// Quorum queues count deliveries here (absent on the first).
pub const DELIVERY_COUNT: &str = "x-delivery-count";
/// RabbitMQ's own dead-lettering record (a delivery limit reached).
pub const X_DEATH: &str = "x-death";

/// A text header.
pub fn text(headers: &FieldTable, key: &str) -> Option<String> {
    match headers.inner().get(key)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
        _ => None,
    }
}

/// An integer header, whichever integer type the writer chose.
pub fn int(headers: &FieldTable, key: &str) -> Option<i64> {
    match headers.inner().get(key)? {
        AMQPValue::LongLongInt(n) => Some(*n),
        AMQPValue::LongInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortInt(n) => Some(i64::from(*n)),
        AMQPValue::LongUInt(n) => Some(i64::from(*n)),
        AMQPValue::ShortUInt(n) => Some(i64::from(*n)),
        _ => None,
    }
}

/// A text header of a message's properties.
pub fn text_of(properties: &BasicProperties, key: &str) -> Option<String> {
    text(properties.headers().as_ref()?, key)
}

/// How many times the queue delivered the message before (0 on its first delivery).
pub fn delivery_count(properties: &BasicProperties) -> i64 {
    properties
        .headers()
        .as_ref()
        .and_then(|h| int(h, DELIVERY_COUNT))
        .unwrap_or(0)
}

/// A header value of text.
pub fn long_text(value: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(value))
}

/// The headers of a dead letter: the message's own, with why it failed (`reason`, cut to 1,000
/// characters), how many attempts, when it first failed (kept from an earlier dead-lettering),
/// when and from which queue it was dead-lettered.
pub fn dead_lettered(properties: &BasicProperties, reason: &str, attempt: i64, queue: &str) -> FieldTable {
    let mut headers = properties.headers().clone().unwrap_or_default();
    let now = chrono::Utc::now().to_rfc3339();
    let first = headers
        .inner()
        .get(FIRST_FAILURE_AT)
        .cloned()
        .unwrap_or_else(|| long_text(&now));
    let reason: String = reason.chars().take(1000).collect();
    headers.insert(REASON.into(), long_text(&reason));
    headers.insert(ATTEMPTS.into(), AMQPValue::LongLongInt(attempt));
    headers.insert(FIRST_FAILURE_AT.into(), first);
    headers.insert(DEAD_LETTERED_AT.into(), long_text(&now));
    headers.insert(ORIGINAL_QUEUE.into(), long_text(queue));
    headers
}

/// The headers of a replayed dead letter: its failure bookkeeping starts over (the first
/// failure time is kept for history), stamped with when it was replayed.
pub fn replayed(properties: &BasicProperties) -> FieldTable {
    let mut fresh = FieldTable::default();
    if let Some(headers) = properties.headers() {
        for (key, value) in headers.inner() {
            let stale = key.as_str().starts_with(X_DEATH)
                || (key.as_str().starts_with("x-oms-") && key.as_str() != FIRST_FAILURE_AT);
            if !stale {
                fresh.insert(key.clone(), value.clone());
            }
        }
    }
    fresh.insert(REPLAYED_AT.into(), long_text(&chrono::Utc::now().to_rfc3339()));
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_keeps_its_first_failure_and_a_replay_starts_over() {
        let first = dead_lettered(&BasicProperties::default(), "boom", 3, "oms.stock.p0");
        assert_eq!(text(&first, REASON).as_deref(), Some("boom"));
        assert_eq!(int(&first, ATTEMPTS), Some(3));
        assert_eq!(text(&first, ORIGINAL_QUEUE).as_deref(), Some("oms.stock.p0"));
        let failed_at = text(&first, FIRST_FAILURE_AT).expect("first failure");

        let again = BasicProperties::default().with_headers(first);
        let second = dead_lettered(&again, &"x".repeat(5000), 4, "oms.stock.p0");
        assert_eq!(text(&second, FIRST_FAILURE_AT), Some(failed_at.clone()));
        assert_eq!(text(&second, REASON).map(|r| r.chars().count()), Some(1000));

        let replay = replayed(&BasicProperties::default().with_headers(second));
        assert_eq!(text(&replay, REASON), None);
        assert_eq!(int(&replay, ATTEMPTS), None);
        assert_eq!(text(&replay, FIRST_FAILURE_AT), Some(failed_at));
        assert!(text(&replay, REPLAYED_AT).is_some());
    }
}
