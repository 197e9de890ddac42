//! The fezz demo function: `GET /hello` and a small todos API on SQLite.
//!
//! Endpoints (the function sees the same paths through `/rpc/todos@latest/...` and through the
//! manifest routes mounted at the server root):
//!
//! | method | path | |
//! |---|---|---|
//! | GET | `/` | JSON index of the function and its endpoints |
//! | GET | `/hello` | `Hello from fezz!` as text |
//! | GET | `/todos` | `{"todos": [...]}`, `?done=true\|false` filters |
//! | POST | `/todos` | create from `{"title", "done"?}`: 201, `Location`, the todo |
//! | GET | `/todos/:id` | the todo |
//! | PUT | `/todos/:id` | replace: `{"title", "done"?}` (done defaults to false) |
//! | PATCH | `/todos/:id` | change the fields given: `{"title"?, "done"?}` |
//! | DELETE | `/todos/:id` | 204 |
//!
//! Errors are JSON `{"error": {"code", "message", "request_id"}}`: 400 for bodies that are
//! not JSON objects, a missing, empty or too long ([`api::MAX_TITLE_CHARS`]) title, wrong
//! types or unknown fields; 404 for unknown paths and ids; 405 with `Allow` for a known path
//! with the wrong method; 415 when POST/PUT/PATCH lack `content-type: application/json`; 500
//! when the database fails.
//!
//! The database is the SQLite file named by `TODOS_DB` (default `todos.sqlite3`), relative
//! to the working directory, which hhrf sets to the function folder; the manifest sets
//! `TODOS_DB` through its `env`. The connection is opened on first use and kept in a
//! `OnceLock`: each call is a fresh runner process today, but a runner that serves several
//! requests reuses it.

pub mod api;
pub mod error;
pub mod router;
pub mod store;

use std::sync::{Mutex, MutexGuard, OnceLock};

use fezz_abi::{fezz_function, Request, Response};
use rusqlite::Connection;

use crate::error::ApiError;

static DB: OnceLock<Mutex<Connection>> = OnceLock::new();

/// The function's entry point: everything is in [`api::respond`].
#[fezz_function]
pub fn handle(request: Request) -> Response {
    api::respond(&request, connection)
}

/// The shared connection, opened on first use. A failed open is not cached: the next call
/// tries again.
fn connection() -> Result<MutexGuard<'static, Connection>, ApiError> {
    let mutex = match DB.get() {
        Some(mutex) => mutex,
        None => {
            let path = store::db_path(std::env::var_os(store::DB_ENV));
            let opened = store::open(&path)?;
            // If another thread won the race, its connection is kept and ours is dropped.
            DB.get_or_init(|| Mutex::new(opened))
        }
    };
    // A panic while the lock was held leaves the connection usable: an open transaction is
    // rolled back when it is dropped.
    Ok(mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner()))
}
