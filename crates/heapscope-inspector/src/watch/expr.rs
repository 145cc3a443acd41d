//! The rule expression language: arithmetic and comparisons over a sample's metric names.
//!
//! ```text
//! heap_used / heap_limit > 0.7
//! tcp_handles > 1000 or (rss > 1.5 GB and external > 200 MB)
//! old_gen_used > 80%  * heap_limit
//! ```
//!
//! Grammar, loosest first: `or`, `and`, `not`, one comparison (`>`, `>=`, `<`, `<=`, `==`,
//! `!=`), `+ -`, `* /`, unary `-`, then numbers, names and parentheses. A number may carry a
//! unit: `B`, `KB`/`MB`/`GB` (1000ⁿ, as DevTools and `--fail-on` show sizes), `KiB`/`MiB`/
//! `GiB` (1024ⁿ) or `%` (÷100). A name is a metric of [`super::sample`]; `heap_used` also
//! finds `heap_used_bytes`. A `resources_*` type the target has none of counts as 0; any
//! other missing metric (or a division by zero) makes the rule not apply to that sample.
//! The whole expression must be a condition; errors name the column (1-based).

use std::fmt;

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Number(f64),
    Metric(String),
    Neg(Box<Expr>),
    Binary(Box<Expr>, BinOp, Box<Expr>),
    Compare(Box<Expr>, CmpOp, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CmpOp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

/// What went wrong, and where (1-based character column).
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a condition.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        end_column: text.chars().count() + 1,
    };
    let (expr, kind) = parser.or()?;
    if let Some(t) = parser.peek() {
        return Err(parser.error_at(t.column, format!("unexpected {}", t.kind.describe())));
    }
    if kind != Kind::Condition {
        return Err(ParseError {
            column: 1,
            message: "a rule must be a condition, e.g. `heap_used > 500MB`".into(),
        });
    }
    Ok(expr)
}

impl Expr {
    /// Whether the condition holds for a sample; `None` when it cannot be evaluated (a metric
    /// is missing, a division by zero).
    pub fn holds(&self, lookup: &dyn Fn(&str) -> Option<f64>) -> Option<bool> {
        match self {
            Expr::Compare(a, op, b) => {
                let (a, b) = (a.value(lookup)?, b.value(lookup)?);
                Some(match op {
                    CmpOp::Gt => a > b,
                    CmpOp::Ge => a >= b,
                    CmpOp::Lt => a < b,
                    CmpOp::Le => a <= b,
                    CmpOp::Eq => a == b,
                    CmpOp::Ne => a != b,
                })
            }
            // Short-circuit, and let a known side decide even when the other is unknown.
            Expr::And(a, b) => match (a.holds(lookup), b.holds(lookup)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Expr::Or(a, b) => match (a.holds(lookup), b.holds(lookup)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Expr::Not(a) => a.holds(lookup).map(|v| !v),
            _ => None,
        }
    }

    /// The numeric value of an arithmetic expression.
    pub fn value(&self, lookup: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
        let v = match self {
            Expr::Number(n) => *n,
            Expr::Metric(name) => resolve(name, lookup)?,
            Expr::Neg(a) => -a.value(lookup)?,
            Expr::Binary(a, op, b) => {
                let (a, b) = (a.value(lookup)?, b.value(lookup)?);
                match op {
                    BinOp::Add => a + b,
                    BinOp::Sub => a - b,
                    BinOp::Mul => a * b,
                    BinOp::Div if b == 0.0 => return None,
                    BinOp::Div => a / b,
                }
            }
            _ => return None,
        };
        v.is_finite().then_some(v)
    }

    /// Metric names the expression reads, in order of appearance.
    pub fn metrics(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_metrics(&mut out);
        out
    }

    fn collect_metrics<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Expr::Number(_) => {}
            Expr::Metric(m) => out.push(m),
            Expr::Neg(a) | Expr::Not(a) => a.collect_metrics(out),
            Expr::Binary(a, _, b) | Expr::Compare(a, _, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                a.collect_metrics(out);
                b.collect_metrics(out);
            }
        }
    }
}

/// `name`, else `name_bytes`; a resource type the target has none of is 0.
pub fn resolve(name: &str, lookup: &dyn Fn(&str) -> Option<f64>) -> Option<f64> {
    lookup(name)
        .or_else(|| lookup(&format!("{name}_bytes")))
        .or_else(|| name.starts_with("resources_").then_some(0.0))
}

