//! Where a test's data lives. SQLite by default: a file in the test's temporary folder. With
//! `LATCHKEY_TEST_POSTGRES_URL` set (any database on the server, used only to create and drop
//! others), every test gets a PostgreSQL database of its own, dropped when the test is done.

use std::path::Path;

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
            Some(admin_url) => postgres_database(&admin_url),
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
        self.database.is_postgres()
    }
}

/// A scratch database from the shared test kit (dropped when the test is done).
pub type TestDatabase = latchkey_testkit::ScratchDatabase;

/// A PostgreSQL database of this test's own on the server `admin_url` points at.
pub fn postgres_database(admin_url: &str) -> TestDatabase {
    TestDatabase::postgres(admin_url, "latchkey_test")
}
