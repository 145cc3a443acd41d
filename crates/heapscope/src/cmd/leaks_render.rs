//! Text and Markdown renderings of the leak report, both made from its JSON model so that
//! the three outputs never disagree.

use crate::cmd::leaks::{FindingJson, HolderJson, LeaksJson, StepJson};
use crate::format::{count, size, truncate};

/// Path steps shown in text before the rest is elided as `…` (JSON has them all).
const PATH_STEPS: usize = 9;
/// Reasons listed per finding in text.
const REASONS: usize = 6;

struct Style {
    color: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
    fn warn(&self, s: &str) -> String {
        self.paint("1;31", s)
    }
}

fn step_label(s: &StepJson) -> String {
    if s.node_type == "closure" {
        let name = if s.name.is_empty() {
            "(anonymous)"
        } else {
            &s.name
        };
        format!("{name}() @{}", s.id)
    } else {
        format!("{} @{}", truncate(&s.class_name, 40), s.id)
    }
}

/// `(GC roots) → … → A @1 .x → B @2`, eliding all but the last steps.
pub fn path_line(path: &[StepJson], max_steps: usize) -> String {
    let skip = path.len().saturating_sub(max_steps);
    let mut line = String::from("(GC roots)");
    if skip > 0 {
        line.push_str(" → …");
    }
    for s in &path[skip..] {
        line.push_str(" → ");
        line.push_str(&step_label(s));
        if let Some(e) = &s.edge {
            line.push(' ');
            line.push_str(e);
        }
    }
    line
}

fn function_line(h: &HolderJson) -> Option<String> {
    let closure = h.closure.as_ref()?;
    let mut s = format!("closure {}()", closure.name);
    if let Some(l) = &closure.location {
        s.push_str(&format!(" at {l}"));
    }
    if let Some(f) = &h.function {
        s.push_str(&format!(", in {}", f.name));
        if let Some(l) = &f.location {
            s.push_str(&format!(" ({l})"));
        }
    }
    Some(s)
}

fn variables_line(h: &HolderJson) -> String {
    if h.variables.is_empty() {
        return "(none)".into();
    }
    h.variables
        .iter()
        .map(|v| {
            if h.via.as_deref() == Some(v) {
                format!("{v} ←")
            } else {
                v.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first line of a string, cut to `max` characters, `…` when anything was left out.
fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    let cut = truncate(line, max);
    if line.len() < text.trim_end().len() && !cut.ends_with('…') {
        cut + " …"
    } else {
        cut
    }
}

fn headline(f: &FindingJson) -> String {
    format!(
        "{}  retains {} ({:.1} %)",
        f.title,
        size(f.retained_size),
        f.retained_percent
    )
}

pub fn text(doc: &LeaksJson, color: bool) -> String {
    let st = Style { color };
    let mut out = format!(
        "{} {} — {} heap, {} objects\n",
        st.bold("Leak report for"),
        doc.file,
        size(doc.heap_size),
        count(doc.node_count as u64)
    );
    if let (Some(b), Some(t)) = (&doc.baseline, &doc.target) {
        out.push_str(&format!(
            "three snapshots: objects new in {t} since {b}, still alive in {}\n",
            doc.file
        ));
    }
    if let Some(p) = &doc.problem {
        out.push_str(&format!("{} {p}\n", st.warn("!")));
    }
    out.push('\n');
    if doc.findings.is_empty() {
        out.push_str("No leak suspects above the thresholds.\n\n");
    }
    for f in &doc.findings {
        out.push_str(&format!("{:>2}. {}\n", f.rank, st.bold(&headline(f))));
        for (i, r) in f.reasons.iter().take(REASONS).enumerate() {
            let mark = if r.flagged { st.warn("!") } else { " ".into() };
            let label = if i == 0 { "why    " } else { "       " };
            out.push_str(&format!("    {label}{mark} {}\n", r.text));
        }
        if f.reasons.len() > REASONS {
            out.push_str(&format!(
                "             … {} more (--json)\n",
                f.reasons.len() - REASONS
            ));
        }
        out.push_str(&format!("    path    {}\n", path_line(&f.path, PATH_STEPS)));
        if let Some(h) = &f.holder {
            if let Some(line) = function_line(h) {
                out.push_str(&format!("    held by {line}\n"));
            }
            out.push_str(&format!(
                "            context @{} vars: {}\n",
                h.context_id,
                variables_line(h)
            ));
        }
        for (i, s) in f.strings.iter().enumerate() {
            let label = if i == 0 { "strings" } else { "       " };
            out.push_str(&format!(
                "    {label} \"{}\" ({}, in {} of them)\n",
                first_line(&s.text, 100),
                s.kind,
                count(s.count)
            ));
        }
        let ids: Vec<String> = f.ids.iter().take(5).map(|id| format!("@{id}")).collect();
        let more = if f.count > ids.len() as u64 {
            " …"
        } else {
            ""
        };
        out.push_str(&format!("    ids     {}{more}\n\n", ids.join(" ")));
    }
    out.push_str(&format!("{}\n", st.bold("Checks")));
    for c in &doc.checks {
        let mark = if c.flagged {
            st.warn("!")
        } else {
            st.dim("✓")
        };
        let sz = if c.size > 0 {
            format!(", {}", size(c.size))
        } else {
            String::new()
        };
        out.push_str(&format!("  {mark} {}: {}{sz}\n", c.label, c.detail));
    }
    if doc.below_threshold > 0 {
        out.push_str(&format!(
            "\n{}\n",
            st.dim(&format!(
                "{} more suspect(s) under every threshold (lower them, e.g. --group-threshold 5, to see them)",
                doc.below_threshold
            ))
        ));
    }
    out
}

pub fn markdown(doc: &LeaksJson) -> String {
    let mut out = format!(
        "## heapscope leak report: `{}`\n\n{} heap, {} objects, {} finding(s).\n\n",
        doc.file,
        size(doc.heap_size),
        count(doc.node_count as u64),
        doc.findings.len()
    );
    for f in &doc.findings {
        out.push_str(&format!("### {}. {}\n\n", f.rank, headline(f)));
        for r in &f.reasons {
            let mark = if r.flagged { "**!**" } else { "-" };
            out.push_str(&format!("- {mark} {}\n", r.text));
        }
        out.push_str(&format!(
            "\n```\n{}\n```\n\n",
            path_line(&f.path, usize::MAX)
        ));
        if let Some(h) = &f.holder {
            if let Some(line) = function_line(h) {
                out.push_str(&format!(
                    "Held by {line}; context variables: `{}`.\n\n",
                    h.variables.join("`, `")
                ));
            }
        }
        if !f.strings.is_empty() {
            out.push_str("Strings found on these objects:\n\n");
            for s in &f.strings {
                out.push_str(&format!(
                    "- `{}` ({}, in {})\n",
                    first_line(&s.text, 200).replace('`', "'"),
                    s.kind,
                    count(s.count)
                ));
            }
            out.push('\n');
        }
    }
    out.push_str("| check | result | flagged |\n|---|---|---|\n");
    for c in &doc.checks {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            c.label,
            c.detail.replace('|', "\\|"),
            if c.flagged { "yes" } else { "no" }
        ));
    }
    out
}
