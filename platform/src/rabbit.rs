//! What RabbitMQ says about OMS's queues: depth, consumers, the active consumer of
//! single-active-consumer queues and rates, from the management HTTP API; when that API is
//! unreachable, counts from passive declares over AMQP (and a note saying so).

use std::time::Duration;

use lapin::options::QueueDeclareOptions;
use lapin::types::{FieldTable, ShortString};
use oms_contracts::routing::{self, QueueKind};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::Value;

use crate::Broker;
use crate::urls::ServiceUrl;

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct QueueView {
    pub name: String,
    /// `stock`, `orders` or `images`.
    pub kind: &'static str,
    pub partition: Option<u32>,
    pub ready: u64,
    pub unacknowledged: Option<u64>,
    pub consumers: u64,
    pub single_active_consumer: bool,
    /// The connection (process) whose consumer is active, for single-active-consumer queues.
    pub active_consumer: Option<String>,
    pub publish_rate: Option<f64>,
    pub deliver_rate: Option<f64>,
    pub dead_letter_queue: String,
    pub dead_letters: u64,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct QueuesReport {
    /// `management` (full detail) or `amqp` (counts only).
    pub source: &'static str,
    pub note: Option<String>,
    pub queues: Vec<QueueView>,
}

/// The management API's base URLs (without credentials; one per node of a cluster, tried in
/// order) and its credentials.
#[derive(Clone)]
pub struct Management {
    bases: Vec<String>,
    user: String,
    password: SecretString,
    http: reqwest::Client,
}

impl Management {
    /// From `http://user:pass@host:15672`, or `http://user:pass@host1:15672,host2:15672` for a
    /// cluster (any node's API describes the whole cluster).
    pub fn new(url: &SecretString) -> Self {
        let url = ServiceUrl::parse(url.expose_secret());
        let (bases, user, password) = match url {
            Some(url) => (
                url.each_origin(),
                url.user.unwrap_or_else(|| "guest".into()),
                url.password.unwrap_or_else(|| "guest".into()),
            ),
            None => (
                vec!["http://127.0.0.1:15672".into()],
                "guest".into(),
                "guest".into(),
            ),
        };
        Self {
            bases,
            user,
            password: password.into(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
        }
    }

    /// GET `path` from the first node whose API answers.
    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let mut last = None;
        for base in &self.bases {
            match self.get_from(base, path).await {
                Ok(value) => return Ok(value),
                Err(err) => last = Some(err),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no management API address")))
    }

    async fn get_from(&self, base: &str, path: &str) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(format!("{base}{path}"))
            .basic_auth(&self.user, Some(self.password.expose_secret()))
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "management API answered {}",
            response.status()
        );
        Ok(response.json().await?)
    }
}

fn encode(segment: &str) -> String {
    segment
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn kind_name(kind: QueueKind) -> &'static str {
    match kind {
        QueueKind::Stock => "stock",
        QueueKind::Orders => "orders",
        QueueKind::Images => "images",
        QueueKind::Notifications => "notifications",
        QueueKind::Webhooks => "webhooks",
    }
}

/// Every queue OMS declares, as RabbitMQ sees it now.
pub async fn queues(management: &Management, broker: &Broker, vhost: &str) -> QueuesReport {
    match from_management(management, vhost, broker.partitions()).await {
        Ok(queues) => QueuesReport {
            source: "management",
            note: None,
            queues,
        },
        Err(err) => {
            tracing::warn!(error = %format!("{err:#}"), "management API unavailable; counting with passive declares");
            QueuesReport {
                source: "amqp",
                note: Some(format!(
                    "RabbitMQ's management API is unavailable ({err}); showing counts from passive declares only"
                )),
                queues: from_amqp(broker).await.unwrap_or_default(),
            }
        }
    }
}

async fn from_management(
    management: &Management,
    vhost: &str,
    partitions: u32,
) -> anyhow::Result<Vec<QueueView>> {
    let vhost = encode(vhost);
    // Connection id (host:port pair) → the name the process gave its connection.
    let connections = management
        .get(&format!("/api/vhosts/{vhost}/connections"))
        .await?;
    let connection_names: std::collections::HashMap<String, String> = connections
        .as_array()
        .map(|all| {
            all.iter()
                .filter_map(|c| {
                    let name = c.get("name")?.as_str()?;
                    let given = c
                        .get("user_provided_name")
                        .or_else(|| c.pointer("/client_properties/connection_name"))?
                        .as_str()?;
                    Some((name.to_string(), given.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    let mut views = Vec::new();
    for spec in routing::all_queues(partitions) {
        let q = management
            .get(&format!("/api/queues/{vhost}/{}", encode(&spec.name)))
            .await?;
        let dlq = management
            .get(&format!(
                "/api/queues/{vhost}/{}",
                encode(&spec.dead_letter_queue())
            ))
            .await?;
        let count = |v: &Value, key: &str| v.get(key).and_then(Value::as_u64).unwrap_or(0);
        let rate = |v: &Value, key: &str| {
            v.pointer(&format!("/message_stats/{key}/rate"))
                .and_then(Value::as_f64)
        };
        // The consumer RabbitMQ made active, named by its connection's client-given name.
        let active_tag = q.get("single_active_consumer_ctag").and_then(Value::as_str);
        let active_consumer = active_tag.and_then(|tag| {
            q.get("consumer_details")?.as_array()?.iter().find_map(|c| {
                (c.get("consumer_tag")?.as_str()? == tag).then(|| {
                    let connection = c
                        .pointer("/channel_details/connection_name")
                        .and_then(Value::as_str);
                    connection
                        .and_then(|name| connection_names.get(name))
                        .cloned()
                        .or(connection.map(str::to_string))
                        .unwrap_or_else(|| tag.to_string())
                })
            })
        });
        views.push(QueueView {
            kind: kind_name(spec.kind),
            partition: spec.partition,
            ready: count(&q, "messages_ready"),
            unacknowledged: Some(count(&q, "messages_unacknowledged")),
            consumers: count(&q, "consumers"),
            single_active_consumer: spec.single_active_consumer(),
            active_consumer,
            publish_rate: rate(&q, "publish_details"),
            deliver_rate: rate(&q, "deliver_get_details"),
            dead_letter_queue: spec.dead_letter_queue(),
            dead_letters: count(&dlq, "messages"),
            name: spec.name,
        });
    }
    Ok(views)
}

async fn from_amqp(broker: &Broker) -> anyhow::Result<Vec<QueueView>> {
    let connection = broker.dedicated_connection("ops", Duration::from_secs(3)).await?;
    let mut views = Vec::new();
    for spec in routing::all_queues(broker.partitions()) {
        // A failed passive declare closes the channel: one channel per declare.
        let passive = |name: String| {
            let connection = &connection;
            async move {
                let channel = connection.create_channel().await?;
                let queue = channel
                    .queue_declare(
                        ShortString::from(name.as_str()),
                        QueueDeclareOptions {
                            passive: true,
                            ..QueueDeclareOptions::default()
                        },
                        FieldTable::default(),
                    )
                    .await?;
                let _ = channel.close(200, "done".into()).await;
                Ok::<_, lapin::Error>((
                    u64::from(queue.message_count()),
                    u64::from(queue.consumer_count()),
                ))
            }
        };
        let (ready, consumers) = passive(spec.name.clone()).await?;
        let (dead_letters, _) = passive(spec.dead_letter_queue()).await?;
        views.push(QueueView {
            kind: kind_name(spec.kind),
            partition: spec.partition,
            ready,
            unacknowledged: None,
            consumers,
            single_active_consumer: spec.single_active_consumer(),
            active_consumer: None,
            publish_rate: None,
            deliver_rate: None,
            dead_letter_queue: spec.dead_letter_queue(),
            dead_letters,
            name: spec.name,
        });
    }
    let _ = connection.close(200, "done".into()).await;
    Ok(views)
}
