//! `heapscope watch`: sample live Node processes' memory every interval, store every sample,
//! evaluate rules (with actions), show it live, and serve it to Prometheus.
//!
//! One task per watched process on the single-threaded runtime (`--all` adds processes as
//! their inspectors appear and lets exited ones go); they share the store, the view and the
//! latest samples the metrics endpoint serves. Each watcher installs the GC observer that
//! measures heap after GC (unless `--no-gc-observer`) and removes it when it stops: Ctrl-C
//! and `--duration` ask the watchers to stop (and wait a little for them) rather than
//! dropping them mid-session. The store is thinned and expired every ten minutes
//! (`--retain`). Everything about *what* is sampled and how rules and actions behave lives
//! in `heapscope_inspector::watch`; this module is the loop and the wiring.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use heapscope_inspector::watch::actions::{ActionRunner, ActionTarget, Outcome};
use heapscope_inspector::watch::gc;
use heapscope_inspector::watch::prometheus::{self, Exposed};
use heapscope_inspector::watch::rules::{parse_rule, Rule, RuleSet};
use heapscope_inspector::watch::sample::{identify, now_ms, take_sample};
use heapscope_inspector::watch::trend::{TrendConfig, TrendTracker};
use heapscope_inspector::{attach, procs, AttachOptions, TargetSpec};
use heapscope_store::metrics::{self as store_metrics, Alert, ProcessInfo};
use heapscope_store::retention::{self, parse_retain, RetentionPolicy};
use heapscope_store::Store;
use tokio::time::Instant;

use crate::cmd::live::{parse_duration, runtime};
use crate::cmd::watch_view::{Mode, View};

#[derive(Args, Debug)]
#[group(id = "which", required = true, multiple = false)]
pub struct WatchTarget {
    /// A local Node.js process (its inspector is opened with SIGUSR1 when closed).
    #[arg(long, group = "which")]
    pub pid: Option<i32>,
    /// An inspector's HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", group = "which")]
    pub inspect: Option<String>,
    /// A session URL, ws://HOST:PORT/ID.
    #[arg(long, value_name = "URL", group = "which")]
    pub ws: Option<String>,
    /// Every local Node.js process with an open inspector, and those that open one later.
    #[arg(long, group = "which")]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: WatchTarget,
    /// Time between samples, e.g. 5s, 500ms.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub interval: Duration,
    /// Rule `CONDITION [=> ACTION]` (repeatable), e.g. 'heap_used / heap_limit > 0.7 =>
    /// snapshot', 'tcp_handles > 1000 => exec:notify.sh', 'leak-trend => snapshot-series:3:30s'.
    /// Actions: log (default), snapshot, snapshot-series:N:EVERY, profile:DURATION, exec:CMD.
    #[arg(long = "rule", value_name = "RULE", value_parser = parse_rule)]
    pub rules: Vec<Rule>,
    /// A rule fires at most once per cool-down per process.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub cooldown: Duration,
    /// Window of the leak-trend rule's regression of heap after GC.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub trend_window: Duration,
    /// Growth of heap after GC above which leak-trend fires, e.g. 5MB/h, 500KB/h.
    #[arg(long, default_value = "5MB/h", value_parser = parse_rate)]
    pub trend_threshold: f64,
    /// How steady the growth must be for leak-trend: r² of the fit, 0 to 1.
    #[arg(long, default_value_t = 0.8)]
    pub trend_r2: f64,
    /// Data directory of the store (default: $XDG_DATA_HOME/heapscope).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Where snapshots and profiles taken by actions go (default: DATA/captures).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (loopback only unless --metrics-public).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Allow --metrics on a non-loopback address.
    #[arg(long, requires = "metrics")]
    pub metrics_public: bool,
    /// Stop after N samples (of each process).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Stop after this long.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// One JSON object per line on stdout: samples, alerts and action results.
    #[arg(long)]
    pub json: bool,
    /// Name the service (default: its process title or script name).
    #[arg(long)]
    pub app: Option<String>,
    /// Allow inspectors on non-loopback addresses.
    #[arg(long)]
    pub allow_remote: bool,
    /// Deadline for connecting and for each answer.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Retention, rescanning and the GC observer (boxed: the command enum's variants stay
    /// of similar size).
    #[command(flatten)]
    pub upkeep: Box<Upkeep>,
}

