//! # heapscope-web
//!
//! `heapscope serve`: a web console over an embedded store. Snapshots are uploaded (streamed
//! to `DIR/snapshots/<id>.heapsnapshot.part`, parsed as the bytes arrive so a non-snapshot
//! is refused early, fsynced and renamed only when complete), analysed one at a time on a
//! worker thread with progress kept in the store, and browsed through a JSON API that pages
//! and sorts on the server: the browser never receives per-node arrays.
//!
//! - [`token`]: the access token, one per data directory (file mode 0600), required by
//!   every page and API call ([`auth`]).
//! - `upload`: the streaming upload; `worker`: the analysis queue; `cache`: analysed
//!   snapshots kept in memory (a small LRU) and re-analysed on demand after a restart.
//!   Nothing of an analysis is persisted yet except its leak report (JSON text in the store).
//! - `processes/`: Node processes watched from the server (`--watch`, `--watch-all`, or the
//!   Processes page): samples and leak-trend alerts into the store as `heapscope watch`
//!   writes them, and snapshots and profiles captured on request (profiles in the store's
//!   `profiles` table, files under `DIR/profiles`).
//! - `api/`: the JSON endpoints; [`leaks_json`]: the leak report's JSON model, shared with
//!   the CLI's `leaks --json`; `ui`: the console's HTML, CSS and ES modules, embedded in the
//!   binary (no build step, no CDN).

mod api;
mod auth;
mod cache;
mod error;
pub mod leaks_json;
mod models;
mod params;
mod processes;
pub mod token;
mod ui;
mod upload;
mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use heapscope_store::Store;

/// What `heapscope serve` was asked for.
#[derive(Debug, Clone)]
pub struct Config {
    /// The data directory: database, token, snapshot files.
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    /// Allow a non-loopback `bind` address.
    pub public: bool,
    /// Uploads larger than this are refused (413).
    pub max_upload_bytes: u64,
    /// Analysed snapshots kept in memory.
    pub cache_capacity: usize,
    /// Processes to watch from the start: pids or loopback `HOST:PORT`s (`--watch`).
    pub watch: Vec<String>,
    /// Watch every local Node process with an open inspector, re-discovered each interval.
    pub watch_all: bool,
    /// Time between samples of a watched process.
    pub watch_interval: std::time::Duration,
    /// The built-in leak-trend rule's window and thresholds (`heapscope watch`'s defaults).
    pub watch_trend: heapscope_inspector::watch::trend::TrendConfig,
    /// Install the GC observer that measures heap after GC in watched processes (as
    /// `heapscope watch` does unless `--no-gc-observer`).
    pub watch_gc_observer: bool,
    /// How long stored samples are kept and at what resolution (`--retain`); `None` keeps
    /// every sample for good.
    pub retention: Option<heapscope_store::retention::RetentionPolicy>,
}

impl Config {
    pub fn new(data_dir: PathBuf) -> Config {
        Config {
            data_dir,
            bind: SocketAddr::from(([127, 0, 0, 1], 7331)),
            public: false,
            max_upload_bytes: 4 << 30,
            cache_capacity: 2,
            watch: Vec::new(),
            watch_all: false,
            watch_interval: std::time::Duration::from_secs(5),
            watch_trend: Default::default(),
            watch_gc_observer: true,
            retention: Some(Default::default()),
        }
    }
}

/// Shared by every request handler.
pub(crate) struct AppState {
    pub store: Arc<Store>,
    pub token: String,
    /// The cookie carrying the token; per port, because cookies ignore ports.
    pub cookie_name: String,
    pub cache: Arc<cache::Cache>,
    pub worker: worker::WorkerHandle,
    pub max_upload_bytes: u64,
    pub last_comparison: api::LastComparison,
    pub last_three_snapshot: api::LastThreeSnapshot,
    pub processes: Arc<processes::Registry>,
}

/// A running server.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub token: String,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    /// The console's URL with the access token, as printed for the user.
    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.addr, self.token)
    }

    /// Serves until the server fails (or forever).
    pub async fn wait(self) -> Result<()> {
        self.task.await.context("the server task failed")??;
        Ok(())
    }
}

/// Opens the store, starts the analysis worker, binds and starts serving in the background
/// (call from inside a multi-threaded tokio runtime).
pub async fn start(config: Config) -> Result<RunningServer> {
    if !config.public && !config.bind.ip().is_loopback() {
        bail!(
            "refusing to listen on {}: not a loopback address. Pass --public to serve on the \
             network (anyone with the token can then read your heap snapshots)",
            config.bind
        );
    }
    let targets = config
        .watch
        .iter()
        .map(|t| processes::target::parse(t).map_err(|e| anyhow::anyhow!("--watch {t}: {e}")))
        .collect::<Result<Vec<_>>>()?;
    if config.watch_interval.is_zero() {
        bail!("the watch interval must be more than 0");
    }
    let store = Arc::new(Store::open(&config.data_dir)?);
    store
        .with_conn(heapscope_store::profiles::init)
        .context("creating the profiles table")?;
    let token = token::load_or_create(&config.data_dir)?;
    upload::remove_stale_parts(&config.data_dir);
    processes::capture::remove_stale_parts(&config.data_dir);
    let cache = Arc::new(cache::Cache::new(store.clone(), config.cache_capacity));
    let worker = worker::start(store.clone(), cache.clone())?;
    let watch = processes::WatchConfig {
        interval: config.watch_interval,
        targets,
        all: config.watch_all,
        trend: config.watch_trend,
        gc_observer: config.watch_gc_observer,
        retention: config.retention,
    };
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let addr = listener.local_addr()?;
    let processes = processes::Registry::start(store.clone(), watch)?;
    let state = Arc::new(AppState {
        store,
        token: token.clone(),
        cookie_name: format!("heapscope_token_{}", addr.port()),
        cache,
        worker,
        max_upload_bytes: config.max_upload_bytes,
        last_comparison: Default::default(),
        last_three_snapshot: Default::default(),
        processes,
    });
    let app = api::router(state);
    let task = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(RunningServer { addr, token, task })
}
