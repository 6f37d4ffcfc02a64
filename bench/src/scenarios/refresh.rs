//! Refresh chains against the rotation transaction run through our own code without HTTP.

use super::Context;
use crate::client::refresh_load;
use crate::limits;
use crate::load::Sample;
use crate::report::{Row, ratio_row};

pub async fn measure(ctx: &Context<'_>) -> (Row, Sample) {
    let chains = 2 * ctx.plan.users;
    let refreshes = refresh_load(ctx.client, &ctx.base, &ctx.users, chains, ctx.plan).await;
    let rotations = tokio::task::spawn_blocking({
        let (dir, time) = (ctx.dir.clone(), ctx.plan.time);
        move || limits::rotations_per_second(&dir, time)
    })
    .await
    .expect("rotation limit");
    let row = ratio_row(
        "refresh (POST /api/auth/refresh)",
        refreshes.per_second(),
        rotations,
        "/s",
        "raw rotation txn",
        0.60,
        true,
    );
    (row, refreshes)
}
