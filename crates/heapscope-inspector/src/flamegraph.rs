//! A self-contained flame graph of a call tree: one SVG (tooltips via `<title>`), or an HTML
//! page embedding it with a few lines of script for click-to-zoom and search. Nothing is
//! loaded from anywhere, so the file can be attached to a ticket and opened offline.
//!
//! Layout: the root spans the full width at the bottom; each child sits above its parent,
//! as wide as its share of the parent's total, siblings ordered by name (so two graphs of
//! the same program line up). Frames narrower than a pixel are not drawn.

use std::fmt::Write;

use crate::calltree::{CallTree, ValueUnit};

const WIDTH: f64 = 1200.0;
const ROW: f64 = 17.0;
const MARGIN: f64 = 10.0;
const HEADER: f64 = 34.0;
const MIN_PX: f64 = 1.0;
/// Approximate width of one character of the 11px monospace label font.
const CHAR_PX: f64 = 6.7;

/// The flame graph as a standalone SVG document.
pub fn svg(tree: &CallTree, title: &str) -> String {
    let totals = tree.totals();
    let depths = tree.depths();
    let root_total = totals[0].max(1) as f64;
    let px_per_unit = (WIDTH - 2.0 * MARGIN) / root_total;
    // x of each node, parents before children (preorder), children in name order.
    let mut x = vec![0f64; tree.nodes.len()];
    let mut drawn = vec![false; tree.nodes.len()];
    drawn[0] = true;
    let mut max_depth = 0;
    for n in 0..tree.nodes.len() {
        if !drawn[n] {
            continue;
        }
        max_depth = max_depth.max(depths[n]);
        let mut children = tree.nodes[n].children.clone();
        children.sort_by(|&a, &b| {
            tree.frame(a)
                .display_name()
                .cmp(tree.frame(b).display_name())
        });
        let mut offset = x[n];
        for c in children {
            let w = totals[c as usize] as f64 * px_per_unit;
            x[c as usize] = offset;
            drawn[c as usize] = w >= MIN_PX;
            offset += w;
        }
    }
    let height = HEADER + (max_depth as f64 + 1.0) * ROW + MARGIN;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="monospace" font-size="11">"#
    );
    let _ = write!(
        out,
        r##"<rect width="100%" height="100%" fill="#fdfdf8"/><text x="{MARGIN}" y="20" font-size="14">{}</text>"##,
        escape(title)
    );
    for n in 0..tree.nodes.len() {
        if !drawn[n] {
            continue;
        }
        let frame = tree.frame(n as u32);
        let w = totals[n] as f64 * px_per_unit;
        let y = height - MARGIN - (depths[n] as f64 + 1.0) * ROW;
        let xs = MARGIN + x[n];
        let name = frame.display_name();
        let tooltip = format!(
            "{name}{} — {} ({:.1} %), self {}",
            frame
                .location()
                .map(|l| format!(" {l}"))
                .unwrap_or_default(),
            value(tree.unit, totals[n]),
            totals[n] as f64 * 100.0 / root_total,
            value(tree.unit, tree.nodes[n].self_value),
        );
        let _ = write!(
            out,
            r#"<g class="f" data-x="{:.6}" data-w="{:.6}" data-d="{}"><title>{}</title><rect x="{xs:.2}" y="{y:.2}" width="{:.2}" height="{}" rx="2" fill="{}"/><text x="{:.2}" y="{:.2}">{}</text></g>"#,
            x[n] / (WIDTH - 2.0 * MARGIN),
            w / (WIDTH - 2.0 * MARGIN),
            depths[n],
            escape(&tooltip),
            (w - 0.5).max(0.5),
            ROW - 1.0,
            color(name, frame.url.is_empty()),
            xs + 3.0,
            y + ROW - 5.0,
            escape(&fit(name, w)),
        );
    }
    out.push_str("</svg>");
    out
}

