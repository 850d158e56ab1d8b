//! The operator's terminal: `oms queues` (a refreshing table, like `top`) and
//! `oms dead-letters list|replay`.

use std::process::ExitCode;
use std::time::Duration;

use oms_platform::rabbit::{Management, QueuesReport};
use oms_platform::{Broker, Config};
use tokio_util::sync::CancellationToken;

async fn broker(config: &Config) -> anyhow::Result<Broker> {
    Ok(Broker::connect(
        config.amqp_url.clone(),
        config.partitions,
        "oms-cli",
        Duration::from_secs(10),
    )
    .await?)
}

fn rate(value: Option<f64>) -> String {
    value
        .map(|r| format!("{r:.1}/s"))
        .unwrap_or_else(|| "-".to_string())
}

fn table(report: &QueuesReport) -> String {
    let mut out = format!(
        "{:<16} {:>8} {:>8} {:>9} {:>10} {:>10} {:>6}  {}\n",
        "QUEUE", "READY", "UNACKED", "CONSUMERS", "PUBLISH", "DELIVER", "DEAD", "ACTIVE CONSUMER"
    );
    for q in &report.queues {
        out.push_str(&format!(
            "{:<16} {:>8} {:>8} {:>9} {:>10} {:>10} {:>6}  {}\n",
            q.name,
            q.ready,
            q.unacknowledged
                .map(|n| n.to_string())
                .unwrap_or_else(|| "-".into()),
            q.consumers,
            rate(q.publish_rate),
            rate(q.deliver_rate),
            q.dead_letters,
            q.active_consumer
                .as_deref()
                .unwrap_or(if q.single_active_consumer { "(none)" } else { "" }),
        ));
    }
    if let Some(note) = &report.note {
        out.push_str(&format!("\nnote: {note}\n"));
    }
    out
}

/// `oms queues [--once]`: the queue view, refreshed every two seconds until Ctrl-C.
pub async fn queues(config: &Config, once: bool, shutdown: CancellationToken) -> anyhow::Result<ExitCode> {
    let broker = broker(config).await?;
    let management = Management::new(&config.rabbit_management_url);
    let vhost = config.amqp_vhost();
    loop {
        let report = oms_platform::rabbit::queues(&management, &broker, &vhost).await;
        if once {
            print!("{}", table(&report));
            break;
        }
        // Clear the screen and home the cursor, then draw.
        print!(
            "\x1b[2J\x1b[Homs queues — vhost {vhost} — {} (Ctrl-C to quit)\n\n{}",
            chrono::Utc::now().format("%H:%M:%S"),
            table(&report)
        );
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
    broker.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `oms dead-letters list [--queue Q] [--limit N]`: one queue's dead letters, or every queue's.
pub async fn list_dead_letters(
    config: &Config,
    queue: Option<&str>,
    limit: usize,
) -> anyhow::Result<ExitCode> {
    let broker = broker(config).await?;
    let letters = match queue {
        Some(queue) => oms_platform::dead_letters::list(&broker, queue, limit).await?,
        None => oms_platform::dead_letters::list_all(&broker, limit).await?,
    };
    if letters.is_empty() {
        println!("no dead letters in {}", queue.unwrap_or("any queue"));
    }
    for letter in &letters {
        println!(
            "{}  {:<16} {:<18} attempts={:<3} first_failure={} correlation={}\n    reason: {}",
            letter.id,
            letter.queue,
            letter.kind.as_deref().unwrap_or("?"),
            letter
                .attempts
                .map(|a| a.to_string())
                .unwrap_or_else(|| "?".into()),
            letter.first_failure_at.as_deref().unwrap_or("?"),
            letter.correlation_id.as_deref().unwrap_or("-"),
            letter.reason.as_deref().unwrap_or("(none given)"),
        );
    }
    broker.close().await;
    Ok(ExitCode::SUCCESS)
}

/// `oms dead-letters replay --queue Q [--id ID]... | --all`.
pub async fn replay_dead_letters(config: &Config, queue: &str, ids: &[String]) -> anyhow::Result<ExitCode> {
    let broker = broker(config).await?;
    let ids = (!ids.is_empty()).then_some(ids);
    let outcome = oms_platform::dead_letters::replay(&broker, queue, ids).await?;
    println!(
        "replayed {} dead letter(s) to {queue}; {} left in its dead-letter queue",
        outcome.replayed, outcome.kept
    );
    broker.close().await;
    Ok(ExitCode::SUCCESS)
}
