//! Where a test's data lives. SQLite by default: a file in the test's temporary folder. With
//! `LATCHKEY_TEST_POSTGRES_URL` set (any database on the server, used only to create and drop
//! others), every test gets a PostgreSQL database of its own, dropped when the test is done.

use std::path::Path;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use tempfile::TempDir;

pub const POSTGRES_URL_VAR: &str = "LATCHKEY_TEST_POSTGRES_URL";

/// The PostgreSQL server to test against, if the run asks for one.
pub fn postgres_admin_url() -> Option<String> {
    std::env::var(POSTGRES_URL_VAR)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A test's folder and its database; shared by every server a test starts on the same data.
pub struct TestDir {
    /// Declared first, so dropped first: the database goes before the folder.
    pub database: TestDatabase,
    temp: TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        let temp = tempfile::tempdir().expect("temp dir");
        let database = match postgres_admin_url() {
            Some(admin_url) => TestDatabase::postgres(&admin_url),
            None => TestDatabase::sqlite(temp.path()),
        };
        TestDir { database, temp }
    }

    /// A SQLite database whatever the run asks for (moving data off SQLite starts from one).
    pub fn sqlite() -> TestDir {
        let temp = tempfile::tempdir().expect("temp dir");
        TestDir {
            database: TestDatabase::sqlite(temp.path()),
            temp,
        }
    }

    pub fn path(&self) -> &Path {
        self.temp.path()
    }

    pub fn is_postgres(&self) -> bool {
        self.database.postgres.is_some()
    }
}

pub struct TestDatabase {
    pub url: String,
    /// The server URL and the name of the database to drop.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    fn sqlite(dir: &Path) -> TestDatabase {
        TestDatabase {
            url: dir.join("latchkey.db").display().to_string(),
            postgres: None,
        }
    }

    /// Creates `latchkey_test_<random>` on the server `admin_url` points at.
    pub fn postgres(admin_url: &str) -> TestDatabase {
        let mut name_bytes = [0u8; 8];
        getrandom::fill(&mut name_bytes).expect("random name");
        let name = format!(
            "latchkey_test_{}",
            name_bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let mut admin = PgConnection::establish(admin_url).unwrap_or_else(|e| {
            panic!("{POSTGRES_URL_VAR} is set but {admin_url} does not answer: {e}")
        });
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        TestDatabase {
            url: with_database(admin_url, &name),
            postgres: Some((admin_url.to_owned(), name)),
        }
    }
}

impl Drop for TestDatabase {
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
