//! The watcher thread: a current-thread runtime with one local task per watched process
//! (the structure of `heapscope watch`), fed by commands from the HTTP handlers.
//!
//! Each task attaches, identifies the process (pid and start time: the store's process
//! row), then every interval takes one sample, adds the leak-trend estimate, stores the
//! sample and any alert the built-in leak-trend rule raises — the rows `heapscope watch`
//! writes, so either tool's processes show in the console. A target that stops answering
//! for a while stays live with a note (a snapshot being built blocks its JS thread); one
//! whose process exits is `gone`; other failures are `error` and retried.
//!
//! As `heapscope watch` does, each session installs the GC observer that measures heap after
//! GC (`watch::gc`; shared with any other watcher of the process, counted) and removes it
//! when the session ends; and the store's samples are thinned and expired at start and
//! every ten minutes (`heapscope_store::retention`), off this thread.
//!
//! Tasks hold the registry weakly: when the server stops, the command channel closes, the
//! loop returns and dropping the runtime ends every task.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::{Arc, Weak};
use std::time::Duration;

use heapscope_inspector::cdp::CdpClient;
use heapscope_inspector::watch::gc;
use heapscope_inspector::watch::rules::{parse_rule, RuleSet};
use heapscope_inspector::watch::sample::{identify, now_ms, take_sample};
use heapscope_inspector::watch::trend::{TrendConfig, TrendTracker};
use heapscope_inspector::{attach, procs, AttachOptions, InspectorError, TargetSpec};
use heapscope_store::metrics::{self, Alert, ProcessInfo};
use heapscope_store::retention::{self, RetentionPolicy};
use heapscope_store::Store;
use tokio::sync::{mpsc, oneshot};
use tokio::time::MissedTickBehavior;

use super::target::describe;
use super::{Command, Health, Registry, WatchConfig, WatchRefused};

/// Deadline for connecting and for each answer (`heapscope watch --timeout`'s default).
const TIMEOUT: Duration = Duration::from_secs(10);
/// Wait before attaching again after a failure.
const RETRY: Duration = Duration::from_secs(10);
/// `heapscope watch --cooldown`'s default: a rule fires at most this often per process.
const COOLDOWN: Duration = Duration::from_secs(600);
/// `heapscope watch`'s pace for thinning and expiring stored samples.
const RETENTION_EVERY: Duration = Duration::from_secs(600);

pub(super) fn spawn(
    registry: Weak<Registry>,
    store: Arc<Store>,
    config: WatchConfig,
    rx: mpsc::UnboundedReceiver<Command>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("heapscope-watch".into())
        .spawn(move || {
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, run(registry, store, config, rx));
        })?;
    Ok(())
}

/// What every watch task shares.
#[derive(Clone)]
struct Ctx {
    registry: Weak<Registry>,
    store: Arc<Store>,
    interval: Duration,
    trend: TrendConfig,
    gc_observer: bool,
}

impl Ctx {
    fn update(&self, slot: usize, f: impl FnOnce(&mut super::WatchState)) {
        if let Some(r) = self.registry.upgrade() {
            r.update(slot, f);
        }
    }
}

async fn run(
    registry: Weak<Registry>,
    store: Arc<Store>,
    config: WatchConfig,
    mut rx: mpsc::UnboundedReceiver<Command>,
) {
    let ctx = Ctx {
        registry,
        store,
        interval: config.interval,
        trend: config.trend,
        gc_observer: config.gc_observer,
    };
    for spec in config.targets {
        start(&ctx, spec, None);
    }
    let mut discover = tokio::time::interval(config.interval);
    discover.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Probing ports takes up to seconds: a round runs as a task of its own, one at a time,
    // so commands are never kept waiting behind it.
    let discovering = Rc::new(Cell::new(false));
    let mut thin = tokio::time::interval(RETENTION_EVERY);
    thin.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let thinning = Rc::new(Cell::new(false));
    loop {
        tokio::select! {
            command = rx.recv() => match command {
                Some(Command::Watch { spec, reply }) => start(&ctx, spec, Some(reply)),
                None => return,
            },
            // (Checked inside, not as a branch condition: a disabled branch would not come
            // back when the round ends, as nothing wakes the select then.)
            _ = discover.tick(), if config.all => {
                if discovering.replace(true) {
                    continue;
                }
                let (ctx, discovering) = (ctx.clone(), discovering.clone());
                tokio::task::spawn_local(async move {
                    discover_new(&ctx).await;
                    discovering.set(false);
                });
            }
            _ = thin.tick(), if config.retention.is_some() => {
                let Some(policy) = config.retention else { continue };
                if thinning.replace(true) {
                    continue;
                }
                let (store, thinning) = (ctx.store.clone(), thinning.clone());
                tokio::task::spawn_local(async move {
                    apply_retention(store, policy).await;
                    thinning.set(false);
                });
            }
        }
    }
}

