//! Protected (`GET /api/me`) against a hello-world actix server on the same cores.

use super::Context;
use crate::client::get_load;
use crate::limits;
use crate::load::Sample;
use crate::report::{Row, ratio_row};

pub async fn measure(ctx: &Context<'_>) -> (Row, Sample) {
    let url = format!("{}/api/me", ctx.base);
    let protected = get_load(ctx.client, url, Some(ctx.token.clone()), 64, ctx.plan).await;
    let hello = limits::HelloWorld::start(ctx.cores);
    let ceiling = get_load(ctx.client, hello.url.clone(), None, 64, ctx.plan).await;
    hello.stop().await;
    let row = ratio_row(
        "protected (GET /api/me)",
        protected.per_second(),
        ceiling.per_second(),
        "req/s",
        "hello world",
        0.80,
        true,
    );
    (row, protected)
}
