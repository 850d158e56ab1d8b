//! Deciding deliveries: one at a time or as a batch, with retries, and dead-lettering what
//! cannot be handled; what the AMQP headers say about a delivery.

use backoff::backoff::Backoff;
use lapin::message::Delivery;
use lapin::{BasicProperties, Channel};
use oms_contracts::messages::Envelope;
use oms_contracts::routing::DEAD_LETTER_EXCHANGE;
use oms_platform::broker::Outgoing;
use oms_platform::broker::headers::{self, delivery_count};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::Instrument;

use super::*;

impl<H: Handler> Consumer<H> {
    pub(super) async fn process(&self, channel: &Channel, delivery: Delivery) -> Processed {
        let attempt = delivery_count(&delivery.properties) + 1;
        metrics::counter!("oms_messages_consumed_total", "queue" => self.queue.clone()).increment(1);
        let envelope: Envelope<H::Message> = match serde_json::from_slice(&delivery.data) {
            Ok(envelope) => envelope,
            Err(err) => {
                let reason = format!("unparseable message: {err}");
                return self.dead_letter(&delivery, &reason, attempt).await;
            }
        };
        let span = tracing::info_span!(
            "handle",
            queue = %self.queue,
            message_id = %envelope.message_id,
            correlation_id = %envelope.correlation_id,
            causation_id = %envelope.causation_id,
            kind = delivery.properties.kind().as_ref().map(|k| k.as_str()).unwrap_or("-"),
            attempt,
        );
        let kind = delivery
            .properties
            .kind()
            .as_ref()
            .map(|k| k.as_str().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let mut retry = backoff(Duration::from_secs(2));
        loop {
            let started = std::time::Instant::now();
            let result = self.handler.handle(&envelope).instrument(span.clone()).await;
            metrics::histogram!("oms_handler_duration_seconds", "type" => kind.clone())
                .record(started.elapsed().as_secs_f64());
            match result {
                Ok(outbox) => {
                    return Processed::Decided(Job {
                        deliveries: vec![delivery],
                        outbox,
                        acked: None,
                    });
                }
                Err(HandleError::Transient(err)) => {
                    if !channel.status().connected() {
                        // The broker has given this delivery (and the partition) to another
                        // consumer: retrying here would race it.
                        span.in_scope(|| tracing::warn!(error = %format!("{err:#}"), "channel lost while retrying; giving the delivery up"));
                        return Processed::Lost;
                    }
                    let wait = retry.next_backoff().unwrap_or(Duration::from_secs(2));
                    metrics::counter!("oms_messages_retried_total", "queue" => self.queue.clone())
                        .increment(1);
                    span.in_scope(|| tracing::warn!(error = %format!("{err:#}"), retry_in = ?wait, "transient failure; retrying"));
                    tokio::select! {
                        // Leave it unacked: the broker gives it to whoever consumes next.
                        _ = self.shutdown.cancelled() => return Processed::Shutdown,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(HandleError::Permanent(reason)) => {
                    span.in_scope(|| tracing::error!(%reason, "permanent failure; dead-lettering"));
                    return self.dead_letter(&delivery, &reason, attempt).await;
                }
                Err(HandleError::Crash(point)) => {
                    span.in_scope(|| tracing::warn!(point, "fail point: simulating a crash"));
                    return Processed::Lost;
                }
            }
        }
    }

    /// Handles several deliveries as one batch, to be acked with one `multiple` ack. An
    /// unparseable one is dead-lettered by itself; if the batch fails permanently, each
    /// delivery is handled alone (each its own job), so that only the bad one is dead-lettered.
    pub(super) async fn process_batch(
        &self,
        channel: &Channel,
        deliveries: Vec<Delivery>,
        jobs: &mpsc::Sender<Job>,
    ) -> Processed {
        let mut parsed = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            metrics::counter!("oms_messages_consumed_total", "queue" => self.queue.clone()).increment(1);
            match serde_json::from_slice::<Envelope<H::Message>>(&delivery.data) {
                Ok(envelope) => parsed.push((delivery, envelope)),
                Err(err) => {
                    let attempt = delivery_count(&delivery.properties) + 1;
                    let reason = format!("unparseable message: {err}");
                    match self.dead_letter(&delivery, &reason, attempt).await {
                        Processed::Done => {}
                        other => return other,
                    }
                }
            }
        }
        let (deliveries, envelopes): (Vec<Delivery>, Vec<Envelope<H::Message>>) = parsed.into_iter().unzip();
        if deliveries.is_empty() {
            return Processed::Done;
        }
        let span = tracing::info_span!("handle_batch", queue = %self.queue, size = envelopes.len());
        let mut retry = backoff(Duration::from_secs(2));
        loop {
            let started = std::time::Instant::now();
            let result = self
                .handler
                .handle_batch(&envelopes)
                .instrument(span.clone())
                .await;
            metrics::histogram!("oms_batch_duration_seconds", "queue" => self.queue.clone())
                .record(started.elapsed().as_secs_f64());
            match result {
                Ok(outbox) => {
                    return Processed::Decided(Job {
                        deliveries,
                        outbox,
                        acked: None,
                    });
                }
                Err(HandleError::Transient(err)) => {
                    if !channel.status().connected() {
                        span.in_scope(|| tracing::warn!(error = %format!("{err:#}"), "channel lost while retrying; giving the batch up"));
                        return Processed::Lost;
                    }
                    let wait = retry.next_backoff().unwrap_or(Duration::from_secs(2));
                    metrics::counter!("oms_messages_retried_total", "queue" => self.queue.clone())
                        .increment(deliveries.len() as u64);
                    span.in_scope(|| tracing::warn!(error = %format!("{err:#}"), retry_in = ?wait, "transient failure; retrying the batch"));
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return Processed::Shutdown,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(HandleError::Permanent(reason)) => {
                    span.in_scope(|| tracing::warn!(%reason, "batch failed permanently; handling its messages one at a time"));
                    for delivery in deliveries {
                        match self.process(channel, delivery).await {
                            Processed::Decided(job) => {
                                if !self.hand_over(job, jobs).await {
                                    return Processed::Lost;
                                }
                            }
                            Processed::Done => {}
                            other => return other,
                        }
                    }
                    return Processed::Done;
                }
                Err(HandleError::Crash(point)) => {
                    span.in_scope(|| tracing::warn!(point, "fail point: simulating a crash"));
                    return Processed::Lost;
                }
            }
        }
    }

    /// Moves the delivery to its dead-letter queue with the reason in its headers
    /// (published with a confirm first, then acked, so it is never lost in between).
    pub(super) async fn dead_letter(&self, delivery: &Delivery, reason: &str, attempt: i64) -> Processed {
        let headers = headers::dead_lettered(&delivery.properties, reason, attempt, &self.queue);
        let properties: BasicProperties = delivery.properties.clone().with_headers(headers);
        let message = Outgoing {
            exchange: DEAD_LETTER_EXCHANGE,
            routing_key: self.queue.clone(),
            payload: delivery.data.clone(),
            properties,
        };
        let mut retry = backoff(Duration::from_secs(2));
        loop {
            match self.broker.publish(message.clone()).await {
                Ok(()) => break,
                Err(err) => {
                    let wait = retry.next_backoff().unwrap_or(Duration::from_secs(2));
                    tracing::warn!(queue = %self.queue, error = %err, "cannot dead-letter yet; retrying");
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return Processed::Shutdown,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        if !ack(delivery, false).await {
            return Processed::Lost;
        }
        metrics::counter!("oms_messages_dead_lettered_total", "queue" => self.queue.clone()).increment(1);
        Processed::Done
    }
}

/// The message an outgoing message follows from, as `Outgoing` records it.
pub(super) fn causation_id(properties: &BasicProperties) -> Option<String> {
    headers::text_of(properties, headers::CAUSATION_ID)
}
