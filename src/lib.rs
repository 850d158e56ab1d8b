//! Wiring for the `oms` binary: which parts run in this process. No business logic here.

pub mod bench;
pub mod ops_cli;
pub mod seed;

use std::process::ExitCode;

use oms_contracts::domain::Email;
use oms_platform::Config;
use oms_workers::{FailPoints, WorkerKind};
use tokio_util::sync::CancellationToken;

/// What one process runs.
pub struct Roles {
    pub api: bool,
    pub workers: Vec<WorkerKind>,
}

/// Connects, bootstraps and runs `roles` until `shutdown`; in-flight requests and deliveries
/// finish first.
pub async fn run(config: Config, roles: Roles, shutdown: CancellationToken) -> anyhow::Result<()> {
    let name = match (roles.api, roles.workers.is_empty()) {
        (true, true) => "oms-api",
        (true, false) => "oms-up",
        (false, _) => "oms-worker",
    };
    let (store, broker) = oms_platform::connect(&config, name).await?;
    let workers = (!roles.workers.is_empty()).then(|| {
        let config = config.clone();
        let (store, broker, shutdown) = (store.clone(), broker.clone(), shutdown.clone());
        tokio::spawn(async move {
            oms_workers::run(
                &config,
                store,
                broker,
                &roles.workers,
                FailPoints::default(),
                shutdown,
            )
            .await;
        })
    });
    let api = if roles.api {
        oms_api::bootstrap(&config, &store).await?;
        let app = oms_api::Application::build(config, store, broker.clone()).await?;
        app.run_until(shutdown.clone()).await
    } else {
        shutdown.cancelled().await;
        Ok(())
    };
    // The API stopping (an error, or the signal) stops the workers too.
    shutdown.cancel();
    if let Some(workers) = workers {
        let _ = workers.await;
    }
    broker.close().await;
    tracing::info!("stopped cleanly: in-flight work finished, connections closed");
    api.map_err(Into::into)
}

async fn connect_store(config: &Config) -> anyhow::Result<oms_platform::Store> {
    let store = oms_platform::Store::connect(
        &config.mongo_uri,
        &config.mongo_db,
        "oms-cli",
        oms_platform::STARTUP_PATIENCE,
    )
    .await?;
    Ok(store)
}

/// `oms verify [--product ID] [--since WHEN]`: prints the invariant report (progress on standard
/// error as it goes); exit status 1 when anything is violated.
pub async fn verify(config: &Config, product: Option<&str>, since: Option<&str>) -> anyhow::Result<ExitCode> {
    let scope = oms_platform::verify::Scope {
        product: product
            .map(|raw| oms_contracts::ProductId::parse(raw).map_err(|e| anyhow::anyhow!("--product: {e}")))
            .transpose()?,
        since: since.map(parse_since).transpose()?,
    };
    let store = connect_store(config).await?;
    let started = std::time::Instant::now();
    let report = oms_platform::verify::verify_scoped(&store, config.reconcile_after, &scope, &mut |p| {
        eprint!(
            "\rchecked {} products, {} orders ({:.1} s)",
            p.products_checked,
            p.orders_checked,
            started.elapsed().as_secs_f64()
        );
    })
    .await?;
    eprintln!();
    println!(
        "checked {} products and {} orders ({} changed within {:?}, not judged)",
        report.products_checked, report.orders_checked, report.orders_in_flight, config.reconcile_after
    );
    for violation in &report.violations {
        println!(
            "VIOLATION {:<22} {}  {}",
            violation.kind, violation.subject, violation.detail
        );
    }
    if report.ok {
        println!("ok: every invariant holds");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("{} violation(s)", report.violations.len());
        Ok(ExitCode::from(1))
    }
}

/// `oms seed`: bulk realistic orders, then the analytics read model rebuilt from them.
pub async fn seed_store(
    config: &Config,
    orders: usize,
    products: usize,
    users: usize,
) -> anyhow::Result<ExitCode> {
    let store = connect_store(config).await?;
    store.ensure_indexes().await?;
    let started = std::time::Instant::now();
    let seeded = seed::seed(&store, orders, products, users).await?;
    eprintln!(
        "seeded {} orders of {} shoppers over {} products in {:.1} s; the busiest shopper is {} (password {})",
        seeded.orders,
        seeded.users,
        seeded.products,
        started.elapsed().as_secs_f64(),
        seeded.busiest_user,
        seed::PASSWORD
    );
    eprintln!(
        "run `oms analytics rebuild` (with the analytics workers stopped) to count them in the read model"
    );
    Ok(ExitCode::SUCCESS)
}

/// `--since`: an RFC 3339 time, or a duration back from now (`90m`, `1h`).
fn parse_since(raw: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(raw) {
        return Ok(at.with_timezone(&chrono::Utc));
    }
    let back = oms_platform::config::parse_duration(raw)
        .map_err(|e| anyhow::anyhow!("--since: an RFC 3339 time or a duration such as 1h ({e})"))?;
    Ok(chrono::Utc::now() - chrono::Duration::from_std(back)?)
}

/// `oms analytics rebuild`: the analytics read model built again from the orders.
pub async fn rebuild_analytics(config: &Config) -> anyhow::Result<ExitCode> {
    let store = connect_store(config).await?;
    store.ensure_indexes().await?;
    let started = std::time::Instant::now();
    let rebuilt = oms_workers::analytics::rebuild::rebuild(&store).await?;
    println!(
        "rebuilt the analytics read model from {} orders ({} status changes) in {:.1} s",
        rebuilt.orders,
        rebuilt.changes,
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

/// `oms user promote EMAIL`.
pub async fn promote_user(config: &Config, email: &str) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("EMAIL {e}"))?;
    let store = connect_store(config).await?;
    if oms_api::auth::promote(&store, &email).await? {
        println!("{email} is now an admin");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("oms: no account with the e-mail address {email}");
        Ok(ExitCode::from(1))
    }
}