/// Fixed metric names (without `_bytes`) that a rule may use, besides the `heap_space_*`
/// and `resources_*` families.
const KNOWN: &[&str] = &[
    "rss",
    "heap_used",
    "heap_total",
    "heap_limit",
    "external",
    "array_buffers",
    "old_gen_used",
    "heap_after_gc",
    "heap_used_after_gc",
    "heap_after_gc_estimate",
    "major_gcs",
    "active_resources",
    "tcp_handles",
    "heap_trend_bytes_per_hour",
    "heap_trend_r2",
    "heap_trend_measured",
];

fn is_known_metric(name: &str) -> bool {
    let base = name.strip_suffix("_bytes").unwrap_or(name);
    KNOWN.contains(&base)
        || name.starts_with("resources_")
        || (name.starts_with("heap_space_") && (base.ends_with("_used") || base.ends_with("_size")))
}

#[derive(Clone, Debug, PartialEq)]
enum TokenKind {
    Number(f64),
    Name(String),
    Op(&'static str),
    Open,
    Close,
}

impl TokenKind {
    fn describe(&self) -> String {
        match self {
            TokenKind::Number(n) => format!("number {n}"),
            TokenKind::Name(n) => format!("`{n}`"),
            TokenKind::Op(op) => format!("`{op}`"),
            TokenKind::Open => "`(`".into(),
            TokenKind::Close => "`)`".into(),
        }
    }
}

#[derive(Clone, Debug)]
struct Token {
    kind: TokenKind,
    column: usize,
}

const OPERATORS: &[&str] = &[">=", "<=", "==", "!=", ">", "<", "+", "-", "*", "/"];

fn unit_factor(unit: &str) -> Option<f64> {
    Some(match unit {
        "B" => 1.0,
        "KB" | "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "GiB" => 1024.0 * 1024.0 * 1024.0,
        "%" => 0.01,
        _ => return None,
    })
}

fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i + 1;
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || c == '.' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == '_')
            {
                i += 1;
            }
            let digits: String = chars[start..i].iter().filter(|&&c| c != '_').collect();
            let number: f64 = digits.parse().map_err(|_| ParseError {
                column,
                message: format!("`{digits}` is not a number"),
            })?;
            // A unit directly after the number, or after one space: `500MB`, `500 MB`.
            let mut j = i;
            if j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let unit_start = j;
            while j < chars.len() && (chars[j].is_ascii_alphabetic() || chars[j] == '%') {
                j += 1;
            }
            let unit: String = chars[unit_start..j].iter().collect();
            let factor = match unit.as_str() {
                "" | "and" | "or" | "not" => 1.0,
                u => {
                    let f = unit_factor(u).ok_or_else(|| ParseError {
                        column: unit_start + 1,
                        message: format!(
                            "unknown unit `{u}` (use B, KB, MB, GB, KiB, MiB, GiB or %)"
                        ),
                    })?;
                    i = j;
                    f
                }
            };
            tokens.push(Token {
                kind: TokenKind::Number(number * factor),
                column,
            });
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let name: String = chars[start..i].iter().collect();
            let kind = match name.as_str() {
                "and" => TokenKind::Op("and"),
                "or" => TokenKind::Op("or"),
                "not" => TokenKind::Op("not"),
                _ => TokenKind::Name(name),
            };
            tokens.push(Token { kind, column });
        } else if c == '(' || c == ')' {
            let kind = if c == '(' {
                TokenKind::Open
            } else {
                TokenKind::Close
            };
            tokens.push(Token { kind, column });
            i += 1;
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op = OPERATORS
                .iter()
                .find(|op| rest.starts_with(**op))
                .ok_or_else(|| ParseError {
                    column,
                    message: format!("unexpected character `{c}`"),
                })?;
            tokens.push(Token {
                kind: TokenKind::Op(op),
                column,
            });
            i += op.len();
        }
    }
    Ok(tokens)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Number,
    Condition,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end_column: usize,
}

