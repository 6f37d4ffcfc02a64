//! The same refresh and protected loads on PostgreSQL, first with one instance, then with two
//! on the one database (each refresh chain going round both, as behind a load balancer without
//! sticky sessions).

use latchkey_testkit::ScratchDatabase;

use crate::Plan;
use crate::client::{get_load_across, login, refresh_load_across, register_users};
use crate::server::ServerSpec;

pub struct BackendRow {
    pub backend: &'static str,
    pub instances: usize,
    pub refresh: f64,
    pub protected: f64,
}

pub async fn measure(
    client: &reqwest::Client,
    spec: &ServerSpec,
    admin_url: &str,
    plan: &Plan,
) -> Vec<BackendRow> {
    let database = ScratchDatabase::postgres(admin_url, "latchkey_bench");
    let spec = ServerSpec {
        database_url: Some(database.url.clone()),
        ..spec.clone()
    };
    let first = spec.start().await;
    let users = register_users(client, &first.base, plan.users).await;
    let token = login(client, &first.base, &users[0])
        .await
        .expect("login")
        .0;
    let mut rows = Vec::new();
    let mut servers = vec![first];
    for instances in [1, 2] {
        if servers.len() < instances {
            servers.push(spec.start().await);
        }
        let bases: Vec<String> = servers.iter().map(|s| s.base.clone()).collect();
        let me: Vec<String> = bases.iter().map(|b| format!("{b}/api/me")).collect();
        let protected = get_load_across(client, &me, Some(token.clone()), 64, plan).await;
        let refresh = refresh_load_across(client, &bases, &users, 2 * plan.users, plan).await;
        rows.push(BackendRow {
            backend: "PostgreSQL",
            instances,
            refresh: refresh.per_second(),
            protected: protected.per_second(),
        });
    }
    for server in servers {
        server.stop();
    }
    rows
}

pub fn print_table(rows: &[BackendRow]) {
    if rows.is_empty() {
        return;
    }
    println!(
        "| backend | instances | refresh (POST /api/auth/refresh) | protected (GET /api/me) |"
    );
    println!("|---|---|---|---|");
    for row in rows {
        println!(
            "| {} | {} | {:.0} /s | {:.0} req/s |",
            row.backend, row.instances, row.refresh, row.protected
        );
    }
    println!();
}
