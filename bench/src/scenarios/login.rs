//! Sign-ins against raw bcrypt at the same cost on every core.

use super::Context;
use crate::client::login_load;
use crate::limits;
use crate::load::Sample;
use crate::report::{Row, ratio_row};

pub async fn measure(ctx: &Context<'_>) -> (Row, Sample) {
    let logins = login_load(ctx.client, &ctx.base, &ctx.users, 4 * ctx.cores, ctx.plan).await;
    let bcrypt = tokio::task::spawn_blocking({
        let (cost, cores, time) = (ctx.cost, ctx.cores, ctx.plan.time);
        move || limits::bcrypt_per_second(cost, cores, time)
    })
    .await
    .expect("bcrypt limit");
    let row = ratio_row(
        "login (POST /api/auth/login)",
        logins.per_second(),
        bcrypt,
        "/s",
        "raw bcrypt",
        0.90,
        true,
    );
    (row, logins)
}
