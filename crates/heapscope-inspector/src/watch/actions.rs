//! Carrying out a fired rule's action against the watched process, without stopping the
//! sampling for long: a snapshot is taken at once (it must be: the session is shared), but a
//! snapshot series and a CPU profile are *scheduled* — the later snapshots, and the profile's
//! stop, become steps that the watch loop runs when they fall due, sampling in between.
//! Commands run in the background; their exit is reported when the loop next looks.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::capture::{capture, CaptureMode, Local, Method};
use crate::cdp::CdpClient;
use crate::error::Result;
use crate::profile::{start_cpu_profile, stop_cpu_profile};
use crate::snapshot::{take_snapshot, SnapshotOptions};

use super::rules::{show_duration, Action, Firing};

/// The process the actions are for.
#[derive(Clone, Debug)]
pub struct ActionTarget {
    pub pid: i64,
    pub app: String,
    /// `HOST:PORT` of its inspector.
    pub inspector: String,
}

impl ActionTarget {
    /// Whether the target runs on this machine (its inspector is on loopback), so its pid
    /// and the local memory figures apply to it.
    fn is_local(&self) -> bool {
        self.inspector
            .parse::<std::net::SocketAddr>()
            .is_ok_and(|a| a.ip().is_loopback())
    }
}

/// What an action (or a later step of one) did, for the log and the store.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub rule: String,
    /// `snapshot /data/captures/api-41-20261125-153000.heapsnapshot (12.3 MB)`, or what failed.
    pub text: String,
    /// Files written.
    pub files: Vec<PathBuf>,
}

#[derive(Debug)]
enum StepKind {
    Snapshot { index: u32, of: u32, series: String },
    StopProfile { path: PathBuf, recorded: Duration },
}

#[derive(Debug)]
struct Step {
    due_ms: i64,
    rule: String,
    kind: StepKind,
}

/// Scheduled steps and running commands of one watched process.
#[derive(Debug)]
pub struct ActionRunner {
    out_dir: PathBuf,
    steps: Vec<Step>,
    children: Vec<(String, String, Child)>,
    /// A CPU profile is recording (V8 runs one at a time per session).
    profiling: bool,
}

/// CPU profile sampling interval: V8's default in Node.
const PROFILE_INTERVAL: Duration = Duration::from_micros(1000);

impl ActionRunner {
    pub fn new(out_dir: &Path) -> Self {
        ActionRunner {
            out_dir: out_dir.to_path_buf(),
            steps: Vec::new(),
            children: Vec::new(),
            profiling: false,
        }
    }

    /// Starts the action of `firing` at `now_ms`; later steps are scheduled.
    pub async fn start(
        &mut self,
        client: &mut CdpClient,
        target: &ActionTarget,
        firing: &Firing,
        now_ms: i64,
    ) -> Outcome {
        let rule = firing.rule.text.clone();
        let outcome = |text: String, files: Vec<PathBuf>| Outcome {
            rule: rule.clone(),
            text,
            files,
        };
        match &firing.rule.action {
            Action::Log => outcome("log".into(), Vec::new()),
            Action::Snapshot => {
                let path = self.file(target, now_ms, "", "heapsnapshot");
                self.snapshot(client, target, &path, &rule).await
            }
            Action::SnapshotSeries { count, every } => {
                let series = utc_stamp(now_ms);
                for index in 2..=*count {
                    self.steps.push(Step {
                        due_ms: now_ms + (index as i64 - 1) * every.as_millis() as i64,
                        rule: rule.clone(),
                        kind: StepKind::Snapshot {
                            index,
                            of: *count,
                            series: series.clone(),
                        },
                    });
                }
                let path = self.series_file(target, &series, 1, *count);
                let mut first = self.snapshot(client, target, &path, &rule).await;
                first.text = format!(
                    "snapshot-series 1/{count} (next {} apart): {}",
                    show_duration(*every),
                    first.text
                );
                first
            }
            Action::Profile(duration) => {
                if self.profiling {
                    return outcome(
                        "profile skipped: one is already recording".into(),
                        Vec::new(),
                    );
                }
                if let Err(e) = std::fs::create_dir_all(&self.out_dir) {
                    let dir = self.out_dir.display();
                    return outcome(
                        format!("profile not started: cannot create {dir}: {e}"),
                        Vec::new(),
                    );
                }
                if let Err(e) = start_cpu_profile(client, PROFILE_INTERVAL).await {
                    return outcome(format!("profile failed to start: {e}"), Vec::new());
                }
                self.profiling = true;
                let path = self.file(target, now_ms, "", "cpuprofile");
                self.steps.push(Step {
                    due_ms: now_ms + duration.as_millis() as i64,
                    rule: rule.clone(),
                    kind: StepKind::StopProfile {
                        path: path.clone(),
                        recorded: *duration,
                    },
                });
                outcome(
                    format!(
                        "profile recording for {} s into {}",
                        duration.as_secs_f64(),
                        path.display()
                    ),
                    Vec::new(),
                )
            }
            Action::Exec(command) => match self.spawn(command, target, firing, now_ms) {
                Ok(child) => {
                    let text = format!("exec `{command}` started (pid {})", child.id());
                    self.children.push((rule.clone(), command.clone(), child));
                    outcome(text, Vec::new())
                }
                Err(e) => outcome(format!("exec `{command}` failed to start: {e}"), Vec::new()),
            },
        }
    }

