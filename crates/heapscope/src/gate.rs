//! The CI gate: `--fail-on` thresholds such as `retained-growth>10MB` or
//! `class:Socket count-growth>100`. A command computes each threshold's metric and fails
//! (exit code 1, with a short explanation) when one is exceeded.
//!
//! Grammar: `[class:NAME ]METRIC OP VALUE`, where OP is `>`, `>=`, `<` or `<=`, VALUE a
//! number with an optional size unit (`B`, `KB`/`MB`/`GB` = 1000ⁿ bytes as DevTools shows
//! sizes, `KiB`/`MiB`/`GiB` = 1024ⁿ), and NAME a class name (may contain spaces). Which
//! metrics exist depends on the command; an unknown one is a usage error (exit code 2).

use serde::Serialize;

use crate::format::size;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = ">")]
    Greater,
    #[serde(rename = ">=")]
    GreaterOrEqual,
    #[serde(rename = "<")]
    Less,
    #[serde(rename = "<=")]
    LessOrEqual,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Greater => ">",
            Op::GreaterOrEqual => ">=",
            Op::Less => "<",
            Op::LessOrEqual => "<=",
        }
    }
}

/// One parsed `--fail-on` expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub text: String,
    pub class: Option<String>,
    pub metric: String,
    pub op: Op,
    pub value: f64,
    /// The value was written with a size unit: show actual values as sizes too.
    pub is_size: bool,
}

/// The outcome of one threshold, for messages and `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    pub expression: String,
    pub actual: f64,
    pub tripped: bool,
}

impl Threshold {
    /// Parses an expression, accepting only the given metric names.
    pub fn parse(text: &str, metrics: &[&str]) -> Result<Threshold, String> {
        let t = text.trim();
        let (at, op) = [
            (">=", Op::GreaterOrEqual),
            ("<=", Op::LessOrEqual),
            (">", Op::Greater),
            ("<", Op::Less),
        ]
        .iter()
        .filter_map(|&(sym, op)| t.find(sym).map(|i| (i, sym, op)))
        .min_by_key(|&(i, sym, _)| (i, std::cmp::Reverse(sym.len())))
        .map(|(i, sym, op)| ((i, i + sym.len()), op))
        .ok_or_else(|| format!("`{text}`: expected METRIC>VALUE, e.g. retained-growth>10MB"))?;
        let left = t[..at.0].trim();
        let right = t[at.1..].trim();
        let (class, metric) = match left.rsplit_once(char::is_whitespace) {
            Some((prefix, metric)) => {
                let prefix = prefix.trim();
                let Some(name) = prefix.strip_prefix("class:") else {
                    return Err(format!(
                        "`{text}`: expected `class:NAME METRIC`, found `{prefix}` before the metric"
                    ));
                };
                let name = name.trim();
                if name.is_empty() {
                    return Err(format!("`{text}`: empty class name after `class:`"));
                }
                (Some(name.to_string()), metric)
            }
            None => (None, left),
        };
        if !metrics.contains(&metric) {
            return Err(format!(
                "`{text}`: unknown metric `{metric}` (one of: {})",
                metrics.join(", ")
            ));
        }
        let (value, is_size) = parse_value(right).ok_or_else(|| {
            format!("`{text}`: `{right}` is not a number or a size like 10MB, 512KiB")
        })?;
        Ok(Threshold {
            text: t.to_string(),
            class,
            metric: metric.to_string(),
            op,
            value,
            is_size,
        })
    }

    pub fn exceeded_by(&self, actual: f64) -> bool {
        match self.op {
            Op::Greater => actual > self.value,
            Op::GreaterOrEqual => actual >= self.value,
            Op::Less => actual < self.value,
            Op::LessOrEqual => actual <= self.value,
        }
    }

    fn show(&self, v: f64) -> String {
        if self.is_size {
            let s = size(v.abs() as u64);
            if v < 0.0 {
                format!("-{s}")
            } else {
                s
            }
        } else if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v}")
        }
    }

    /// `class Socket: count-growth is 150 (threshold > 100)`.
    pub fn explain(&self, actual: f64) -> String {
        let subject = match &self.class {
            Some(c) => format!("class {c}: "),
            None => String::new(),
        };
        format!(
            "{subject}{} is {} (threshold {} {})",
            self.metric,
            self.show(actual),
            self.op.symbol(),
            self.show(self.value)
        )
    }
}

fn parse_value(s: &str) -> Option<(f64, bool)> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(s.len());
    let number: f64 = s[..split].parse().ok()?;
    let unit = s[split..].trim().to_ascii_lowercase();
    let factor = match unit.as_str() {
        "" => return Some((number, false)),
        "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((number * factor, true))
}

/// Evaluates thresholds with `actual(threshold)`; returns every result and an error listing
/// the tripped ones (the caller returns it, so the process exits with code 1).
pub fn evaluate(
    thresholds: &[Threshold],
    actual: impl Fn(&Threshold) -> f64,
) -> (Vec<GateResult>, Option<anyhow::Error>) {
    let mut results = Vec::new();
    let mut tripped = Vec::new();
    for t in thresholds {
        let v = actual(t);
        let hit = t.exceeded_by(v);
        if hit {
            tripped.push(t.explain(v));
        }
        results.push(GateResult {
            expression: t.text.clone(),
            actual: v,
            tripped: hit,
        });
    }
    let error =
        (!tripped.is_empty()).then(|| anyhow::anyhow!("--fail-on tripped: {}", tripped.join("; ")));
    (results, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: &[&str] = &["retained-growth", "count-growth"];

    #[test]
    fn parses_the_documented_forms() {
        let t = Threshold::parse("retained-growth>10MB", METRICS).unwrap();
        assert_eq!(
            (
                t.class.as_deref(),
                t.metric.as_str(),
                t.op,
                t.value,
                t.is_size
            ),
            (None, "retained-growth", Op::Greater, 1e7, true)
        );
        let t = Threshold::parse("class:Socket count-growth>100", METRICS).unwrap();
        assert_eq!(
            (t.class.as_deref(), t.value, t.is_size),
            (Some("Socket"), 100.0, false)
        );
        let t = Threshold::parse(" class:system / Context  count-growth >= 5 ", METRICS).unwrap();
        assert_eq!(
            (t.class.as_deref(), t.op),
            (Some("system / Context"), Op::GreaterOrEqual)
        );
        let t = Threshold::parse("retained-growth>1.5MiB", METRICS).unwrap();
        assert_eq!(t.value, 1.5 * 1024.0 * 1024.0);
        assert!(t.exceeded_by(2e6) && !t.exceeded_by(1e6));
    }

    #[test]
    fn rejects_bad_expressions() {
        for bad in [
            "",
            "retained-growth",
            "bogus>1",
            "retained-growth>ten",
            "Socket count-growth>1",
            "class: count-growth>1",
            "retained-growth>10XB",
        ] {
            assert!(Threshold::parse(bad, METRICS).is_err(), "{bad}");
        }
    }
}