type Parsed = Result<(Expr, Kind), ParseError>;

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_op(&self) -> Option<&'static str> {
        match self.peek()?.kind {
            TokenKind::Op(op) => Some(op),
            _ => None,
        }
    }

    fn column(&self) -> usize {
        self.peek().map_or(self.end_column, |t| t.column)
    }

    fn error_at(&self, column: usize, message: String) -> ParseError {
        ParseError { column, message }
    }

    fn expect(&self, got: Kind, want: Kind, column: usize, what: &str) -> Result<(), ParseError> {
        if got == want {
            return Ok(());
        }
        let message = match want {
            Kind::Condition => format!("{what} needs a condition (a comparison) here"),
            Kind::Number => format!("{what} needs a number or metric here, not a condition"),
        };
        Err(self.error_at(column, message))
    }

    fn or(&mut self) -> Parsed {
        self.logical("or", Self::and, Expr::Or)
    }

    fn and(&mut self) -> Parsed {
        self.logical("and", Self::not, Expr::And)
    }

    /// `left (OP right)*` where both sides must be conditions.
    fn logical(
        &mut self,
        op: &str,
        next: fn(&mut Self) -> Parsed,
        join: fn(Box<Expr>, Box<Expr>) -> Expr,
    ) -> Parsed {
        let column = self.column();
        let (mut left, mut kind) = next(self)?;
        while self.peek_op() == Some(op) {
            self.expect(kind, Kind::Condition, column, &format!("`{op}`"))?;
            self.pos += 1;
            let column = self.column();
            let (right, rkind) = next(self)?;
            self.expect(rkind, Kind::Condition, column, &format!("`{op}`"))?;
            left = join(Box::new(left), Box::new(right));
            kind = Kind::Condition;
        }
        Ok((left, kind))
    }

    fn not(&mut self) -> Parsed {
        if self.peek_op() == Some("not") {
            self.pos += 1;
            let column = self.column();
            let (inner, kind) = self.not()?;
            self.expect(kind, Kind::Condition, column, "`not`")?;
            return Ok((Expr::Not(Box::new(inner)), Kind::Condition));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Parsed {
        let column = self.column();
        let (left, kind) = self.sum()?;
        let op = match self.peek_op() {
            Some(">") => CmpOp::Gt,
            Some(">=") => CmpOp::Ge,
            Some("<") => CmpOp::Lt,
            Some("<=") => CmpOp::Le,
            Some("==") => CmpOp::Eq,
            Some("!=") => CmpOp::Ne,
            _ => return Ok((left, kind)),
        };
        self.expect(kind, Kind::Number, column, "a comparison")?;
        let op_column = self.column();
        self.pos += 1;
        let column = self.column();
        let (right, rkind) = self.sum()?;
        self.expect(rkind, Kind::Number, column, "a comparison")?;
        if matches!(self.peek_op(), Some(">" | ">=" | "<" | "<=" | "==" | "!=")) {
            return Err(self.error_at(
                self.column(),
                format!(
                    "comparisons do not chain (after the one at column {op_column}); join them with `and`"
                ),
            ));
        }
        Ok((
            Expr::Compare(Box::new(left), op, Box::new(right)),
            Kind::Condition,
        ))
    }

    fn sum(&mut self) -> Parsed {
        self.binary(&["+", "-"], Self::product)
    }

    fn product(&mut self) -> Parsed {
        self.binary(&["*", "/"], Self::unary)
    }

    fn binary(&mut self, ops: &[&str], next: fn(&mut Self) -> Parsed) -> Parsed {
        let column = self.column();
        let (mut left, kind) = next(self)?;
        while let Some(op) = self.peek_op().filter(|op| ops.contains(op)) {
            self.expect(kind, Kind::Number, column, &format!("`{op}`"))?;
            self.pos += 1;
            let column = self.column();
            let (right, rkind) = next(self)?;
            self.expect(rkind, Kind::Number, column, &format!("`{op}`"))?;
            let op = match op {
                "+" => BinOp::Add,
                "-" => BinOp::Sub,
                "*" => BinOp::Mul,
                _ => BinOp::Div,
            };
            left = Expr::Binary(Box::new(left), op, Box::new(right));
        }
        Ok((left, kind))
    }

    fn unary(&mut self) -> Parsed {
        if self.peek_op() == Some("-") {
            self.pos += 1;
            let column = self.column();
            let (inner, kind) = self.unary()?;
            self.expect(kind, Kind::Number, column, "`-`")?;
            return Ok((Expr::Neg(Box::new(inner)), Kind::Number));
        }
        self.atom()
    }

    fn atom(&mut self) -> Parsed {
        let Some(token) = self.peek().cloned() else {
            return Err(self.error_at(
                self.end_column,
                "the expression ends too early: expected a number, a metric or `(`".into(),
            ));
        };
        self.pos += 1;
        match token.kind {
            TokenKind::Number(n) => Ok((Expr::Number(n), Kind::Number)),
            TokenKind::Name(name) if is_known_metric(&name) => {
                Ok((Expr::Metric(name), Kind::Number))
            }
            TokenKind::Name(name) => Err(self.error_at(
                token.column,
                format!(
                    "unknown metric `{name}`; known: {}, heap_space_<space>_used, \
                     heap_space_<space>_size, resources_<type> (with or without _bytes)",
                    KNOWN.join(", ")
                ),
            )),
            TokenKind::Open => {
                let (inner, kind) = self.or()?;
                match self.peek() {
                    Some(Token {
                        kind: TokenKind::Close,
                        ..
                    }) => {
                        self.pos += 1;
                        Ok((inner, kind))
                    }
                    _ => Err(self.error_at(
                        self.column(),
                        format!("expected `)` to close the `(` at column {}", token.column),
                    )),
                }
            }
            other => Err(self.error_at(
                token.column,
                format!(
                    "expected a number, a metric or `(`, found {}",
                    other.describe()
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, metrics: &[(&str, f64)]) -> Option<bool> {
        let lookup = |name: &str| metrics.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        parse(text).unwrap().holds(&lookup)
    }

    fn error(text: &str) -> ParseError {
        parse(text).unwrap_err()
    }

    #[test]
    fn the_issue_examples_evaluate() {
        let m = [
            ("heap_used_bytes", 800.0),
            ("heap_limit_bytes", 1000.0),
            ("tcp_handles", 1001.0),
        ];
        assert_eq!(eval("heap_used / heap_limit > 0.7", &m), Some(true));
        assert_eq!(eval("heap_used / heap_limit > 80%", &m), Some(false));
        assert_eq!(eval("tcp_handles > 1000", &m), Some(true));
        assert_eq!(
            eval("tcp_handles > 1_000 and heap_used < 1KB", &m),
            Some(true)
        );
        assert_eq!(
            eval("not (tcp_handles > 1000) or heap_used == 800", &m),
            Some(true)
        );
    }

    #[test]
    fn units_precedence_and_negation() {
        let m = [
            ("rss_bytes", 1.5e9),
            ("external_bytes", 2.0 * 1024.0 * 1024.0),
        ];
        assert_eq!(eval("rss > 1 GB", &m), Some(true));
        assert_eq!(eval("rss >= 1.5GB", &m), Some(true));
        assert_eq!(eval("external == 2 MiB", &m), Some(true));
        assert_eq!(eval("1 + 2 * 3 == 7", &m), Some(true));
        assert_eq!(eval("(1 + 2) * 3 == 9", &m), Some(true));
        assert_eq!(eval("-rss < -1GB", &m), Some(true));
        assert_eq!(eval("10 - 4 - 3 == 3", &m), Some(true), "left-associative");
    }

    #[test]
    fn missing_metrics_and_division_by_zero_do_not_fire() {
        let m = [("heap_used_bytes", 1.0), ("heap_limit_bytes", 0.0)];
        assert_eq!(eval("heap_used / heap_limit > 0.5", &m), None);
        assert_eq!(eval("heap_space_old_space_used > 1", &m), None);
        assert_eq!(eval("resources_tcp_socket_wrap == 0", &m), Some(true));
        assert_eq!(
            eval("heap_space_old_space_used > 1 or heap_used > 0", &m),
            Some(true)
        );
        assert_eq!(
            eval("heap_space_old_space_used > 1 and heap_used > 5", &m),
            Some(false)
        );
    }

    #[test]
    fn errors_name_the_column() {
        assert_eq!(error("heap_usd > 1").column, 1);
        assert!(error("heap_usd > 1")
            .message
            .contains("unknown metric `heap_usd`"));
        assert_eq!(error("heap_used > 5 XB").column, 15);
        assert_eq!(error("heap_used > ").column, 13);
        assert_eq!(
            error("heap_used").message,
            "a rule must be a condition, e.g. `heap_used > 500MB`"
        );
        assert_eq!(error("(heap_used > 1").column, 15);
        assert_eq!(error("heap_used > 1 > 2").column, 15);
        assert_eq!(error("heap_used > 1 and rss").column, 19);
        assert_eq!(error("heap_used + (rss > 1) > 2").column, 13);
        assert_eq!(error("heap_used > 1 $").column, 15);
        assert_eq!(error("1.2.3 > 1").column, 1);
        assert_eq!(error("heap_used > 1 rss").column, 15);
        assert!(error("").message.contains("ends too early"));
    }

    #[test]
    fn metrics_are_listed() {
        let e = parse("heap_used / heap_limit > 0.7 or tcp_handles > 10").unwrap();
        assert_eq!(e.metrics(), vec!["heap_used", "heap_limit", "tcp_handles"]);
    }
}
