//! Scratch databases: a SQLite file in a folder, or a PostgreSQL database of its own on a
//! server, created with a random name and dropped (with force) when the value goes.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

pub struct ScratchDatabase {
    /// What `LATCHKEY_DATABASE_URL` should say.
    pub url: String,
    /// The server URL and the name of the database to drop.
    postgres: Option<(String, String)>,
}

impl ScratchDatabase {
    /// `latchkey.db` in `dir` (created by the server on first start).
    pub fn sqlite(dir: &Path) -> ScratchDatabase {
        ScratchDatabase {
            url: dir.join("latchkey.db").display().to_string(),
            postgres: None,
        }
    }

    /// Creates `<prefix>_<random>` on the server `admin_url` points at (any database there;
    /// it is used only to create and drop others).
    pub fn postgres(admin_url: &str, prefix: &str) -> ScratchDatabase {
        let mut name_bytes = [0u8; 8];
        getrandom::fill(&mut name_bytes).expect("random name");
        let suffix: String = name_bytes.iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("{prefix}_{suffix}");
        let mut admin = PgConnection::establish(admin_url).unwrap_or_else(|e| {
            panic!("the PostgreSQL server at {admin_url} does not answer: {e}")
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a scratch database");
        ScratchDatabase {
            url: with_database(admin_url, &name),
            postgres: Some((admin_url.to_owned(), name)),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        if let Some((admin_url, name)) = &self.postgres
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// `url` with its database name replaced: postgres://user@host:port/NAME?options.
pub fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a postgres:// URL");
    let (before_query, query) = match rest.split_once('?') {
        Some((path, query)) => (path, format!("?{query}")),
        None => (rest, String::new()),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    format!("{scheme}://{authority}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_name_replaces_the_one_in_the_url() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "t2"),
            "postgresql://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "t3"), "postgres://h/t3");
    }
}