#[derive(Args, Debug)]
pub struct Upkeep {
    /// Keep stored samples this long (e.g. 30d, 12h, 2w); older ones are deleted. Samples
    /// keep full resolution for an hour, then min and max per minute up to a day, then per
    /// ten minutes. Applied at start and every ten minutes.
    #[arg(long, default_value = "30d", value_parser = parse_retain)]
    pub retain: Duration,
    /// With --all: how often to look for new inspectors [default: 10s].
    #[arg(long, value_parser = parse_duration)]
    pub rescan: Option<Duration>,
    /// Install nothing in the target: heap after GC is then estimated from the old
    /// generation instead of measured by a GC observer (a PerformanceObserver).
    #[arg(long)]
    pub no_gc_observer: bool,
}

/// `5MB/h`, `500KB/h`, `1GB/hour` or a plain number of MB per hour, in bytes per hour.
fn parse_rate(text: &str) -> Result<f64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix("/hour")
        .or_else(|| t.strip_suffix("/h"))
        .unwrap_or(t);
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a rate like 5MB/h"))?;
    let factor = match unit.trim() {
        "" | "MB" => 1e6,
        "B" => 1.0,
        "KB" | "kB" => 1e3,
        "GB" => 1e9,
        other => {
            return Err(format!(
                "unknown unit `{other}` (use B, KB, MB or GB per hour)"
            ))
        }
    };
    Ok(n * factor)
}

/// What every watcher needs.
struct WatchContext {
    interval: Duration,
    rules: Vec<Rule>,
    cooldown: Duration,
    trend: TrendConfig,
    count: Option<u64>,
    out_dir: PathBuf,
    app: Option<String>,
    allow_remote: bool,
    timeout: Duration,
    store: Store,
    view: RefCell<View>,
    exposed: RefCell<BTreeMap<i64, Exposed>>,
    gc_observer: bool,
    rescan: Duration,
    /// Set when the watchers should finish (Ctrl-C, `--duration`).
    stop: tokio::sync::watch::Sender<bool>,
}

impl WatchContext {
    /// Resolves once the watchers are asked to stop.
    async fn stopped(&self) {
        let mut rx = self.stop.subscribe();
        let _ = rx.wait_for(|stop| *stop).await;
    }
}

/// How often `--all` looks for new inspectors unless `--rescan` says.
const DEFAULT_RESCAN: Duration = Duration::from_secs(10);
/// How long watchers get to finish (remove their GC observer, close) once asked to stop.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// How often the store is thinned and expired.
const RETENTION_EVERY: Duration = Duration::from_secs(600);

