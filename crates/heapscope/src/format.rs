//! Human-friendly numbers for terminal output.

/// `1234567` → `1.2 MB` (decimal units, as DevTools shows sizes).
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// `1234567` → `1,234,567`.
pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "0 %".into();
    }
    format!("{:.0} %", part as f64 * 100.0 / whole as f64)
}

/// Distance as DevTools shows it: `-` when unreachable.
pub fn distance(d: i32) -> String {
    if d < 0 {
        "-".into()
    } else if d >= heapscope_analysis::BASE_SYSTEM_DISTANCE {
        format!("{} (sys)", d - heapscope_analysis::BASE_SYSTEM_DISTANCE)
    } else {
        d.to_string()
    }
}

/// At most `max` characters, with `…` in place of the rest.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    s.chars().take(max - 1).collect::<String>() + "…"
}
