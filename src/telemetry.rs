use tracing_subscriber::EnvFilter;

/// Logs to stderr. `filter` uses `RUST_LOG` syntax (e.g. `info`, `latchkey=debug`); `json`
/// writes one JSON object per line, for log shippers. Field values are escaped either way, so
/// client-supplied text cannot forge a line.
pub fn init(filter: &str, json: bool) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    } else {
        builder.try_init()
    };
}
