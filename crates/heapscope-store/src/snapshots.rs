//! Snapshots, profiles and the reports computed from them (owned by `heapscope serve`).

use rusqlite::Connection;

pub(crate) fn init(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch("")
}
