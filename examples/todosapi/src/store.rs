//! The SQLite side: opening the database and the five queries the API needs.
//!
//! Several runner processes may use the same file at once (hhrf starts one per call), so the
//! database runs in WAL mode with a busy timeout, and every write takes the write lock up front
//! (`BEGIN IMMEDIATE`) instead of upgrading a read transaction, which in WAL mode fails with
//! `SQLITE_BUSY` at once rather than waiting.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;

/// The environment variable naming the database file (set through the manifest's `env`).
pub const DB_ENV: &str = "TODOS_DB";

/// The database file used when [`DB_ENV`] is unset or empty; relative, so it lands in the
/// runner's working directory, which hhrf sets to the function folder.
pub const DEFAULT_DB: &str = "todos.sqlite3";

/// How long a call waits for another process's write lock before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// One todo as stored and as serialized in responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Todo {
    /// Assigned by the database, starting at 1, never reused.
    pub id: i64,
    /// 1 to [`crate::api::MAX_TITLE_CHARS`] characters, trimmed.
    pub title: String,
    /// Whether the todo is done.
    pub done: bool,
    /// When it was created, RFC 3339 in UTC with milliseconds.
    pub created_at: String,
    /// When it last changed, same format.
    pub updated_at: String,
}

/// A change to a todo: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// The new title, already validated.
    pub title: Option<String>,
    /// The new done flag.
    pub done: Option<bool>,
}

/// The database path from the value of [`DB_ENV`]: the value itself, or [`DEFAULT_DB`] when it
/// is unset or empty. Relative paths stay relative (SQLite resolves them against the cwd).
pub fn db_path(env_value: Option<std::ffi::OsString>) -> PathBuf {
    match env_value {
        Some(value) if !value.is_empty() => PathBuf::from(value),
        _ => PathBuf::from(DEFAULT_DB),
    }
}

/// Opens (creating if needed) the database at `path`: creates the parent directory, sets WAL
/// mode and the busy timeout, and creates the table.
pub fn open(path: &Path) -> rusqlite::Result<Connection> {
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        // An error here resurfaces, better worded, as SQLite's "unable to open database file".
        let _ = std::fs::create_dir_all(parent);
    }
    let connection = Connection::open(path)?;
    // First, so that everything below already waits for other processes' locks.
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // Returns the resulting mode as a row; a database that cannot do WAL keeps its mode.
    connection.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    connection.execute_batch(
        "PRAGMA synchronous = NORMAL;
         CREATE TABLE IF NOT EXISTS todos (
             id         INTEGER PRIMARY KEY AUTOINCREMENT,
             title      TEXT    NOT NULL,
             done       INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
             created_at TEXT    NOT NULL,
             updated_at TEXT    NOT NULL
         );",
    )?;
    Ok(connection)
}

const COLUMNS: &str = "id, title, done, created_at, updated_at";
const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

fn todo_from_row(row: &Row<'_>) -> rusqlite::Result<Todo> {
    Ok(Todo {
        id: row.get(0)?,
        title: row.get(1)?,
        done: row.get(2)?,
        created_at: row.get(3)?,
        updated_at: row.get(4)?,
    })
}

/// All todos in creation order, optionally only those whose `done` equals `done`.
pub fn list(connection: &Connection, done: Option<bool>) -> rusqlite::Result<Vec<Todo>> {
    let sql = format!("SELECT {COLUMNS} FROM todos WHERE ?1 IS NULL OR done = ?1 ORDER BY id");
    let mut statement = connection.prepare_cached(&sql)?;
    let todos = statement.query_map([done], todo_from_row)?;
    todos.collect()
}

/// The todo with `id`, if any.
pub fn get(connection: &Connection, id: i64) -> rusqlite::Result<Option<Todo>> {
    let sql = format!("SELECT {COLUMNS} FROM todos WHERE id = ?1");
    connection.query_row(&sql, [id], todo_from_row).optional()
}

/// Inserts a todo and returns it as stored.
pub fn create(connection: &mut Connection, title: &str, done: bool) -> rusqlite::Result<Todo> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sql = format!(
        "INSERT INTO todos (title, done, created_at, updated_at) VALUES (?1, ?2, {NOW}, {NOW})
         RETURNING {COLUMNS}"
    );
    let todo = transaction.query_row(&sql, (title, done), todo_from_row)?;
    transaction.commit()?;
    Ok(todo)
}

/// Applies `changes` to the todo with `id`; `None` if there is no such todo.
pub fn update(
    connection: &mut Connection,
    id: i64,
    changes: &Changes,
) -> rusqlite::Result<Option<Todo>> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sql = format!(
        "UPDATE todos SET title = coalesce(?2, title), done = coalesce(?3, done), updated_at = {NOW}
         WHERE id = ?1 RETURNING {COLUMNS}"
    );
    let todo = transaction
        .query_row(&sql, (id, &changes.title, changes.done), todo_from_row)
        .optional()?;
    transaction.commit()?;
    Ok(todo)
}

