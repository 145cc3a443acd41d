//! Interesting strings on a suspect and its owners: error messages, protocol replies, URLs,
//! SQL, hostnames, e-mail addresses. A leaked connection often carries the reason it was
//! never closed (an SMTP `535 Authentication failed` reply, an `ECONNRESET`), and a leaked
//! request record its URL; showing them saves the trip through the Edges view.

use std::collections::{HashMap, HashSet};

use heapscope_format::{EdgeKind, NodeKind};

use crate::Analysis;

use super::ownership::{Ownership, NO_EDGE};

/// What made a string interesting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StringKind {
    /// A protocol reply line: SMTP/FTP/HTTP-style `535 5.7.8 …`.
    Reply,
    /// An error message or error code.
    Error,
    Url,
    Sql,
    Host,
    Email,
}

impl StringKind {
    pub fn name(self) -> &'static str {
        match self {
            StringKind::Reply => "reply",
            StringKind::Error => "error",
            StringKind::Url => "url",
            StringKind::Sql => "sql",
            StringKind::Host => "host",
            StringKind::Email => "email",
        }
    }
}

/// One distinct string text found near a suspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundString {
    pub text: String,
    pub kind: StringKind,
    /// How many of the sampled members had it within reach.
    pub count: u64,
    /// One string node with this text.
    pub node: u32,
}

/// Longest text we read or show; longer strings are source code or payloads, not messages.
const MAX_LEN: usize = 300;

/// Classifies a string's text, or `None` when it is not interesting.
pub fn classify(text: &str) -> Option<StringKind> {
    let t = text.trim();
    if t.len() < 4 || t.len() > MAX_LEN || t.contains('\n') && !is_reply(t) {
        return None;
    }
    if is_reply(t) {
        return Some(StringKind::Reply);
    }
    let lower = t.to_ascii_lowercase();
    if let Some(p) = lower.find("://") {
        let scheme = &lower[..p];
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        {
            return Some(StringKind::Url);
        }
    }
    const SQL: [&str; 8] = [
        "select ", "insert ", "update ", "delete ", "with ", "create ", "alter ", "drop ",
    ];
    if SQL.iter().any(|k| lower.starts_with(k)) && t.contains(' ') {
        return Some(StringKind::Sql);
    }
    const ERROR_WORDS: [&str; 12] = [
        "error",
        "fail",
        "denied",
        "refused",
        "invalid",
        "timeout",
        "timed out",
        "unauthori",
        "forbidden",
        "reset",
        "exceeded",
        "cannot ",
    ];
    let is_code = t.len() >= 5
        && t.starts_with('E')
        && t[1..].chars().all(|c| c.is_ascii_uppercase() || c == '_');
    if is_code
        && [
            "ECONN",
            "EAUTH",
            "ETIMEDOUT",
            "ENOTFOUND",
            "EPIPE",
            "EAI_",
            "EHOST",
            "ENET",
        ]
        .iter()
        .any(|p| t.starts_with(p))
    {
        return Some(StringKind::Error);
    }
    if t.contains(' ') && ERROR_WORDS.iter().any(|w| lower.contains(w)) {
        return Some(StringKind::Error);
    }
    if is_email(t) {
        return Some(StringKind::Email);
    }
    if is_host(t) {
        return Some(StringKind::Host);
    }
    None
}

/// `250 OK`, `535 5.7.8 Authentication failed`, `HTTP/1.1 503 Service Unavailable`.
fn is_reply(t: &str) -> bool {
    let b = t.as_bytes();
    let status_line = b.len() >= 5
        && (b'2'..=b'5').contains(&b[0])
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && (b[3] == b' ' || b[3] == b'-')
        && b[4].is_ascii_graphic();
    status_line || (t.starts_with("HTTP/1.") && t.len() > 12)
}

fn is_email(t: &str) -> bool {
    let Some((local, domain)) = t.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains(char::is_whitespace)
        && domain.contains('.')
        && is_host(domain)
}