pub fn run(args: &WatchArgs) -> Result<()> {
    if !(0.0..=1.0).contains(&args.trend_r2) {
        bail!("--trend-r2 must be between 0 and 1");
    }
    // Not clap's `requires`: a boolean flag always has a value, so it would never object.
    if args.upkeep.rescan.is_some() && !args.target.all {
        bail!("--rescan applies only with --all");
    }
    let data = args
        .data
        .clone()
        .unwrap_or_else(heapscope_store::default_dir);
    let store = Store::open(&data)?;
    let ctx = Rc::new(WatchContext {
        interval: args.interval,
        rules: args.rules.clone(),
        cooldown: args.cooldown,
        trend: TrendConfig {
            window: args.trend_window,
            min_slope_bytes_per_hour: args.trend_threshold,
            min_r2: args.trend_r2,
        },
        count: args.count,
        out_dir: args
            .out_dir
            .clone()
            .unwrap_or_else(|| data.join("captures")),
        app: args.app.clone(),
        allow_remote: args.allow_remote,
        timeout: args.timeout,
        store,
        view: RefCell::new(View::new(Mode::choose(args.json))),
        exposed: RefCell::new(BTreeMap::new()),
        gc_observer: !args.upkeep.no_gc_observer,
        rescan: args.upkeep.rescan.unwrap_or(DEFAULT_RESCAN),
        stop: tokio::sync::watch::Sender::new(false),
    });
    let policy = RetentionPolicy::retaining(args.upkeep.retain);
    let local = tokio::task::LocalSet::new();
    runtime()?.block_on(local.run_until(async {
        let server = match args.metrics {
            Some(addr) => {
                let listener = prometheus::bind(addr, args.metrics_public)
                    .await
                    .with_context(|| format!("cannot serve metrics on {addr}"))?;
                eprintln!(
                    "heapscope: serving Prometheus metrics at http://{}/metrics",
                    listener.local_addr()?
                );
                let ctx = ctx.clone();
                Some(tokio::task::spawn_local(async move {
                    prometheus::serve(listener, || {
                        let exposed = ctx.exposed.borrow();
                        prometheus::render(&exposed.values().cloned().collect::<Vec<_>>())
                    })
                    .await
                }))
            }
            None => None,
        };
        let thinning = {
            let ctx = ctx.clone();
            tokio::task::spawn_local(async move {
                let mut every = tokio::time::interval(RETENTION_EVERY);
                loop {
                    every.tick().await;
                    apply_retention(&ctx, &policy);
                }
            })
        };
        let work = async {
            match target_spec(&args.target) {
                Some(spec) => watch_target(spec, ctx.clone()).await.map(drop),
                None => watch_all(ctx.clone()).await,
            }
        };
        tokio::pin!(work);
        let deadline = async {
            match args.duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let finished = tokio::select! {
            r = &mut work => Some(r),
            _ = deadline => None,
            _ = tokio::signal::ctrl_c() => None,
        };
        let result = match finished {
            Some(r) => r,
            // Ask the watchers to finish (removing what they installed); a second Ctrl-C,
            // or a watcher stuck in a long capture, does not hold the exit up for long.
            None => {
                ctx.stop.send_replace(true);
                tokio::select! {
                    r = &mut work => r,
                    _ = tokio::time::sleep(STOP_GRACE) => Ok(()),
                    _ = tokio::signal::ctrl_c() => Ok(()),
                }
            }
        };
        thinning.abort();
        if let Some(server) = server {
            server.abort();
        }
        result
    }))?;
    eprintln!(
        "heapscope: samples stored in {}",
        data.join(heapscope_store::DATABASE).display()
    );
    Ok(())
}

/// Thins and expires the stored samples; a failure is shown, not fatal (sampling goes on).
fn apply_retention(ctx: &WatchContext, policy: &RetentionPolicy) {
    match ctx
        .store
        .with_conn(|c| retention::apply(c, policy, now_ms()))
    {
        Ok(r) if r.thinned + r.expired > 0 => ctx.view.borrow_mut().notice(&format!(
            "store: {} samples thinned, {} past --retain deleted ({:.1} s)",
            r.thinned,
            r.expired,
            r.elapsed.as_secs_f64()
        )),
        Ok(_) => {}
        Err(e) => ctx
            .view
            .borrow_mut()
            .notice(&format!("store: thinning old samples failed: {e:#}")),
    }
}

fn target_spec(t: &WatchTarget) -> Option<TargetSpec> {
    match (t.pid, &t.inspect, &t.ws) {
        (Some(pid), _, _) => Some(TargetSpec::Pid(pid)),
        (_, Some(hp), _) => Some(TargetSpec::HostPort(hp.clone())),
        (_, _, Some(url)) => Some(TargetSpec::WsUrl(url.clone())),
        _ => None,
    }
}

/// Watches one process until `--count` samples are taken (and scheduled actions are done),
/// or it goes away, which is an error. Returns the number of samples.
async fn watch_target(spec: TargetSpec, ctx: Rc<WatchContext>) -> Result<u64> {
    let notice = |text: &str| ctx.view.borrow_mut().notice(text);
    let options = AttachOptions {
        allow_remote: ctx.allow_remote,
        timeout: ctx.timeout,
        notice: &notice,
    };
    let mut attached = attach(&spec, &options)
        .await
        .with_context(|| format!("cannot attach to {}", describe(&spec)))?;
    attached.client.idle_timeout = ctx.timeout;
    let client = &mut attached.client;
    let identity = identify(client)
        .await
        .context("cannot identify the target")?;
    let app = ctx.app.clone().unwrap_or_else(|| identity.app_name());
    let pid = identity.pid;
    let info = ProcessInfo {
        pid,
        started_ms: identity.started_ms,
        app: app.clone(),
        command_line: identity.command_line(),
        inspector: attached.addr.to_string(),
    };
    let process_id = ctx
        .store
        .with_conn(|c| store_metrics::upsert_process(c, &info, now_ms()))?;
    let target = ActionTarget {
        pid,
        app: app.clone(),
        inspector: info.inspector.clone(),
    };
    ctx.view
        .borrow_mut()
        .notice(&format!("watching pid {pid} ({app}) at {}", info.inspector));
    if attached.opened_inspector {
        ctx.view
            .borrow_mut()
            .notice("note: the target's inspector stays open until it exits");
    }
    let gc_observer = ctx.gc_observer && install_gc_observer(client, pid, &ctx).await;
    let mut rules = RuleSet::new(ctx.rules.clone(), ctx.cooldown);
    let mut trend = TrendTracker::new(ctx.trend);
    let mut runner = ActionRunner::new(&ctx.out_dir);
    let mut samples = 0u64;
    let mut next_sample = Instant::now();
    let result: Result<()> = async {
        loop {
            for outcome in runner.run_due(client, &target, now_ms()).await {
                record(
                    &ctx,
                    process_id,
                    &target,
                    "action",
                    &outcome,
                    "scheduled step",
                )?;
            }
            let sampling_done = ctx.count.is_some_and(|n| samples >= n);
            if sampling_done && !runner.is_busy() {
                return Ok(());
            }
            if !sampling_done && Instant::now() >= next_sample {
                let mut sample = take_sample(client).await.with_context(|| {
                    format!("stopped watching pid {pid} ({app}) after {samples} samples")
                })?;
                let fit = trend.observe(&mut sample);
                ctx.store
                    .with_conn(|c| {
                        store_metrics::insert_sample(c, process_id, sample.ts_ms, &sample.metrics)
                    })
                    .context("cannot store the sample")?;
                samples += 1;
                ctx.view.borrow_mut().sample(pid, &app, &sample);
                ctx.exposed.borrow_mut().insert(
                    pid,
                    Exposed {
                        pid,
                        app: app.clone(),
                        sample: sample.clone(),
                    },
                );
                for firing in rules.check(&sample, fit.as_ref(), &trend) {
                    ctx.view.borrow_mut().event(
                        "alert",
                        pid,
                        &app,
                        &firing.rule.text,
                        &firing.message,
                        sample.ts_ms,
                    );
                    let outcome = runner.start(client, &target, &firing, now_ms()).await;
                    record(
                        &ctx,
                        process_id,
                        &target,
                        "action",
                        &outcome,
                        &firing.message,
                    )?;
                }
                next_sample = (next_sample + ctx.interval).max(Instant::now());
            }
            // Once sampling is over only the actions are waited for; commands are polled.
            let mut wake = if sampling_done {
                Instant::now() + COMMAND_POLL
            } else {
                next_sample
            };
            if let Some(due) = runner.next_due_ms() {
                let wait = Duration::from_millis((due - now_ms()).max(0) as u64);
                wake = wake.min(Instant::now() + wait);
            }
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = ctx.stopped() => return Ok(()),
            }
        }
    }
    .await;
    ctx.exposed.borrow_mut().remove(&pid);
    ctx.view.borrow_mut().forget(pid);
    // Also after an error: a timed-out session may still answer, and a watcher that leaves
    // its observer behind would keep it alive for good (they are counted). A target that
    // exited fails this at once.
    if gc_observer {
        if let Err(e) = gc::remove(&mut attached.client).await {
            if result.is_ok() {
                let text = format!("pid {pid}: could not remove the GC observer: {e}");
                ctx.view.borrow_mut().notice(&text);
            }
        }
    }
    if result.is_ok() {
        attached.client.close().await;
    }
    result.map(|()| samples)
}

