//! Logging and tracing: one subscriber, `RUST_LOG` as the filter (default `info`),
//! human text or JSON lines (`OMS_LOG_FORMAT=json`). Secrets never reach a log line:
//! they live in `SecretString`s, whose `Debug` prints a placeholder.

use std::sync::Once;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

use crate::config::LogFormat;

/// Installs the global subscriber. Call once, first thing in `main`. Logs go to standard
/// error; text logs are coloured only when that is a terminal (a file or a pipe gets plain text).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::NONE)
        .with_target(true)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Json => builder.json().flatten_event(true).with_current_span(true).init(),
        LogFormat::Text => builder.init(),
    }
}

/// For tests: logs go to the test harness's captured output, filtered by `TEST_LOG`
/// (nothing by default, so a passing test run stays quiet).
pub fn init_for_test() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let filter = std::env::var("TEST_LOG").unwrap_or_else(|_| "off".to_string());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    });
}
