//! `PUT /api/snapshots?name=NAME`: the request body is streamed to
//! `DIR/snapshots/<id>.heapsnapshot.part` and, at the same time, pushed through the format
//! crate's parser on a thread of its own, so a non-snapshot is refused at its first bytes
//! and a truncated one at its end. Only a complete, valid snapshot is fsynced and renamed to
//! its final name; on any failure the part file and the row are removed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use futures_util::StreamExt;
use heapscope_format::{Loader, RawSnapshot};
use heapscope_store::snapshots;
use tokio::sync::mpsc;

use crate::error::{ApiError, ApiResult};
use crate::models::SnapshotJson;
use crate::params::Params;
use crate::AppState;

enum Piece {
    Bytes(Bytes),
    /// The body ended normally (a channel closed without it means the request was cut).
    End,
}

/// Why an upload was refused.
enum Refusal {
    NotSnapshot(String),
    Io(String),
}

pub async fn upload(
    State(state): State<Arc<AppState>>,
    params: Params,
    body: Body,
) -> ApiResult<(StatusCode, Json<SnapshotJson>)> {
    let name = params
        .str("name")
        .unwrap_or("snapshot.heapsnapshot")
        .to_string();
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "`name` must be at most 200 characters, without control characters",
        ));
    }
    let row = state
        .store
        .with_conn(|c| snapshots::create(c, &name, "upload"))?;
    let final_path = state.store.dir().join(&row.file);
    let part_path = part_path_of(&final_path);
    let (tx, rx) = mpsc::channel::<Piece>(4);
    let writer = {
        let (final_path, part_path) = (final_path.clone(), part_path.clone());
        tokio::task::spawn_blocking(move || write_and_parse(rx, &part_path, &final_path))
    };

    let mut stream = body.into_data_stream();
    let mut received = 0u64;
    let mut refused: Option<ApiError> = None;
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                refused = Some(ApiError::bad_request(format!(
                    "the upload was cut off: {e}"
                )));
                break;
            }
        };
        received += chunk.len() as u64;
        if received > state.max_upload_bytes {
            refused = Some(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the upload is larger than this server's limit of {} bytes (--max-upload-size)",
                    state.max_upload_bytes
                ),
            ));
            break;
        }
        if tx.send(Piece::Bytes(chunk)).await.is_err() {
            break; // the parser refused the bytes; its error says why
        }
    }
    if refused.is_none() {
        let _ = tx.send(Piece::End).await;
    }
    drop(tx);
    let outcome = writer
        .await
        .map_err(|e| ApiError::internal(format!("the upload thread failed: {e}")))?;
    let failure = match (refused, outcome) {
        (None, Ok((size, raw))) => {
            state
                .store
                .with_conn(|c| snapshots::set_uploaded(c, row.id, size))?;
            state.worker.enqueue(row.id, Some(raw));
            let row = state.store.with_conn(|c| snapshots::get(c, row.id))?;
            let row = row.ok_or_else(|| ApiError::not_found("the snapshot was deleted"))?;
            return Ok((StatusCode::CREATED, Json(SnapshotJson::from(&row))));
        }
        // Our own refusal (size, a cut connection) comes first: the parser only saw less.
        (Some(e), _) => e,
        (None, Err(Refusal::NotSnapshot(msg))) => {
            ApiError::bad_request(format!("`{name}` was refused: {msg}"))
        }
        (None, Err(Refusal::Io(msg))) => ApiError::internal(msg),
    };
    let _ = std::fs::remove_file(&part_path);
    state.store.with_conn(|c| snapshots::delete(c, row.id))?;
    Err(failure)
}

fn part_path_of(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".part");
    PathBuf::from(p)
}

/// Runs on a blocking thread: writes and parses each piece; at the end, checks the snapshot
/// is complete, fsyncs and renames. Returns the size and the parsed snapshot.
fn write_and_parse(
    mut rx: mpsc::Receiver<Piece>,
    part_path: &Path,
    final_path: &Path,
) -> Result<(u64, RawSnapshot), Refusal> {
    let io = |what: &str, e: std::io::Error| Refusal::Io(format!("{what}: {e}"));
    if let Some(dir) = part_path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io("cannot create the snapshot directory", e))?;
    }
    let file = std::fs::File::create(part_path).map_err(|e| io("cannot create the file", e))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut loader = Loader::new();
    let mut size = 0u64;
    let result = loop {
        match rx.blocking_recv() {
            Some(Piece::Bytes(b)) => {
                size += b.len() as u64;
                if let Err(e) = loader.push(&b) {
                    break Err(Refusal::NotSnapshot(e.to_string()));
                }
                if let Err(e) = out.write_all(&b) {
                    break Err(io("cannot write the upload", e));
                }
            }
            Some(Piece::End) => break Ok(()),
            // Cut off or refused by the receiving side: its error is the one reported.
            None => break Err(Refusal::Io("the upload ended early".into())),
        }
    };
    let finished = result.and_then(|()| {
        if size == 0 {
            return Err(Refusal::NotSnapshot("the upload is empty".into()));
        }
        loader
            .finish()
            .map_err(|e| Refusal::NotSnapshot(e.to_string()))
    });
    let raw = match finished {
        Ok(raw) => raw,
        Err(e) => {
            drop(out);
            let _ = std::fs::remove_file(part_path);
            return Err(e);
        }
    };
    let file = out
        .into_inner()
        .map_err(|e| io("cannot write the upload", e.into_error()))?;
    file.sync_all()
        .map_err(|e| io("cannot fsync the upload", e))?;
    std::fs::rename(part_path, final_path).map_err(|e| io("cannot rename the upload", e))?;
    if let Some(dir) = final_path.parent() {
        // Makes the rename itself durable.
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok((size, raw))
}

/// Part files left by a server that stopped mid-upload (their rows the store has already
/// marked failed).
pub fn remove_stale_parts(data_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(data_dir.join("snapshots")) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.path().extension().is_some_and(|e| e == "part") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