/// Thins and expires the stored samples on the blocking pool (a first run over a large
/// store takes a while); a failure is logged, and sampling goes on regardless.
async fn apply_retention(store: Arc<Store>, policy: RetentionPolicy) {
    let done = tokio::task::spawn_blocking(move || {
        store.with_conn(|c| retention::apply(c, &policy, now_ms()))
    })
    .await;
    match done {
        Ok(Ok(r)) if r.thinned + r.expired > 0 => eprintln!(
            "heapscope: store: {} samples thinned, {} past --retain deleted ({:.1} s)",
            r.thinned,
            r.expired,
            r.elapsed.as_secs_f64()
        ),
        Ok(Ok(_)) => {}
        Ok(Err(e)) => eprintln!("heapscope: store: thinning old samples failed: {e:#}"),
        Err(e) => eprintln!("heapscope: store: thinning old samples failed: {e}"),
    }
}

type Reply = oneshot::Sender<Result<i64, WatchRefused>>;

fn start(ctx: &Ctx, spec: TargetSpec, reply: Option<Reply>) {
    let Some(registry) = ctx.registry.upgrade() else {
        return;
    };
    let pid = match spec {
        TargetSpec::Pid(p) => Some(p as i64),
        _ => None,
    };
    let slot = registry.add(describe(&spec), pid);
    tokio::task::spawn_local(watch(ctx.clone(), slot, spec, reply));
}

/// `--watch-all`: every local Node process with an open inspector not watched yet.
async fn discover_new(ctx: &Ctx) {
    let Ok(found) = procs::node_processes() else {
        return;
    };
    for p in found {
        let Some(registry) = ctx.registry.upgrade() else {
            return;
        };
        if registry.is_watched(None, Some(p.pid as i64), None) {
            continue;
        }
        drop(registry);
        if let Some(addr) = heapscope_inspector::attach::find_inspector(&p.listening).await {
            let Some(registry) = ctx.registry.upgrade() else {
                return;
            };
            let slot = registry.add(addr.to_string(), Some(p.pid as i64));
            tokio::task::spawn_local(watch(
                ctx.clone(),
                slot,
                TargetSpec::HostPort(addr.to_string()),
                None,
            ));
        }
    }
}

/// Why a session ended.
enum Ended {
    Inspector(InspectorError),
    /// The inspector address now belongs to another process: ours has exited.
    Replaced(String),
    Store(String),
    /// Another watch already samples this process.
    Duplicate(i64),
    /// The server stopped.
    Stopped,
}

impl From<InspectorError> for Ended {
    fn from(e: InspectorError) -> Ended {
        Ended::Inspector(e)
    }
}

/// State that outlives one session, so a re-attach continues the same process.
struct Tracking {
    process: Option<(i64, i64)>,
    inspector: Option<String>,
    trend: TrendTracker,
    rules: RuleSet,
}

/// One watch: sessions until the process is gone or the failure is hopeless.
async fn watch(ctx: Ctx, slot: usize, mut spec: TargetSpec, mut reply: Option<Reply>) {
    let leak_trend = parse_rule("leak-trend").expect("the built-in rule parses");
    let mut t = Tracking {
        process: None,
        inspector: None,
        trend: TrendTracker::new(ctx.trend),
        rules: RuleSet::new(vec![leak_trend], COOLDOWN),
    };
    loop {
        let ended = session(&ctx, slot, &spec, &mut t, &mut reply).await;
        let (health, message, client_error, retry) = match ended {
            Ended::Stopped => return,
            Ended::Duplicate(process_id) => {
                if let Some(r) = reply.take() {
                    let _ = r.send(Ok(process_id));
                }
                if let Some(reg) = ctx.registry.upgrade() {
                    reg.hide(slot);
                }
                return;
            }
            Ended::Replaced(message) => (Health::Gone, message, false, false),
            Ended::Store(message) => (Health::Error, message, false, true),
            Ended::Inspector(e) => classify(&e, t.process.map(|p| p.1)),
        };
        if let Some(r) = reply.take() {
            // The request gets the error; no status row for a watch that never started.
            let _ = r.send(Err(WatchRefused {
                client_error,
                message: message.clone(),
            }));
            if let Some(reg) = ctx.registry.upgrade() {
                reg.hide(slot);
            }
            return;
        }
        ctx.update(slot, |w| {
            w.status = health;
            w.error = Some(message);
            w.active = retry;
        });
        if !retry {
            return;
        }
        tokio::time::sleep(RETRY).await;
        if ctx.registry.upgrade().is_none() {
            return;
        }
        ctx.update(slot, |w| w.status = Health::Attaching);
        // Once identified, the process is reached where it was found.
        if let Some(addr) = &t.inspector {
            spec = TargetSpec::HostPort(addr.clone());
        }
    }
}

