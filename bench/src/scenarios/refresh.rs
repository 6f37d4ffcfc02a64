//! Refresh chains against the database's own limit (the minimal rotation transaction, no
//! Latchkey code), against our rotation code without HTTP, and next to protected.

use std::time::Duration;

use super::Context;
use crate::client::refresh_load;
use crate::load::Sample;
use crate::report::{Row, ms, ratio_row};
use crate::{limits, raw_rotation};

pub async fn measure(ctx: &Context<'_>, protected_per_second: f64) -> (Vec<Row>, Sample) {
    let chains = 2 * ctx.plan.users;
    let refreshes = refresh_load(ctx.client, &ctx.base, &ctx.users, chains, ctx.plan).await;
    let (dir, time) = (ctx.dir.clone(), ctx.plan.time);
    let raw =
        tokio::task::spawn_blocking(move || raw_rotation::raw_rotations_per_second(&dir, time))
            .await
            .expect("raw rotation limit");
    let (dir, time) = (ctx.dir.clone(), ctx.plan.time);
    let domain = tokio::task::spawn_blocking(move || limits::rotations_per_second(&dir, time))
        .await
        .expect("rotation limit");
    let rate = refreshes.per_second();
    let p99 = refreshes.percentile(99.0);
    let rows = vec![
        ratio_row(
            "refresh (POST /api/auth/refresh)",
            rate,
            raw,
            "/s",
            "raw rotation txn, 1 connection",
            0.35,
            true,
        ),
        Row {
            scenario: "refresh, against our rotation code without HTTP",
            measured: format!("{rate:.0} /s"),
            limit: format!(
                "{:.0} /s ({:.1} statements, {:.1} transactions per rotation)",
                domain.per_second, domain.statements, domain.transactions
            ),
            ratio: format!("{:.2}", rate / domain.per_second.max(1e-9)),
            target: String::new(),
            met: None,
        },
        Row {
            scenario: "refresh, next to protected",
            measured: format!("{rate:.0} /s"),
            limit: format!("{protected_per_second:.0} req/s (protected)"),
            ratio: format!("{:.2}", rate / protected_per_second.max(1e-9)),
            target: String::new(),
            met: None,
        },
        Row {
            scenario: "refresh latency p50 / p99 (the same chains)",
            measured: format!("{} / {}", ms(refreshes.percentile(50.0)), ms(p99)),
            limit: String::new(),
            ratio: String::new(),
            target: "p99 <= 10 ms".into(),
            met: Some(p99 <= Duration::from_millis(10)),
        },
    ];
    (rows, refreshes)
}
