//! Eclipse MAT's leak suspects: single objects that retain more than a threshold, the
//! accumulation point below each (where one big retained size fans out into many small
//! children), and classes whose instances together retain more than a threshold.

use std::collections::HashMap;

use heapscope_format::NodeKind;

use crate::Analysis;

use super::node_checks::percent_of;
use super::ownership::Ownership;
use super::{LeakOptions, Reason, ReasonKind, Suspect};

/// MAT follows the biggest child while it holds at least this share of its parent.
const DESCEND_SHARE: f64 = 0.8;

fn reportable(a: &Analysis, own: &Ownership, opts: &LeakOptions, n: u32) -> bool {
    !matches!(
        a.graph.kind(n),
        NodeKind::Synthetic
            | NodeKind::Hidden
            | NodeKind::Native
            | NodeKind::Code
            | NodeKind::ObjectShape
    ) && (opts.include_internals || !own.is_internal(n))
}

/// Biggest single objects and their accumulation points.
pub(super) fn big_objects(
    a: &Analysis,
    own: &Ownership,
    opts: &LeakOptions,
    heap: u64,
    out: &mut Vec<Suspect>,
) {
    let g = &a.graph;
    let threshold = percent_of(heap, opts.object_percent);
    // Walk down from the root through objects over the threshold; the first reportable one
    // on each branch is a suspect.
    let mut stack: Vec<u32> = vec![g.root];
    while let Some(v) = stack.pop() {
        for &c in a.dominator_tree.children(v) {
            if a.retained[c as usize] < threshold {
                continue;
            }
            // The GC roots' own children (the global object) hold everything: look inside.
            if !reportable(a, own, opts, c) || a.distance[c as usize] <= 1 {
                stack.push(c);
                continue;
            }
            let point = accumulation_point(a, c);
            let children = a.dominator_tree.children(point).len();
            let pct = a.retained[c as usize] as f64 * 100.0 / heap.max(1) as f64;
            let text = if point == c {
                format!(
                    "{} @{} alone retains {pct:.1} % of the heap ({children} dominated children)",
                    a.display_name(c),
                    g.id(c)
                )
            } else {
                format!(
                    "{} @{} retains {pct:.1} % of the heap; it accumulates in {} @{} ({children} dominated children)",
                    a.display_name(c),
                    g.id(c),
                    a.class_name(point),
                    g.id(point)
                )
            };
            out.push(Suspect {
                reason: Reason {
                    kind: if point == c {
                        ReasonKind::BigObject
                    } else {
                        ReasonKind::AccumulationPoint
                    },
                    text,
                    count: 1,
                    size: a.retained[c as usize],
                    flagged: true,
                },
                title: format!("{} @{}", a.class_name(c), g.id(c)),
                class_name: a.class_name(point).into_owned(),
                members: vec![point],
                lead: 3,
            });
        }
    }
}

/// Follows the biggest dominated child while it holds most of its parent's retained size.
fn accumulation_point(a: &Analysis, start: u32) -> u32 {
    let mut cur = start;
    for _ in 0..a.node_count() {
        let Some(&big) = a
            .dominator_tree
            .children(cur)
            .iter()
            .max_by_key(|&&c| (a.retained[c as usize], std::cmp::Reverse(c)))
        else {
            break;
        };
        if (a.retained[big as usize] as f64) < DESCEND_SHARE * a.retained[cur as usize] as f64 {
            break;
        }
        cur = big;
    }
    cur
}

/// Classes whose application-owned instances retain more than the threshold together. An
/// instance dominated by another instance of its class is counted inside that one.
pub(super) fn big_classes(
    a: &Analysis,
    own: &Ownership,
    opts: &LeakOptions,
    heap: u64,
    out: &mut Vec<Suspect>,
) {
    let floor = percent_of(heap, opts.candidate_percent);
    let flag_at = percent_of(heap, opts.class_percent);
    let mut classes: HashMap<u32, (u64, Vec<u32>)> = HashMap::new();
    for n in 0..a.node_count() as u32 {
        if a.distance[n as usize] == crate::NO_DISTANCE || !reportable(a, own, opts, n) {
            continue;
        }
        let class = a.class_index[n as usize];
        let parent = a.idom[n as usize];
        if a.class_index[parent as usize] == class && parent != n {
            continue;
        }
        let entry = classes.entry(class).or_default();
        entry.0 += a.retained[n as usize];
        entry.1.push(n);
    }
    for (class, (size, members)) in classes {
        let name = a.graph.raw.strings.get(class);
        // Built-in classes say nothing about which code leaks; the sibling groups and the
        // collection checks find leaks of plain objects, arrays and closures.
        const GENERIC: [&str; 6] = ["Object", "Array", "Function", "Map", "Set", "Promise"];
        if size < floor
            || members.len() < 2
            || name.starts_with('(')
            || name.starts_with("system /")
            || GENERIC.contains(&&*name)
        {
            continue;
        }
        let count = members.len() as u64;
        out.push(Suspect {
            reason: Reason {
                kind: ReasonKind::BigClass,
                text: format!(
                    "{count} {name} instances retain {:.1} % of the heap together",
                    size as f64 * 100.0 / heap.max(1) as f64
                ),
                count,
                size,
                flagged: size >= flag_at,
            },
            title: format!("{count} × {name}"),
            class_name: name.into_owned(),
            members,
            lead: 4,
        });
    }
}
