//! Publishing what a batch decided (publisher confirms, unroutable messages) before its
//! deliveries are acknowledged.

use backoff::backoff::Backoff;
use lapin::message::Delivery;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::process::causation_id;
use super::*;
use oms_platform::broker::headers::delivery_count;

impl<H: Handler> Consumer<H> {
    /// Publishes each committed job's messages (confirmed) and then acks its deliveries, in
    /// the order they were decided.
    pub(super) async fn send(&self, mut jobs: mpsc::Receiver<Job>, stop: &CancellationToken) -> SessionEnd {
        loop {
            let job = tokio::select! {
                _ = stop.cancelled() => return SessionEnd::Lost,
                job = jobs.recv() => job,
            };
            let Some(Job {
                deliveries,
                outbox,
                acked,
            }) = job
            else {
                return if self.shutdown.is_cancelled() {
                    SessionEnd::Shutdown
                } else {
                    SessionEnd::Lost
                };
            };
            let Some(last) = deliveries.last() else {
                if let Some(acked) = acked {
                    let _ = acked.send(());
                }
                continue;
            };
            match self.confirm(outbox, &deliveries, stop).await {
                Sent::Confirmed => {}
                Sent::Settled => {
                    if let Some(acked) = acked {
                        let _ = acked.send(());
                    }
                    continue;
                }
                Sent::Over => {
                    stop.cancel();
                    return SessionEnd::Lost;
                }
            }
            // One ack for the job: every delivery up to its last one on this channel (the
            // dead-lettered ones among them are acked already, earlier jobs before this one).
            if !ack(last, deliveries.len() > 1).await {
                // Unacked: they will come back, and the handler is idempotent.
                stop.cancel();
                return SessionEnd::Lost;
            }
            metrics::counter!("oms_messages_acked_total", "queue" => self.queue.clone())
                .increment(deliveries.len() as u64);
            if let Some(acked) = acked {
                let _ = acked.send(());
            }
        }
    }

    /// Publishes `outbox` with confirms, retrying transient failures while the session lasts.
    /// A message that no queue takes is a permanent failure of the delivery that caused it:
    /// that delivery is dead-lettered, the others are acked one by one.
    pub(super) async fn confirm(
        &self,
        outbox: Outbox,
        deliveries: &[Delivery],
        stop: &CancellationToken,
    ) -> Sent {
        let mut retry = backoff(Duration::from_secs(2));
        loop {
            let err = match self.broker.publish_all(outbox.clone()).await {
                Ok(()) => return Sent::Confirmed,
                Err(err) => err,
            };
            if matches!(err, oms_platform::BrokerError::Unroutable(_)) {
                match self.unroutable(&outbox, deliveries).await {
                    Ok(sent) => return sent,
                    // A transient failure while sorting them out: start over.
                    Err(other) => tracing::warn!(queue = %self.queue, error = %other, "cannot publish yet"),
                }
            }
            let wait = retry.next_backoff().unwrap_or(Duration::from_secs(2));
            metrics::counter!("oms_messages_retried_total", "queue" => self.queue.clone())
                .increment(deliveries.len() as u64);
            tracing::warn!(queue = %self.queue, error = %err, retry_in = ?wait, "cannot publish yet; retrying");
            tokio::select! {
                // Committed and recorded: unacked, it comes back and is re-sent from the record.
                _ = self.shutdown.cancelled() => return Sent::Over,
                _ = stop.cancelled() => return Sent::Over,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Some message of `outbox` has no queue: publishes them one by one to find which, and
    /// dead-letters the deliveries that caused those (every outgoing message names its cause
    /// in its `causation_id` header), acking the others.
    pub(super) async fn unroutable(
        &self,
        outbox: &Outbox,
        deliveries: &[Delivery],
    ) -> Result<Sent, oms_platform::BrokerError> {
        let mut culprits: Vec<(String, String)> = Vec::new();
        for message in outbox {
            match self.broker.publish(message.clone()).await {
                Ok(()) => {}
                Err(oms_platform::BrokerError::Unroutable(key)) => {
                    culprits.push((causation_id(&message.properties).unwrap_or_default(), key));
                }
                Err(other) => return Err(other),
            }
        }
        for delivery in deliveries {
            let id = delivery.properties.message_id().as_ref().map(|id| id.to_string());
            let culprit = culprits.iter().find(|(cause, _)| Some(cause) == id.as_ref());
            let done = match culprit {
                Some((_, key)) => {
                    let reason = format!("no queue for routing key {key}");
                    tracing::error!(queue = %self.queue, %reason, "dead-lettering the message that sends it");
                    let attempt = delivery_count(&delivery.properties) + 1;
                    matches!(
                        self.dead_letter(delivery, &reason, attempt).await,
                        Processed::Done
                    )
                }
                None => ack(delivery, false).await,
            };
            if !done {
                return Ok(Sent::Over);
            }
        }
        Ok(Sent::Settled)
    }
}