    /// When the next scheduled step falls due.
    pub fn next_due_ms(&self) -> Option<i64> {
        self.steps.iter().map(|s| s.due_ms).min()
    }

    /// Whether steps or commands are still outstanding.
    pub fn is_busy(&self) -> bool {
        !self.steps.is_empty() || !self.children.is_empty()
    }

    /// Runs the steps due at `now_ms` and reports commands that have exited.
    pub async fn run_due(
        &mut self,
        client: &mut CdpClient,
        target: &ActionTarget,
        now_ms: i64,
    ) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        let (due, later): (Vec<Step>, Vec<Step>) = std::mem::take(&mut self.steps)
            .into_iter()
            .partition(|s| s.due_ms <= now_ms);
        self.steps = later;
        for step in due {
            let outcome = match step.kind {
                StepKind::Snapshot { index, of, series } => {
                    let path = self.series_file(target, &series, index, of);
                    let mut o = self.snapshot(client, target, &path, &step.rule).await;
                    o.text = format!("snapshot-series {index}/{of}: {}", o.text);
                    o
                }
                StepKind::StopProfile { path, recorded } => {
                    self.profiling = false;
                    match stop_cpu_profile(client, &path, recorded).await {
                        Ok(p) => Outcome {
                            rule: step.rule,
                            text: format!("profile {}", p.display()),
                            files: vec![p],
                        },
                        Err(e) => Outcome {
                            rule: step.rule,
                            text: format!("profile failed: {e}"),
                            files: Vec::new(),
                        },
                    }
                }
            };
            outcomes.push(outcome);
        }
        self.children
            .retain_mut(|(rule, command, child)| match child.try_wait() {
                Ok(None) => true,
                Ok(Some(status)) => {
                    outcomes.push(Outcome {
                        rule: rule.clone(),
                        text: format!("exec `{command}` {status}"),
                        files: Vec::new(),
                    });
                    false
                }
                Err(e) => {
                    outcomes.push(Outcome {
                        rule: rule.clone(),
                        text: format!("exec `{command}`: cannot wait for it: {e}"),
                        files: Vec::new(),
                    });
                    false
                }
            });
        outcomes
    }

    async fn snapshot(
        &mut self,
        client: &mut CdpClient,
        target: &ActionTarget,
        path: &Path,
        rule: &str,
    ) -> Outcome {
        let result: Result<std::result::Result<_, String>> = async {
            // The rule that fired may well be "memory is tight": a snapshot then risks the
            // very service being watched, so the `snapshot` command's check applies here too.
            let local_pid = target.is_local().then_some(target.pid as i32);
            let check = crate::memory::check(client, local_pid).await?;
            if check.is_tight() {
                return Ok(Err(format!(
                    "snapshot skipped: the target uses {:.1} MB of heap and only {:.1} MB of \
                     memory is available to it; a snapshot needs several times the used heap",
                    check.usage.heap_used as f64 / 1e6,
                    check.available.unwrap_or(0) as f64 / 1e6
                )));
            }
            std::fs::create_dir_all(&self.out_dir)
                .map_err(|e| crate::error::InspectorError::io("cannot create", &self.out_dir, e))?;
            // As `heapscope snapshot` does: the target writes it when it can (faster, and the
            // watched service is paused for less time), streamed otherwise.
            match target.inspector.parse::<std::net::SocketAddr>() {
                Ok(inspector) => {
                    let local = Local {
                        pid: local_pid,
                        inspector,
                    };
                    let options = SnapshotOptions::default();
                    capture(client, local, path, CaptureMode::Auto, options, &mut ())
                        .await
                        .map(|c| Ok((c.capture, c.method, c.fallback)))
                }
                Err(_) => take_snapshot(client, path, SnapshotOptions::default(), &mut ())
                    .await
                    .map(|c| Ok((c, Method::Streamed, None))),
            }
        }
        .await;
        match result {
            Ok(Err(skipped)) => Outcome {
                rule: rule.to_string(),
                text: skipped,
                files: Vec::new(),
            },
            Ok(Ok((capture, method, fallback))) => Outcome {
                rule: rule.to_string(),
                text: format!(
                    "snapshot {} ({:.1} MB, {})",
                    capture.path.display(),
                    capture.bytes as f64 / 1e6,
                    match (method, fallback) {
                        (Method::InTarget, _) => "written by the target".to_string(),
                        (Method::Streamed, None) => "streamed".to_string(),
                        (Method::Streamed, Some(why)) => format!("streamed: {why}"),
                    }
                ),
                files: vec![capture.path],
            },
            Err(e) => Outcome {
                rule: rule.to_string(),
                text: format!("snapshot failed: {e}"),
                files: Vec::new(),
            },
        }
    }

    fn file(&self, target: &ActionTarget, now_ms: i64, suffix: &str, extension: &str) -> PathBuf {
        self.out_dir.join(format!(
            "{}-{}-{}{suffix}.{extension}",
            file_safe(&target.app),
            target.pid,
            utc_stamp(now_ms)
        ))
    }

    fn series_file(&self, target: &ActionTarget, series: &str, index: u32, of: u32) -> PathBuf {
        self.out_dir.join(format!(
            "{}-{}-{series}-{index}of{of}.heapsnapshot",
            file_safe(&target.app),
            target.pid
        ))
    }

    /// `sh -c COMMAND` with the alert in the environment; its output goes to heapscope's
    /// stderr so that `--json` output on stdout stays parseable.
    fn spawn(
        &self,
        command: &str,
        target: &ActionTarget,
        firing: &Firing,
        now_ms: i64,
    ) -> std::io::Result<Child> {
        let stderr = std::io::stderr().as_fd().try_clone_to_owned()?;
        let stderr_too = stderr.try_clone()?;
        Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("HEAPSCOPE_PID", target.pid.to_string())
            .env("HEAPSCOPE_APP", &target.app)
            .env("HEAPSCOPE_INSPECTOR", &target.inspector)
            .env("HEAPSCOPE_RULE", &firing.rule.text)
            .env("HEAPSCOPE_MESSAGE", &firing.message)
            .env("HEAPSCOPE_TIME_MS", now_ms.to_string())
            .env("HEAPSCOPE_OUT_DIR", &self.out_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(stderr))
            .stderr(Stdio::from(stderr_too))
            .spawn()
    }
}