/// Deletes the todo with `id`; whether there was one.
pub fn delete(connection: &mut Connection, id: i64) -> rusqlite::Result<bool> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let deleted = transaction.execute("DELETE FROM todos WHERE id = ?1", [id])?;
    transaction.commit()?;
    Ok(deleted > 0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A database file in a fresh temporary directory, removed on drop.
    pub(crate) struct TempDb {
        pub(crate) dir: PathBuf,
        pub(crate) path: PathBuf,
    }

    impl TempDb {
        pub(crate) fn new() -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "fezz-todosapi-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            // The database goes one level down so `open` has a parent directory to create.
            let path = dir.join("data").join("todos.sqlite3");
            TempDb { dir, path }
        }

        pub(crate) fn open(&self) -> Connection {
            open(&self.path).expect("open the test database")
        }
    }

    impl Drop for TempDb {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    #[test]
    fn db_path_defaults_when_unset_or_empty() {
        assert_eq!(db_path(None), PathBuf::from(DEFAULT_DB));
        assert_eq!(db_path(Some("".into())), PathBuf::from(DEFAULT_DB));
        assert_eq!(
            db_path(Some("../../data/x.db".into())),
            PathBuf::from("../../data/x.db")
        );
    }

    #[test]
    fn open_creates_the_directory_and_uses_wal() {
        let db = TempDb::new();
        let connection = db.open();
        let mode: String = connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert!(db.path.exists());
    }

    #[test]
    fn crud_round_trip_and_ids_are_not_reused() {
        let db = TempDb::new();
        let mut connection = db.open();
        let first = create(&mut connection, "one", false).unwrap();
        let second = create(&mut connection, "two", true).unwrap();
        assert_eq!((first.id, second.id), (1, 2));
        assert!(first.created_at.ends_with('Z'));
        assert_eq!(
            list(&connection, None).unwrap(),
            [first.clone(), second.clone()]
        );
        assert_eq!(
            list(&connection, Some(true)).unwrap(),
            std::slice::from_ref(&second)
        );
        assert_eq!(
            list(&connection, Some(false)).unwrap(),
            std::slice::from_ref(&first)
        );

        let changes = Changes {
            title: None,
            done: Some(true),
        };
        let updated = update(&mut connection, 1, &changes).unwrap().unwrap();
        assert_eq!((updated.title.as_str(), updated.done), ("one", true));
        assert_eq!(update(&mut connection, 99, &changes).unwrap(), None);

        assert!(delete(&mut connection, 2).unwrap());
        assert!(!delete(&mut connection, 2).unwrap());
        assert_eq!(get(&connection, 2).unwrap(), None);
        let third = create(&mut connection, "three", false).unwrap();
        assert_eq!(third.id, 3);
    }

    #[test]
    fn data_survives_reopening() {
        let db = TempDb::new();
        create(&mut db.open(), "persisted", false).unwrap();
        let todos = list(&db.open(), None).unwrap();
        assert_eq!(todos.len(), 1);
        assert_eq!(todos[0].title, "persisted");
    }

    #[test]
    fn concurrent_writers_on_separate_connections_do_not_fail_busy() {
        // Like several runner processes: one connection each, all writing at once.
        let db = TempDb::new();
        drop(db.open());
        let threads: Vec<_> = (0..6)
            .map(|thread| {
                let path = db.path.clone();
                std::thread::spawn(move || {
                    let mut connection = open(&path).unwrap();
                    for n in 0..40 {
                        let todo =
                            create(&mut connection, &format!("{thread}-{n}"), false).unwrap();
                        let changes = Changes {
                            title: None,
                            done: Some(true),
                        };
                        update(&mut connection, todo.id, &changes).unwrap().unwrap();
                        list(&connection, Some(true)).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("no writer failed");
        }
        assert_eq!(list(&db.open(), Some(true)).unwrap().len(), 240);
    }

    /// Set in the children of the test below: the database they write to.
    const CHILD_DB_ENV: &str = "TODOSAPI_TEST_CHILD_DB";

    #[test]
    fn concurrent_processes_do_not_fail_busy() {
        // As hhrf runs it: one process per call, each with its own connection. The test binary
        // runs itself as the children, selecting only this test.
        const CHILDREN: usize = 4;
        const WRITES: usize = 30;
        if let Some(path) = std::env::var_os(CHILD_DB_ENV) {
            for n in 0..WRITES {
                let mut connection = open(Path::new(&path)).unwrap();
                let todo = create(&mut connection, &format!("{n}"), false).unwrap();
                assert!(delete(&mut connection, todo.id).unwrap());
                create(&mut connection, &format!("{n}"), true).unwrap();
            }
            return;
        }
        let db = TempDb::new();
        let this_test = "store::tests::concurrent_processes_do_not_fail_busy";
        let children: Vec<_> = (0..CHILDREN)
            .map(|_| {
                std::process::Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", this_test, "--test-threads=1", "--quiet"])
                    .env(CHILD_DB_ENV, &db.path)
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut child in children {
            assert!(child.wait().unwrap().success(), "a writer process failed");
        }
        assert_eq!(list(&db.open(), None).unwrap().len(), CHILDREN * WRITES);
    }
}
