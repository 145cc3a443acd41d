//! Retaining-path shapes and the collapse of suspects that share one path.
//!
//! A leaked connection shows up as many suspects at once: 300 contexts, 300 `SMTPConnection`,
//! 300 `Socket`, 300 `TCP`, one listener array with 300 entries. They lie on one path shape —
//! the sequence of edge names and classes from the GC roots with ids and indexes left out —
//! so they are one finding. A suspect joins another when its shape is a prefix of the
//! other's (it lies on the other's path).

use heapscope_format::EdgeKind;

use crate::Analysis;

use super::ownership::{Ownership, NO_EDGE};
use super::{ReasonKind, Suspect};

/// The shape of `node`'s chosen shortest path: one `edge>class` step per line, root first,
/// with array indexes and numeric internal names replaced by `[]` and `{}`.
pub fn shape_key(a: &Analysis, own: &Ownership, node: u32) -> String {
    shape_steps(a, own, node).join("\n")
}

pub(super) fn shape_steps(a: &Analysis, own: &Ownership, node: u32) -> Vec<String> {
    let g = &a.graph;
    let mut steps = Vec::new();
    let mut cur = node;
    let mut guard = 0usize;
    loop {
        let e = own.parent_edge[cur as usize];
        let edge = if e == NO_EDGE {
            String::new()
        } else {
            match g.edge_kind(e) {
                EdgeKind::Element => "[]".to_string(),
                EdgeKind::Hidden => "{}".to_string(),
                EdgeKind::Internal if g.edge_name(e).bytes().all(|b| b.is_ascii_digit()) => {
                    "{}".to_string()
                }
                _ => crate::views::edge_label(a, e),
            }
        };
        steps.push(format!("{edge}>{}", a.class_name(cur)));
        guard += 1;
        if e == NO_EDGE || guard > a.node_count() {
            break;
        }
        cur = g.edge_owner(e);
    }
    steps.reverse();
    steps
}

/// A finding under construction: the leading suspect first, then those that joined it.
pub(super) struct Cluster {
    pub representative: u32,
    pub suspects: Vec<Suspect>,
}

/// A cluster being built: its founding (deepest) shape and its members as
/// `(shape length, representative, suspect)`.
type Building = (Vec<String>, Vec<(usize, u32, Suspect)>);

/// Groups suspects whose path shapes nest. Deepest first, each suspect joins a cluster whose
/// founding (deepest) shape continues its own — the `Socket` group joins the `TCP` handles
/// below it — or founds a cluster. A shallow suspect on the paths of several clusters (an
/// app object above many listener lists) joins one of them and does not fuse them: a
/// common ancestor is not a shared path. Class-wide suspects ([`ReasonKind::BigClass`])
/// have members all over the heap, so they only join (in either direction of nesting) or
/// stand alone. The leader is the suspect with the lowest `lead` rank (handles before
/// groups before single objects), the deepest among equals.
pub(super) fn collapse(a: &Analysis, own: &Ownership, suspects: Vec<Suspect>) -> Vec<Cluster> {
    let mut shaped: Vec<(Vec<String>, u32, Suspect)> = suspects
        .into_iter()
        .filter(|s| !s.members.is_empty())
        .map(|s| {
            let rep = representative(a, &s.members);
            (shape_steps(a, own, rep), rep, s)
        })
        .collect();
    shaped.sort_by(|x, y| {
        y.0.len()
            .cmp(&x.0.len())
            .then(x.2.lead.cmp(&y.2.lead))
            .then(y.2.reason.size.cmp(&x.2.reason.size))
            .then(x.1.cmp(&y.1))
    });
    let (class_wide, on_paths): (Vec<_>, Vec<_>) = shaped
        .into_iter()
        .partition(|s| s.2.reason.kind == ReasonKind::BigClass);
    let mut clusters: Vec<Building> = Vec::new();
    let best = |clusters: &[Building], shape: &[String], both_ways: bool| {
        clusters
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                let n = shape.len().min(c.0.len());
                (both_ways || shape.len() <= c.0.len()) && shape[..n] == c.0[..n]
            })
            .min_by_key(|(_, c)| {
                let lead = c.1.iter().map(|m| m.2.lead).min().unwrap_or(u8::MAX);
                let members: usize = c.1.iter().map(|m| m.2.members.len()).sum();
                (lead, std::cmp::Reverse(members))
            })
            .map(|(i, _)| i)
    };
    for (shape, rep, s) in on_paths {
        // A big single object is a common ancestor of much: it joins only the cluster of
        // the very node it accumulates in, never one merely below it.
        let single = matches!(
            s.reason.kind,
            ReasonKind::BigObject | ReasonKind::AccumulationPoint
        );
        let home = best(&clusters, &shape, false).filter(|&i| !single || clusters[i].0 == shape);
        match home {
            Some(i) => clusters[i].1.push((shape.len(), rep, s)),
            None => {
                let len = shape.len();
                clusters.push((shape, vec![(len, rep, s)]));
            }
        }
    }
    for (shape, rep, s) in class_wide {
        match best(&clusters, &shape, true) {
            Some(i) => clusters[i].1.push((shape.len(), rep, s)),
            None => {
                let len = shape.len();
                clusters.push((shape, vec![(len, rep, s)]));
            }
        }
    }
    clusters
        .into_iter()
        .map(|(_, mut members)| {
            members.sort_by(|x, y| {
                x.2.lead
                    .cmp(&y.2.lead)
                    .then(y.0.cmp(&x.0))
                    .then(y.2.reason.flagged.cmp(&x.2.reason.flagged))
                    .then(y.2.reason.size.cmp(&x.2.reason.size))
                    .then(x.1.cmp(&y.1))
            });
            Cluster {
                representative: members[0].1,
                suspects: members.into_iter().map(|m| m.2).collect(),
            }
        })
        .collect()
}

/// The member with the largest retained size (the lowest ordinal among equals).
fn representative(a: &Analysis, members: &[u32]) -> u32 {
    *members
        .iter()
        .max_by_key(|&&m| (a.retained[m as usize], std::cmp::Reverse(m)))
        .expect("non-empty members")
}