/// App names come from the target; keep file names to a safe alphabet.
fn file_safe(name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    if safe.is_empty() {
        "node".into()
    } else {
        safe
    }
}

/// `20261125-143801` (UTC) for unix milliseconds, without a date library: days since the
/// epoch to a civil date (Howard Hinnant's algorithm).
pub fn utc_stamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::rules::parse_rule;

    #[test]
    fn stamps_and_file_names() {
        assert_eq!(utc_stamp(1_795_617_481_000), "20261125-143801");
        assert_eq!(file_safe("api/v2 \"x\""), "api_v2__x_");
        assert_eq!(file_safe(""), "node");
    }

    #[test]
    fn exec_gets_the_alert_in_its_environment() {
        let dir = std::env::temp_dir().join(format!("heapscope-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("env.txt");
        let runner = ActionRunner::new(&dir);
        let rule = parse_rule(&format!(
            "tcp_handles > 1 => exec:echo \"$HEAPSCOPE_PID $HEAPSCOPE_APP $HEAPSCOPE_RULE\" > {}",
            out.display()
        ))
        .unwrap();
        let firing = Firing {
            rule,
            message: "tcp_handles > 1 (tcp_handles 5)".into(),
        };
        let target = ActionTarget {
            pid: 77,
            app: "api".into(),
            inspector: "127.0.0.1:9229".into(),
        };
        let Action::Exec(command) = &firing.rule.action else {
            unreachable!()
        };
        let mut child = runner.spawn(command, &target, &firing, 0).unwrap();
        assert!(child.wait().unwrap().success());
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(
            text.starts_with("77 api tcp_handles > 1 => exec:"),
            "{text}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
