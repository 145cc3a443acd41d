//! Watched processes, their metric samples and alerts (owned by `heapscope watch`).

use rusqlite::Connection;

pub(crate) fn init(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("")
}
