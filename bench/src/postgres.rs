//! The same refresh and protected loads on PostgreSQL, first with one instance, then with two
//! on the one database (each refresh chain going round both, as behind a load balancer without
//! sticky sessions).

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use crate::server::ServerSpec;
use crate::{Plan, get_load_across, login, refresh_load_across, register_users};

pub struct BackendRow {
    pub backend: &'static str,
    pub instances: usize,
    pub refresh: f64,
    pub protected: f64,
}

/// A scratch database on the server `admin_url` points at, dropped when this goes.
struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    fn create(admin_url: &str) -> ScratchDatabase {
        let name = format!("latchkey_bench_{}", std::process::id());
        let mut admin = PgConnection::establish(admin_url)
            .unwrap_or_else(|e| panic!("--postgres {admin_url} does not answer: {e}"));
        // Two statements: several in one batch would run in one transaction, which these refuse.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .and_then(|()| admin.batch_execute(&format!("CREATE DATABASE {name}")))
            .expect("create the benchmark database");
        let (scheme, rest) = admin_url.split_once("://").expect("a postgres:// URL");
        let authority = rest.split(['/', '?']).next().unwrap_or(rest);
        ScratchDatabase {
            admin_url: admin_url.to_owned(),
            url: format!("{scheme}://{authority}/{name}"),
            name,
        }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

pub async fn measure(
    client: &reqwest::Client,
    spec: &ServerSpec,
    admin_url: &str,
    plan: &Plan,
) -> Vec<BackendRow> {
    let database = ScratchDatabase::create(admin_url);
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