/// `(status, message, the client's mistake, worth retrying)` for an inspector error.
fn classify(e: &InspectorError, known_pid: Option<i64>) -> (Health, String, bool, bool) {
    let message = e.to_string();
    let exited =
        known_pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists());
    match e {
        InspectorError::NoSuchProcess { .. } => (Health::Gone, message, true, false),
        _ if exited => (
            Health::Gone,
            format!("the process exited ({message})"),
            false,
            false,
        ),
        InspectorError::NotNode { .. }
        | InspectorError::NotLoopback { .. }
        | InspectorError::BadAddress { .. }
        | InspectorError::SignalNotPermitted { .. } => (Health::Error, message, true, false),
        InspectorError::ConnectionRefused { .. } | InspectorError::Closed { .. }
            if known_pid.is_some() =>
        {
            (Health::Gone, message, false, false)
        }
        InspectorError::ConnectionRefused { .. } => (Health::Error, message, true, true),
        _ => (Health::Error, message, false, true),
    }
}

async fn session(
    ctx: &Ctx,
    slot: usize,
    spec: &TargetSpec,
    t: &mut Tracking,
    reply: &mut Option<Reply>,
) -> Ended {
    let notice = |_: &str| {};
    let options = AttachOptions {
        allow_remote: false,
        timeout: TIMEOUT,
        notice: &notice,
    };
    let mut attached = match attach(spec, &options).await {
        Ok(a) => a,
        Err(e) => return e.into(),
    };
    // A sample of a target busy building a snapshot waits for its JS thread.
    attached.client.idle_timeout = TIMEOUT.max(ctx.interval * 2);
    let client = &mut attached.client;
    let identity = match identify(client).await {
        Ok(i) => i,
        Err(e) => return e.into(),
    };
    if let Some((_, pid)) = t.process {
        if identity.pid != pid {
            return Ended::Replaced(format!(
                "pid {pid} exited: its inspector address {} now belongs to pid {}",
                attached.addr, identity.pid
            ));
        }
    }
    let info = ProcessInfo {
        pid: identity.pid,
        started_ms: identity.started_ms,
        app: identity.app_name(),
        command_line: identity.command_line(),
        inspector: attached.addr.to_string(),
    };
    let process_id = match ctx
        .store
        .with_conn(|c| metrics::upsert_process(c, &info, now_ms()))
    {
        Ok(id) => id,
        Err(e) => return Ended::Store(format!("cannot store the process: {e:#}")),
    };
    let Some(registry) = ctx.registry.upgrade() else {
        return Ended::Stopped;
    };
    if registry.is_watched(Some(slot), Some(identity.pid), Some(process_id)) {
        return Ended::Duplicate(process_id);
    }
    registry.update(slot, |w| {
        w.process_id = Some(process_id);
        w.pid = Some(identity.pid);
        w.status = Health::Live;
        w.error = None;
    });
    drop(registry);
    t.process = Some((process_id, identity.pid));
    t.inspector = Some(info.inspector.clone());
    if let Some(r) = reply.take() {
        let _ = r.send(Ok(process_id));
    }
    let gc_note = if ctx.gc_observer {
        match gc::install(client).await {
            Ok(_) => None,
            Err(e) => Some(format!(
                "heap after GC is estimated: cannot install the GC observer: {e}"
            )),
        }
    } else {
        None
    };
    let gc_installed = ctx.gc_observer && gc_note.is_none();
    let ended = sample(ctx, slot, client, t, process_id, gc_note).await;
    // Also after an error: a session that timed out may still answer, and the observer is
    // counted, so one left behind would stay for good. A target that exited fails at once.
    if gc_installed {
        let _ = gc::remove(client).await;
    }
    ended
}

/// Samples every interval until the session ends.
async fn sample(
    ctx: &Ctx,
    slot: usize,
    client: &mut CdpClient,
    t: &mut Tracking,
    process_id: i64,
    gc_note: Option<String>,
) -> Ended {
    let mut ticker = tokio::time::interval(ctx.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if ctx.registry.upgrade().is_none() {
            return Ended::Stopped;
        }
        let mut sample = match take_sample(client).await {
            Ok(s) => s,
            Err(e @ InspectorError::Timeout { .. }) => {
                ctx.update(slot, |w| w.error = Some(format!("not answering: {e}")));
                continue;
            }
            Err(e) => return e.into(),
        };
        let fit = t.trend.observe(&mut sample);
        let stored = ctx.store.with_conn(|c| {
            metrics::insert_sample(c, process_id, sample.ts_ms, &sample.metrics)?;
            for firing in t.rules.check(&sample, fit.as_ref(), &t.trend) {
                // `log`: what `heapscope watch` stores for a rule without an action.
                let alert = Alert {
                    process_id,
                    ts_ms: sample.ts_ms,
                    rule: firing.rule.text,
                    message: firing.message,
                    action: "log".into(),
                };
                metrics::insert_alert(c, &alert)?;
            }
            Ok(())
        });
        let note = stored
            .err()
            .map(|e| format!("cannot store samples: {e:#}"))
            .or_else(|| gc_note.clone());
        ctx.update(slot, |w| {
            w.status = Health::Live;
            w.error = note;
        });
    }
}
