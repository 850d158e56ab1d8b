//! `oms`: the one binary. It parses the command line and hands over to the libraries.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use oms::Roles;
use oms_platform::{Config, telemetry};
use oms_workers::WorkerKind;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "oms",
    version,
    about = "OMS: order and inventory management (API, workers, operations)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and every worker in one process.
    Up {
        /// Worker kinds not to run here (comma-separated), e.g. when another process runs them.
        #[arg(long, value_delimiter = ',', value_name = "KINDS")]
        without: Vec<WorkerArg>,
    },
    /// Run the HTTP API only.
    Api,
    /// Run workers of one kind, or all of them. Start several processes for fail-over:
    /// each partition has one active consumer and the others stand by.
    Worker {
        #[arg(value_enum)]
        kind: WorkerArg,
    },
    /// Check every stock and order invariant over the store; exit status 1 on any violation.
    Verify {
        /// Only this product: its stock against its ledger, and the orders that reserved it.
        #[arg(long)]
        product: Option<String>,
        /// Only orders changed since then: an RFC 3339 time, or a duration back from now (`1h`).
        #[arg(long)]
        since: Option<String>,
    },
    /// The queues as RabbitMQ sees them, refreshed every two seconds (like `top`).
    Queues {
        /// Print the table once and exit.
        #[arg(long)]
        once: bool,
    },
    /// Fill the store with realistic orders (bulk, consistent with the ledger) to measure reads at scale.
    Seed {
        #[arg(long, default_value_t = 100_000)]
        orders: usize,
        #[arg(long, default_value_t = 500)]
        products: usize,
        #[arg(long, default_value_t = 2_000)]
        users: usize,
    },
    /// List or replay dead letters.
    DeadLetters {
        #[command(subcommand)]
        command: DeadLetterCommand,
    },
    /// Load-test a running OMS over HTTP (use a release build).
    Bench {
        /// The API's base URL; several (repeated, or comma-separated) spread the clients over
        /// them, client i sending to URL i mod n.
        #[arg(long, value_delimiter = ',', default_value = "http://127.0.0.1:8080")]
        url: Vec<String>,
        #[arg(long, value_enum, default_value = "uniform")]
        scenario: oms::bench::Scenario,
        /// How many orders to place.
        #[arg(long, default_value_t = 1000)]
        orders: usize,
        /// How many clients place orders at once.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Offer orders at this rate (orders/s, open loop) instead of as fast as the clients can.
        #[arg(long)]
        rate: Option<f64>,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<std::path::PathBuf>,
    },
    /// Print the API's OpenAPI document (JSON); needs no configuration or services.
    Openapi,
    /// The analytics read model.
    Analytics {
        #[command(subcommand)]
        command: AnalyticsCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum WorkerArg {
    /// Stock changes (`oms.stock.<k>`).
    Stock,
    /// Order process managers (`oms.orders.<k>`) and the reconciler.
    Orders,
    /// Image uploads to the image store (`oms.images`), competing consumers.
    Images,
    /// The analytics projection (`oms.analytics`).
    Analytics,
    /// In-app notifications from order events (`oms.notifications`).
    Notifications,
    /// Webhook fan-out (`oms.webhooks`) and deliveries with their retry schedule.
    Webhooks,
    /// Every worker kind.
    All,
}

impl WorkerArg {
    fn kinds(self) -> Vec<WorkerKind> {
        match self {
            WorkerArg::Stock => vec![WorkerKind::Stock],
            WorkerArg::Orders => vec![WorkerKind::Orders],
            WorkerArg::Images => vec![WorkerKind::Images],
            WorkerArg::Analytics => vec![WorkerKind::Analytics],
            WorkerArg::Notifications => vec![WorkerKind::Notifications],
            WorkerArg::Webhooks => vec![WorkerKind::Webhooks],
            WorkerArg::All => WorkerKind::ALL.to_vec(),
        }
    }
}

#[derive(Subcommand)]
enum AnalyticsCommand {
    /// Rebuild the read model from the orders (stop the analytics workers first).
    Rebuild,
}

#[derive(Subcommand)]
enum DeadLetterCommand {
    /// Show dead letters with their queue, reason and attempts (they stay where they are).
    List {
        /// Only this queue's, e.g. oms.orders.3 (its .dlq name works too); every queue's when absent.
        #[arg(long)]
        queue: Option<String>,
        /// At most this many per queue.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Move dead letters back to their queue (each removed only after its publish is confirmed).
    Replay {
        #[arg(long)]
        queue: String,
        /// The dead letters to replay (ids from `list`).
        #[arg(long = "id", required_unless_present = "all")]
        ids: Vec<String>,
        /// Replay every dead letter of the queue.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Give an existing account the admin role.
    Promote {
        /// The account's e-mail address.
        email: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The document comes from the code alone: no configuration is needed to print it.
    if let Command::Openapi = cli.command {
        return print_openapi();
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("oms: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("oms: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "oms stopped");
            eprintln!("oms: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    match command {
        Command::Up { without } => {
            let without: Vec<WorkerKind> = without.into_iter().flat_map(WorkerArg::kinds).collect();
            let roles = Roles {
                api: true,
                workers: WorkerKind::ALL
                    .into_iter()
                    .filter(|k| !without.contains(k))
                    .collect(),
            };
            oms::run(config, roles, shutdown_on_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Api => {
            let roles = Roles {
                api: true,
                workers: Vec::new(),
            };
            oms::run(config, roles, shutdown_on_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Worker { kind } => {
            let workers = kind.kinds();
            oms::run(config, Roles { api: false, workers }, shutdown_on_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            command: UserCommand::Promote { email },
        } => oms::promote_user(&config, &email).await,
        Command::Verify { product, since } => {
            oms::verify(&config, product.as_deref(), since.as_deref()).await
        }
        Command::Analytics {
            command: AnalyticsCommand::Rebuild,
        } => oms::rebuild_analytics(&config).await,
        Command::Seed {
            orders,
            products,
            users,
        } => oms::seed_store(&config, orders, products, users).await,
        Command::Queues { once } => oms::ops_cli::queues(&config, once, shutdown_on_signal()).await,
        Command::DeadLetters {
            command: DeadLetterCommand::List { queue, limit },
        } => oms::ops_cli::list_dead_letters(&config, queue.as_deref(), limit).await,
        Command::DeadLetters {
            command: DeadLetterCommand::Replay { queue, ids, all: _ },
        } => oms::ops_cli::replay_dead_letters(&config, &queue, &ids).await,
        Command::Openapi => Ok(print_openapi()),
        Command::Bench {
            url,
            scenario,
            orders,
            concurrency,
            rate,
            json,
        } => {
            let admin = config.admin.as_ref().ok_or_else(|| {
                anyhow::anyhow!("oms bench signs in as OMS_ADMIN_EMAIL / OMS_ADMIN_PASSWORD; set them")
            })?;
            let report = oms::bench::run(oms::bench::BenchArgs {
                config: config.clone(),
                urls: url,
                scenario,
                orders,
                concurrency,
                rate,
                admin_email: admin.email.clone(),
                admin_password: secrecy::ExposeSecret::expose_secret(&admin.password).to_string(),
            })
            .await?;
            let text = serde_json::to_string_pretty(&report)?;
            println!("{text}");
            if let Some(path) = json {
                std::fs::write(&path, &text)?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_openapi() -> ExitCode {
    print!("{}", oms_api::openapi::document_json());
    ExitCode::SUCCESS
}

/// Cancelled on Ctrl-C or SIGTERM.
fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    trigger.cancel();
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutting down");
        trigger.cancel();
    });
    token
}