/// Dotted host names with a letter TLD, IPv4 addresses, `localhost`; an optional `:port`.
fn is_host(t: &str) -> bool {
    let host = match t.rsplit_once(':') {
        Some((h, port)) if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => t,
    };
    if host == "localhost" {
        return true;
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.len() > 63) {
        return false;
    }
    if labels.len() == 4
        && labels
            .iter()
            .all(|l| l.len() <= 3 && l.chars().all(|c| c.is_ascii_digit()))
    {
        return true;
    }
    let tld = labels[labels.len() - 1];
    // Property paths like `a.b` and file names like `index.js` are not hosts.
    const NOT_TLD: [&str; 14] = [
        "js", "mjs", "cjs", "ts", "json", "map", "node", "md", "txt", "html", "css", "log", "gz",
        "pem",
    ];
    (2..=6).contains(&tld.len())
        && tld.chars().all(|c| c.is_ascii_lowercase())
        && !NOT_TLD.contains(&tld)
        && labels
            .iter()
            .all(|l| l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// Text of a string node (cons and sliced strings resolved), if short enough to be a message.
fn string_text(a: &Analysis, n: u32) -> Option<String> {
    if !matches!(
        a.graph.kind(n),
        NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString
    ) {
        return None;
    }
    let t = crate::views::string_text(a, n, MAX_LEN + 1)?;
    (t.len() <= MAX_LEN).then_some(t)
}

/// Strings within two references of each sampled member and of its owners (up to three
/// steps up its retaining path), counted per member, most common first.
pub fn near(a: &Analysis, own: &Ownership, members: &[u32], limit: usize) -> Vec<FoundString> {
    let g = &a.graph;
    let mut found: HashMap<String, (StringKind, u64, u32)> = HashMap::new();
    for &m in members {
        let mut seen: HashSet<u32> = HashSet::new();
        let mut owners = vec![m];
        let mut cur = m;
        for _ in 0..3 {
            let e = own.parent_edge[cur as usize];
            if e == NO_EDGE {
                break;
            }
            cur = g.edge_owner(e);
            // Contexts and arrays lead to everything their closures touch: stop there.
            if a.class_name(cur).starts_with("system / Context") || g.kind(cur) == NodeKind::Array {
                break;
            }
            owners.push(cur);
        }
        for &o in &owners {
            let mut frontier = vec![o];
            for _depth in 0..2 {
                let mut next = Vec::new();
                for &n in &frontier {
                    for e in g.edges(n) {
                        if matches!(g.edge_kind(e), EdgeKind::Weak | EdgeKind::Shortcut) {
                            continue;
                        }
                        let t = g.to_node(e);
                        if seen.len() > 4096 || !seen.insert(t) {
                            continue;
                        }
                        if let Some(text) = string_text(a, t) {
                            if let Some(kind) = classify(&text) {
                                let entry =
                                    found.entry(text.trim().to_string()).or_insert((kind, 0, t));
                                entry.1 += 1;
                            }
                        } else if g.kind(t) == NodeKind::Object {
                            next.push(t);
                        }
                    }
                }
                frontier = next;
            }
        }
    }
    let mut out: Vec<FoundString> = found
        .into_iter()
        .map(|(text, (kind, count, node))| FoundString {
            text,
            kind,
            count,
            node,
        })
        .collect();
    // A string on one connection out of two hundred says little about why they all leak
    // (each has its own `250 … queued as` reply); keep what a tenth of them share.
    let common = (members.len() as u64 / 10).max(1);
    out.retain(|f| f.count >= common);
    // Replies and errors first, then by how many members share the string.
    let rank = |k: StringKind| match k {
        StringKind::Reply | StringKind::Error => 0,
        StringKind::Url | StringKind::Sql => 1,
        StringKind::Host | StringKind::Email => 2,
    };
    out.sort_by(|x, y| {
        rank(x.kind)
            .cmp(&rank(y.kind))
            .then(y.count.cmp(&x.count))
            .then(x.text.cmp(&y.text))
    });
    out.truncate(limit);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_strings_leak_hunters_look_for() {
        assert_eq!(
            classify("535 5.7.8 Authentication failed"),
            Some(StringKind::Reply)
        );
        assert_eq!(
            classify("Invalid login: 535 5.7.8 Authentication failed"),
            Some(StringKind::Error)
        );
        assert_eq!(classify("ECONNRESET"), Some(StringKind::Error));
        assert_eq!(
            classify("https://api.example.com/v1/users?id=3"),
            Some(StringKind::Url)
        );
        assert_eq!(
            classify("SELECT * FROM users WHERE id = $1"),
            Some(StringKind::Sql)
        );
        assert_eq!(classify("smtp.example.com"), Some(StringKind::Host));
        assert_eq!(classify("127.0.0.1:25"), Some(StringKind::Host));
        assert_eq!(classify("app@example.test"), Some(StringKind::Email));
        for boring in [
            "connection",
            "index.js",
            "a.b",
            "Object.prototype",
            "",
            "EHLO",
            "utf8",
        ] {
            assert_eq!(classify(boring), None, "{boring}");
        }
    }
}