/// Installs the GC observer that measures heap after GC, saying which way heap after GC
/// will be known. Returns whether it is installed.
async fn install_gc_observer(
    client: &mut heapscope_inspector::cdp::CdpClient,
    pid: i64,
    ctx: &WatchContext,
) -> bool {
    match gc::install(client).await {
        Ok(_) => {
            ctx.view.borrow_mut().notice(&format!(
                "pid {pid}: heap after GC is measured by a GC observer installed in the target \
                 (a PerformanceObserver; removed when watch stops; --no-gc-observer to install nothing)"
            ));
            true
        }
        Err(e) => {
            ctx.view.borrow_mut().notice(&format!(
                "pid {pid}: heap after GC is estimated: cannot install the GC observer: {e}"
            ));
            false
        }
    }
}

/// How often running `exec` commands are checked for once sampling is over.
const COMMAND_POLL: Duration = Duration::from_millis(200);

/// Shows an action's outcome and stores it with the alert that caused it.
fn record(
    ctx: &WatchContext,
    process_id: i64,
    target: &ActionTarget,
    kind: &str,
    outcome: &Outcome,
    message: &str,
) -> Result<()> {
    let ts_ms = now_ms();
    // `log` did nothing beyond the alert already shown.
    if outcome.text != "log" {
        ctx.view.borrow_mut().event(
            kind,
            target.pid,
            &target.app,
            &outcome.rule,
            &outcome.text,
            ts_ms,
        );
    }
    let alert = Alert {
        process_id,
        ts_ms,
        rule: outcome.rule.clone(),
        message: message.to_string(),
        action: outcome.text.clone(),
    };
    ctx.store
        .with_conn(|c| store_metrics::insert_alert(c, &alert))
        .context("cannot store the alert")?;
    Ok(())
}

