//! The protected p99 while sign-ins run flat out, against the same load alone.

use std::time::Duration;

use super::Context;
use crate::client::{get_load, login_load};
use crate::load::Sample;
use crate::report::{Row, ms};

pub async fn measure(ctx: &Context<'_>) -> (Row, Sample) {
    let url = format!("{}/api/me", ctx.base);
    let token = Some(ctx.token.clone());
    let alone = get_load(ctx.client, url.clone(), token.clone(), 16, ctx.plan).await;
    let (mixed, _) = tokio::join!(
        get_load(ctx.client, url, token, 16, ctx.plan),
        login_load(ctx.client, &ctx.base, &ctx.users, 4 * ctx.cores, ctx.plan),
    );
    let (p99_alone, p99_mixed) = (alone.percentile(99.0), mixed.percentile(99.0));
    let met = p99_mixed <= p99_alone * 2 && p99_mixed <= Duration::from_millis(5);
    let row = Row {
        scenario: "mixed: protected p99 under login load",
        measured: ms(p99_mixed),
        limit: format!("{} alone", ms(p99_alone)),
        ratio: format!(
            "{:.2}x",
            p99_mixed.as_secs_f64() / p99_alone.as_secs_f64().max(1e-9)
        ),
        target: "<= 2x and <= 5 ms".into(),
        met: Some(met),
    };
    (row, mixed)
}
