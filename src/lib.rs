//! Wiring for the `oms` binary: which parts run in this process. No business logic here.

use std::process::ExitCode;

use oms_contracts::domain::Email;
use oms_platform::Config;
use tokio_util::sync::CancellationToken;

/// Connects, bootstraps and serves the API until `shutdown`.
pub async fn serve(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let (store, broker) = oms_platform::connect(&config, "oms-api").await?;
    oms_api::bootstrap(&config, &store).await?;
    let app = oms_api::Application::build(config, store, broker.clone()).await?;
    let result = app.run_until(shutdown).await;
    broker.close().await;
    result.map_err(Into::into)
}

/// `oms user promote EMAIL`.
pub async fn promote_user(config: &Config, email: &str) -> anyhow::Result<ExitCode> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("EMAIL {e}"))?;
    let store = oms_platform::Store::connect(
        &config.mongo_uri,
        &config.mongo_db,
        "oms-cli",
        oms_platform::STARTUP_PATIENCE,
    )
    .await?;
    if oms_api::auth::promote(&store, &email).await? {
        println!("{email} is now an admin");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("oms: no account with the e-mail address {email}");
        Ok(ExitCode::from(1))
    }
}