/// An HTML page with the SVG inline: click a frame to zoom into it, click the bottom frame
/// to zoom out, type in the box to highlight matching functions.
pub fn html(tree: &CallTree, title: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{margin:0;font-family:sans-serif}} #bar{{padding:6px 10px}} g.f{{cursor:pointer}} g.f:hover rect{{stroke:#000}} g.hit rect{{fill:#e0f !important}}</style>
</head><body><div id="bar"><input id="q" placeholder="highlight functions (substring)" size="40"> <span id="info"></span></div>
{svg}
<script>
const W={width},M={margin},C={char_px};
const gs=[...document.querySelectorAll('g.f')];
function label(g,w){{const t=g.querySelector('text'),n=g.querySelector('title').textContent.split(' ')[0];const k=Math.floor((w-6)/C);t.textContent=k<2?'':(n.length<=k?n:n.slice(0,k-1)+'…');}}
function zoom(g){{const x0=+g.dataset.x,w0=+g.dataset.w,d0=+g.dataset.d,s=(W-2*M);
 for(const h of gs){{const x=+h.dataset.x,w=+h.dataset.w,d=+h.dataset.d;const inside=x>=x0-1e-9&&x+w<=x0+w0+1e-9;const below=d<d0&&x<=x0+1e-9&&x+w>=x0+w0-1e-9;
  let nx,nw;if(d>=d0&&inside){{nx=(x-x0)/w0;nw=w/w0;}}else if(below){{nx=0;nw=1;}}else{{h.style.display='none';continue;}}
  const px=nw*s;if(px<1){{h.style.display='none';continue;}}h.style.display='';const r=h.querySelector('rect'),t=h.querySelector('text');
  r.setAttribute('x',M+nx*s);r.setAttribute('width',Math.max(px-0.5,0.5));t.setAttribute('x',M+nx*s+3);label(h,px);}}}}
for(const g of gs)g.addEventListener('click',()=>zoom(g));
document.getElementById('q').addEventListener('input',e=>{{const q=e.target.value;let n=0;for(const g of gs){{const hit=q&&g.querySelector('title').textContent.includes(q);g.classList.toggle('hit',!!hit);if(hit)n++;}}document.getElementById('info').textContent=q?n+' frames match':'';}});
</script></body></html>
"#,
        title = escape(title),
        svg = svg(tree, title),
        width = WIDTH,
        margin = MARGIN,
        char_px = CHAR_PX,
    )
}

/// `1234 µs` → `1.2 ms`; bytes in decimal units as DevTools shows them.
pub fn value(unit: ValueUnit, v: u64) -> String {
    match unit {
        ValueUnit::Microseconds if v >= 1_000_000 => format!("{:.2} s", v as f64 / 1e6),
        ValueUnit::Microseconds if v >= 1000 => format!("{:.1} ms", v as f64 / 1e3),
        ValueUnit::Microseconds => format!("{v} µs"),
        ValueUnit::Bytes if v >= 1_000_000 => format!("{:.1} MB", v as f64 / 1e6),
        ValueUnit::Bytes if v >= 1000 => format!("{:.1} kB", v as f64 / 1e3),
        ValueUnit::Bytes => format!("{v} B"),
    }
}

/// The label that fits in `width` pixels, cut with `…`.
fn fit(name: &str, width: f64) -> String {
    let room = ((width - 6.0) / CHAR_PX).floor();
    if room < 2.0 {
        return String::new();
    }
    let room = room as usize;
    if name.chars().count() <= room {
        name.to_string()
    } else {
        name.chars().take(room - 1).collect::<String>() + "…"
    }
}

/// Warm colours for JS frames, grey for V8's own (`(program)`, `(garbage collector)`),
/// stable per name so the same function has the same colour across graphs.
fn color(name: &str, native: bool) -> String {
    if native {
        return "#c8c8c8".into();
    }
    let hash = name
        .bytes()
        .fold(2166136261u32, |h, b| (h ^ b as u32).wrapping_mul(16777619));
    let r = 205 + (hash % 50);
    let g = 90 + ((hash >> 8) % 130);
    let b = 40 + ((hash >> 16) % 45);
    format!("rgb({r},{g},{b})")
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if (c as u32) < 0x20 && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calltree::{frame, TreeBuilder};

    fn tree() -> CallTree {
        let mut b = TreeBuilder::new(ValueUnit::Microseconds, frame("(root)"));
        let main = b.child(0, frame("main"), 10);
        b.child(main, frame("<hot & \"quoted\">"), 990);
        b.child(main, frame("tiny"), 0);
        b.tree
    }

    #[test]
    fn svg_has_one_group_per_visible_frame_and_escapes_names() {
        let s = svg(&tree(), "cpu <test>");
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        assert_eq!(
            s.matches("<g class=\"f\"").count(),
            3,
            "the zero-width frame is not drawn"
        );
        assert!(s.contains("&lt;hot &amp; &quot;quoted&quot;&gt;"));
        assert!(!s.contains("<hot"));
        assert!(s.contains("cpu &lt;test&gt;"));
    }

    #[test]
    fn html_is_self_contained() {
        let h = html(&tree(), "t");
        assert!(h.contains("<svg") && h.contains("<script>"));
        assert!(
            !h.contains("src=") && !h.contains("href="),
            "nothing external is loaded"
        );
    }

    #[test]
    fn labels_fit_their_width() {
        assert_eq!(fit("abcdef", 1000.0), "abcdef");
        assert_eq!(fit("abcdefghijkl", 6.0 + 5.0 * CHAR_PX), "abcd…");
        assert_eq!(fit("abc", 5.0), "");
    }
}