/// Watches every local Node process with an open inspector, picking up new ones every
/// `--rescan`; a process that exits is reported and the others go on (its pid may be
/// watched again if a new process gets it). Ends when every watched process has done
/// `--count` samples (never without `--count`: `--duration` or Ctrl-C end it then, after the
/// watchers have stopped).
async fn watch_all(ctx: Rc<WatchContext>) -> Result<()> {
    let mut seen: HashSet<i32> = HashSet::new();
    let mut watchers = tokio::task::JoinSet::new();
    loop {
        for process in procs::node_processes()? {
            if seen.contains(&process.pid) {
                continue;
            }
            if let Some(addr) =
                heapscope_inspector::attach::find_inspector(&process.listening).await
            {
                seen.insert(process.pid);
                let ctx = ctx.clone();
                let pid = process.pid;
                watchers.spawn_local(async move {
                    (
                        pid,
                        watch_target(TargetSpec::HostPort(addr.to_string()), ctx).await,
                    )
                });
            }
        }
        if seen.is_empty() {
            ctx.view.borrow_mut().notice(&format!(
                "no Node.js process with an open inspector yet; looking again every {:.0} s",
                ctx.rescan.as_secs_f64()
            ));
        }
        let rescan = tokio::time::sleep(ctx.rescan);
        tokio::pin!(rescan);
        loop {
            tokio::select! {
                _ = &mut rescan => break,
                _ = ctx.stopped() => {
                    while let Some(joined) = watchers.join_next().await {
                        report_watcher(&ctx, joined);
                    }
                    return Ok(());
                }
                Some(joined) = watchers.join_next() => {
                    if let Ok((pid, Err(_))) = &joined {
                        seen.remove(pid);
                    }
                    report_watcher(&ctx, joined);
                    if ctx.count.is_some() && watchers.is_empty() && !seen.is_empty() {
                        return Ok(());
                    }
                }
            }
        }
    }
}

type Joined = Result<(i32, Result<u64>), tokio::task::JoinError>;

fn report_watcher(ctx: &WatchContext, joined: Joined) {
    let text = match joined {
        Ok((pid, Ok(n))) => format!("pid {pid}: done after {n} samples"),
        Ok((pid, Err(e))) => format!("pid {pid}: {}", chain(&e)),
        Err(e) => format!("a watcher failed: {e}"),
    };
    ctx.view.borrow_mut().notice(&text);
}

fn chain(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

fn describe(spec: &TargetSpec) -> String {
    match spec {
        TargetSpec::Pid(pid) => format!("pid {pid}"),
        TargetSpec::HostPort(hp) => hp.clone(),
        TargetSpec::WsUrl(url) => url.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("5MB/h").unwrap(), 5e6);
        assert_eq!(parse_rate("500KB/hour").unwrap(), 5e5);
        assert_eq!(parse_rate("2").unwrap(), 2e6);
        assert!(parse_rate("5 parsecs/h").is_err());
        assert!(parse_rate("fast").is_err());
    }
}
