//! Watch rules as written on the command line: `CONDITION => ACTION`.
//!
//! ```text
//! heap_used / heap_limit > 0.7 => snapshot
//! tcp_handles > 1000 => exec:curl -X POST https://hooks.example/alert
//! leak-trend => snapshot-series:3:30s
//! rss > 1.5GB                      (no action: log)
//! ```
//!
//! CONDITION is an [`expr`](super::expr) expression or `leak-trend` (see
//! [`trend`](super::trend)). ACTION is one of `log` (the default), `snapshot`,
//! `snapshot-series:N:EVERY` (N snapshots EVERY apart, for the three-snapshot comparison),
//! `profile:DURATION` (a CPU profile) or `exec:COMMAND` (run by `sh -c`, with the alert in
//! `HEAPSCOPE_*` environment variables). Every firing is logged and stored whatever the
//! action; each rule fires at most once per cool-down per process.

use std::time::Duration;

use super::expr::{self, Expr};
use super::sample::Sample;
use super::trend::{Fit, TrendTracker};

#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Expr(Expr),
    LeakTrend,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Log,
    Snapshot,
    SnapshotSeries { count: u32, every: Duration },
    Profile(Duration),
    Exec(String),
}

impl Action {
    pub fn describe(&self) -> String {
        match self {
            Action::Log => "log".into(),
            Action::Snapshot => "snapshot".into(),
            Action::SnapshotSeries { count, every } => {
                format!("snapshot-series:{count}:{}", show_duration(*every))
            }
            Action::Profile(d) => format!("profile:{}", show_duration(*d)),
            Action::Exec(cmd) => format!("exec:{cmd}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// As written, for messages and the store.
    pub text: String,
    pub condition: Condition,
    pub action: Action,
}

/// Parses `CONDITION [=> ACTION]`. Errors name the column in the whole text.
pub fn parse_rule(text: &str) -> Result<Rule, String> {
    let (condition_text, action_text, action_column) = match text.find("=>") {
        Some(at) => {
            let after = &text[at + 2..];
            let blanks = after.chars().take_while(|c| c.is_whitespace()).count();
            (
                &text[..at],
                after.trim(),
                text[..at + 2].chars().count() + blanks + 1,
            )
        }
        None => (text, "", 0),
    };
    let condition = if condition_text.trim() == "leak-trend" {
        Condition::LeakTrend
    } else {
        Condition::Expr(expr::parse(condition_text).map_err(|e| format!("in rule `{text}`: {e}"))?)
    };
    let action = parse_action(action_text)
        .map_err(|e| format!("in rule `{text}`, column {action_column}: {e}"))?;
    Ok(Rule {
        text: text.trim().to_string(),
        condition,
        action,
    })
}

fn parse_action(text: &str) -> Result<Action, String> {
    let (name, arg) = match text.split_once(':') {
        Some((name, arg)) => (name.trim(), Some(arg)),
        None => (text.trim(), None),
    };
    let duration = |s: &str| parse_duration(s.trim()).map_err(|e| format!("`{name}`: {e}"));
    match (name, arg) {
        ("" | "log", None) => Ok(Action::Log),
        ("snapshot", None) => Ok(Action::Snapshot),
        ("snapshot-series", Some(arg)) => {
            let (count, every) = arg
                .split_once(':')
                .ok_or("snapshot-series takes COUNT:EVERY, e.g. snapshot-series:3:30s")?;
            let count: u32 = count
                .trim()
                .parse()
                .ok()
                .filter(|n| (2..=20).contains(n))
                .ok_or("snapshot-series takes a COUNT from 2 to 20")?;
            Ok(Action::SnapshotSeries {
                count,
                every: duration(every)?,
            })
        }
        ("profile", Some(arg)) => Ok(Action::Profile(duration(arg)?)),
        ("profile", None) => Ok(Action::Profile(Duration::from_secs(10))),
        ("exec", Some(cmd)) if !cmd.trim().is_empty() => Ok(Action::Exec(cmd.trim().to_string())),
        ("exec", _) => Err("exec needs a command: exec:COMMAND".into()),
        _ => Err(format!(
            "unknown action `{text}` (use log, snapshot, snapshot-series:N:EVERY, \
             profile:DURATION or exec:COMMAND)"
        )),
    }
}

/// `30s`, `500ms`, `2m`, `1h`, or a number of seconds; up to a week.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (like 30s, 500ms, 2m)"))?;
    let seconds = match unit.trim() {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit `{other}` (use ms, s, m or h)"
            ))
        }
    };
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 7.0 * 86400.0 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `30s`, `2m`, `1500ms`: the way durations are written in rules.
pub(crate) fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    match (ms % 1000, ms % 60_000) {
        (0, 0) if ms > 0 => format!("{}m", ms / 60_000),
        (0, _) => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    }
}

/// The rules of one process and when each last fired.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
    last_fired_ms: Vec<Option<i64>>,
    cooldown: Duration,
}

/// A rule that fired on a sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Firing {
    pub rule: Rule,
    /// Why, with the values read: `heap_used / heap_limit > 0.7 (heap_used 812.3 MB, …)`.
    pub message: String,
}

impl RuleSet {
    pub fn new(rules: Vec<Rule>, cooldown: Duration) -> Self {
        let last_fired_ms = vec![None; rules.len()];
        RuleSet {
            rules,
            last_fired_ms,
            cooldown,
        }
    }

