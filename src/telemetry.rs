use tracing_subscriber::EnvFilter;

/// Logs to stderr. `filter` uses `RUST_LOG` syntax (e.g. `info`, `latchkey=debug`).
pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
