//! The printed table: one row per scenario, its limit, the ratio and whether the target is met.

use std::time::Duration;

pub struct Row {
    pub scenario: &'static str,
    pub measured: String,
    pub limit: String,
    pub ratio: String,
    pub target: String,
    pub met: Option<bool>,
}

pub fn ratio_row(
    scenario: &'static str,
    measured: f64,
    limit: f64,
    unit: &str,
    limit_name: &str,
    target: f64,
    at_least: bool,
) -> Row {
    let ratio = measured / limit.max(1e-9);
    Row {
        scenario,
        measured: format!("{measured:.0} {unit}"),
        limit: format!("{limit:.0} {unit} ({limit_name})"),
        ratio: format!("{ratio:.2}"),
        target: format!("{} {target:.2}", if at_least { ">=" } else { "<=" }),
        met: Some(if at_least {
            ratio >= target
        } else {
            ratio <= target
        }),
    }
}

pub fn print_table(rows: &[Row]) {
    println!("| scenario | measured | limit | ratio | target | met |");
    println!("|---|---|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.scenario,
            row.measured,
            row.limit,
            row.ratio,
            row.target,
            row.met.map_or("", mark)
        );
    }
}

pub fn mark(met: bool) -> &'static str {
    if met { "yes" } else { "NO" }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