    /// The rules that fire on `sample` and are out of their cool-down; marks them fired.
    /// `fit` is the leak trend computed for this sample, if any.
    pub fn check(
        &mut self,
        sample: &Sample,
        fit: Option<&Fit>,
        trend: &TrendTracker,
    ) -> Vec<Firing> {
        let lookup = |name: &str| sample.get(name);
        let mut firings = Vec::new();
        for (rule, last) in self.rules.iter().zip(self.last_fired_ms.iter_mut()) {
            if last.is_some_and(|t| sample.ts_ms - t < self.cooldown.as_millis() as i64) {
                continue;
            }
            let message = match &rule.condition {
                Condition::Expr(e) if e.holds(&lookup) == Some(true) => {
                    let values: Vec<String> = dedup(e.metrics())
                        .into_iter()
                        .filter_map(|m| Some(format!("{m} {}", show_value(m, expr::resolve(m, &lookup)?))))
                        .collect();
                    format!("{} ({})", rule_condition_text(rule), values.join(", "))
                }
                Condition::LeakTrend => match fit.filter(|f| trend.is_leak(f)) {
                    Some(f) => format!(
                        "leak-trend: heap after GC rising {:.1} MB/hour (r² {:.2} over {} samples, {:.0} s, {}; \
                         threshold {:.1} MB/hour, r² ≥ {:.2})",
                        f.slope_bytes_per_hour / 1e6,
                        f.r2,
                        f.samples,
                        f.span.as_secs_f64(),
                        match f.measured_gcs {
                            Some(n) => format!("measured after {n} major GCs"),
                            None => "estimated from the old generation".to_string(),
                        },
                        trend.config().min_slope_bytes_per_hour / 1e6,
                        trend.config().min_r2,
                    ),
                    None => continue,
                },
                Condition::Expr(_) => continue,
            };
            *last = Some(sample.ts_ms);
            firings.push(Firing {
                rule: rule.clone(),
                message,
            });
        }
        firings
    }
}

fn rule_condition_text(rule: &Rule) -> &str {
    rule.text.split("=>").next().unwrap_or(&rule.text).trim()
}

fn dedup(names: Vec<&str>) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// Byte-valued metrics in MB (as DevTools shows sizes), counts as integers.
fn show_value(name: &str, value: f64) -> String {
    let is_count =
        name.starts_with("resources_") || matches!(name, "tcp_handles" | "active_resources");
    if is_count {
        format!("{value:.0}")
    } else if value.abs() >= 1e5 {
        format!("{:.1} MB", value / 1e6)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::trend::TrendConfig;

    fn sample(ts_ms: i64, heap_used: f64) -> Sample {
        Sample {
            ts_ms,
            metrics: vec![
                ("heap_used_bytes".into(), heap_used),
                ("heap_limit_bytes".into(), 100e6),
            ],
            resources: Vec::new(),
            gc: None,
        }
    }

    #[test]
    fn rules_and_actions_parse() {
        let r = parse_rule("heap_used / heap_limit > 0.7 => snapshot").unwrap();
        assert_eq!(r.action, Action::Snapshot);
        assert!(matches!(r.condition, Condition::Expr(_)));
        assert_eq!(parse_rule("rss > 1GB").unwrap().action, Action::Log);
        assert_eq!(
            parse_rule("leak-trend => snapshot-series:3:30s").unwrap(),
            Rule {
                text: "leak-trend => snapshot-series:3:30s".into(),
                condition: Condition::LeakTrend,
                action: Action::SnapshotSeries {
                    count: 3,
                    every: Duration::from_secs(30)
                },
            }
        );
        assert_eq!(
            parse_rule("tcp_handles > 10 => profile:2s").unwrap().action,
            Action::Profile(Duration::from_secs(2))
        );
        assert_eq!(
            parse_rule("tcp_handles > 10 => exec: echo a:b => c")
                .unwrap()
                .action,
            Action::Exec("echo a:b => c".into())
        );
        assert_eq!(
            Action::SnapshotSeries {
                count: 3,
                every: Duration::from_secs(120)
            }
            .describe(),
            "snapshot-series:3:2m"
        );
    }

    #[test]
    fn bad_rules_say_where() {
        let e = parse_rule("heap_used > 1XB => snapshot").unwrap_err();
        assert!(e.contains("column 14"), "{e}");
        let e = parse_rule("heap_used > 1 => snapshto").unwrap_err();
        assert!(
            e.contains("column 18") && e.contains("unknown action"),
            "{e}"
        );
        assert!(parse_rule("rss > 1 => snapshot-series:1:5s")
            .unwrap_err()
            .contains("from 2 to 20"));
        assert!(parse_rule("rss > 1 => profile:5 parsecs")
            .unwrap_err()
            .contains("unit"));
        assert!(parse_rule("rss > 1 => exec:")
            .unwrap_err()
            .contains("needs a command"));
    }

    #[test]
    fn a_rule_fires_once_per_cooldown() {
        let rules = vec![parse_rule("heap_used / heap_limit > 0.7 => snapshot").unwrap()];
        let mut set = RuleSet::new(rules, Duration::from_secs(60));
        let trend = TrendTracker::new(TrendConfig::default());
        assert!(set.check(&sample(0, 50e6), None, &trend).is_empty());
        let fired = set.check(&sample(1000, 80e6), None, &trend);
        assert_eq!(fired.len(), 1);
        assert_eq!(
            fired[0].message,
            "heap_used / heap_limit > 0.7 (heap_used 80.0 MB, heap_limit 100.0 MB)"
        );
        assert!(
            set.check(&sample(30_000, 90e6), None, &trend).is_empty(),
            "cooling down"
        );
        assert_eq!(set.check(&sample(61_000, 90e6), None, &trend).len(), 1);
    }
}
