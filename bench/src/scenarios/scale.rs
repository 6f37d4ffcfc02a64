//! Login and refresh p50 with many sessions in the database, against the same with few; and
//! how fast a server starts on the large database.

use std::time::Duration;

use super::Context;
use crate::client::sequential_p50;
use crate::report::{Row, ms};
use crate::seed;
use crate::server::Server;

/// What the scale run found besides its rows.
pub struct Scaled {
    pub rows: Vec<Row>,
    /// Sessions in the large database.
    pub sessions: i64,
    /// Spawn to first 200 from `/healthz` on the large database.
    pub startup: Duration,
}

/// Stops `server` (on the small database), grows the database and starts another on it.
pub async fn measure(ctx: &Context<'_>, server: Server) -> Scaled {
    let (client, plan, spec) = (ctx.client, ctx.plan, ctx.spec);
    let few = seed::sessions_in(&spec.database());
    let small = sequential_p50(client, &ctx.base, &ctx.users, plan.sequential).await;
    server.stop();
    let many = seed::add(&spec.database(), plan.scale_users, plan.scale_sessions);
    let server = spec.start().await;
    let startup = server.started_in;
    let large = sequential_p50(client, &server.base, &ctx.users, plan.sequential).await;
    server.stop();
    let rows = [("scale: login p50", 0), ("scale: refresh p50", 1)]
        .into_iter()
        .map(|(name, index)| {
            let (small, large) = (small[index], large[index]);
            let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-9);
            Row {
                scenario: name,
                measured: format!("{} at {many} sessions", ms(large)),
                limit: format!("{} at {few}", ms(small)),
                ratio: format!("{ratio:.2}x"),
                target: "<= 1.5x".into(),
                met: Some(ratio <= 1.5),
            }
        })
        .collect();
    Scaled {
        rows,
        sessions: many,
        startup,
    }
}
