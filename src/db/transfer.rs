//! `latchkey migrate-data`: copies every row of a SQLite database into an empty PostgreSQL one,
//! ids and hashes unchanged, so every session and refresh token keeps working after the move.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::models::{
    AuthEventRow, Ceremony, OneTimeToken, OutboxMail, PasskeyRow, RecoveryCode, RefreshToken,
    SecondFactorChallenge, Session, SignInThrottle, SigningKey, TotpFactor, User,
};
use super::schema::{
    auth_events, mail_outbox, one_time_tokens, passkeys, recovery_codes, refresh_tokens,
    second_factor_challenges, sessions, sign_in_throttles, signing_keys, totp_factors, users,
    webauthn_ceremonies,
};
use super::{Conn, DbError};

/// PostgreSQL binds at most this many parameters in one statement; a multi-row insert of a
/// table with `c` columns therefore takes at most `MAX_BIND_PARAMETERS / c` rows.
const MAX_BIND_PARAMETERS: i64 = 65_535;

/// How many rows of each table were copied, in copying order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Copied(pub Vec<(&'static str, usize)>);

impl Copied {
    pub fn of(&self, table: &str) -> usize {
        self.0
            .iter()
            .find(|(name, _)| *name == table)
            .map_or(0, |(_, rows)| *rows)
    }
}

/// Copies one table in key order, a batch at a time; the batch size follows the table's
/// column count in the target.
macro_rules! copy_table {
    ($from:ident, $to:ident, $table:ident, $key:ident, $row:ty, $start:expr) => {{
        let batch_rows = MAX_BIND_PARAMETERS / column_count($to, stringify!($table))?.max(1);
        let mut copied = 0;
        let mut after = $start;
        loop {
            let batch: Vec<$row> = $table::table
                .filter($table::$key.gt(after.clone()))
                .order($table::$key.asc())
                .limit(batch_rows)
                .select(<$row>::as_select())
                .load($from)?;
            let Some(last) = batch.last() else {
                break;
            };
            after = last.$key.clone();
            copied += diesel::insert_into($table::table)
                .values(&batch)
                .execute($to)?;
        }
        copied
    }};
}

/// The tables copied, parents before children: the one list, from which both the copy and
/// `COPIED_TABLES` (checked against the migrated schema by a test) are made.
macro_rules! tables {
    ($($table:ident by $key:ident as $row:ty, from $start:expr);* $(;)?) => {
        /// Every table `copy_all` copies.
        pub const COPIED_TABLES: &[&str] = &[$(stringify!($table)),*];

        fn copy_each(
            from: &mut diesel::SqliteConnection,
            to: &mut diesel::PgConnection,
        ) -> Result<Copied, DbError> {
            Ok(Copied(vec![$(
                (stringify!($table), copy_table!(from, to, $table, $key, $row, $start)),
            )*]))
        }
    };
}

tables! {
    users by id as User, from String::new();
    sessions by id as Session, from String::new();
    refresh_tokens by id as RefreshToken, from 0;
    signing_keys by kid as SigningKey, from String::new();
    sign_in_throttles by throttle_key as SignInThrottle, from String::new();
    auth_events by id as AuthEventRow, from 0;
    one_time_tokens by token_hash as OneTimeToken, from Vec::new();
    mail_outbox by id as OutboxMail, from 0;
    totp_factors by user_id as TotpFactor, from String::new();
    recovery_codes by code_hash as RecoveryCode, from Vec::new();
    second_factor_challenges by token_hash as SecondFactorChallenge, from Vec::new();
    passkeys by id as PasskeyRow, from String::new();
    webauthn_ceremonies by id as Ceremony, from String::new();
}

fn column_count(to: &mut diesel::PgConnection, table: &str) -> Result<i64, DbError> {
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        columns: i64,
    }
    let count: Count = diesel::sql_query(
        "SELECT count(*) AS columns FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = $1",
    )
    .bind::<Text, _>(table)
    .get_result(to)?;
    Ok(count.columns)
}

/// Copies everything from `from` (SQLite) into `to` (PostgreSQL, migrated and empty) in one
/// transaction on each side: a consistent snapshot is read, and the target gets all of it or
/// nothing.
pub fn copy_all(from: &mut Conn, to: &mut Conn) -> Result<Copied, DbError> {
    let (Conn::Sqlite(from), Conn::Postgres(to)) = (from, to) else {
        return Err(DbError::Unsupported(
            "migrate-data copies from a SQLite database to a PostgreSQL one",
        ));
    };
    from.transaction(|from| {
        to.transaction(|to| {
            let existing: i64 = users::table.count().get_result(to)?;
            let keys: i64 = signing_keys::table.count().get_result(to)?;
            if existing + keys > 0 {
                return Err(DbError::Unsupported(
                    "the PostgreSQL database already holds users or keys; migrate-data only \
                     copies into an empty database (create a new one and point --to at it)",
                ));
            }
            let copied = copy_each(from, to)?;
            // Rows came with their ids; new rows must be numbered after them.
            to.batch_execute(
                "SELECT setval(pg_get_serial_sequence('refresh_tokens', 'id'),
                               COALESCE((SELECT MAX(id) FROM refresh_tokens), 0) + 1, false);
                 SELECT setval(pg_get_serial_sequence('auth_events', 'id'),
                               COALESCE((SELECT MAX(id) FROM auth_events), 0) + 1, false);
                 SELECT setval(pg_get_serial_sequence('mail_outbox', 'id'),
                               COALESCE((SELECT MAX(id) FROM mail_outbox), 0) + 1, false);",
            )?;
            Ok(copied)
        })
    })
}

#[cfg(test)]
mod tests {
    use diesel::sql_types::Text;

    use super::*;

    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }

    /// A table added by a migration and not to `tables!` would be silently left behind.
    #[test]
    fn every_table_of_the_schema_is_copied() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("t.db").display().to_string(), 1).unwrap();
        let Conn::Sqlite(conn) = &mut *db.conn().unwrap() else {
            panic!("a SQLite connection");
        };
        let mut tables: Vec<String> = diesel::sql_query(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name != '__diesel_schema_migrations'",
        )
        .load::<Name>(conn)
        .unwrap()
        .into_iter()
        .map(|row| row.name)
        .collect();
        tables.sort();
        let mut copied: Vec<&str> = COPIED_TABLES.to_vec();
        copied.sort();
        assert_eq!(tables, copied);
    }
}
