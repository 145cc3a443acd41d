//! Easy-Monitor's suspects: siblings in the dominator tree that share a name, a shallow size
//! and a distance are one group (`1273 × TCP`), looked for two levels down from the root;
//! strings and compiled code under one parent form pseudo-groups whatever their names.

use std::collections::HashMap;

use heapscope_format::NodeKind;

use crate::Analysis;

use super::node_checks::percent_of;
use super::ownership::Ownership;
use super::{LeakOptions, Reason, ReasonKind, Suspect};

#[derive(Hash, PartialEq, Eq, Clone, Copy)]
enum GroupKey {
    Siblings {
        class: u32,
        self_size: u32,
        distance: i32,
    },
    Strings,
    Code,
}

pub(super) fn sibling_groups(
    a: &Analysis,
    own: &Ownership,
    opts: &LeakOptions,
    heap: u64,
    out: &mut Vec<Suspect>,
) {
    let g = &a.graph;
    let floor = percent_of(heap, opts.candidate_percent);
    let flag_at = percent_of(heap, opts.group_percent);
    let mut parents = vec![g.root];
    parents.extend(
        a.dominator_tree
            .children(g.root)
            .iter()
            .copied()
            .filter(|&c| a.retained[c as usize] >= floor),
    );
    for parent in parents {
        let mut groups: HashMap<GroupKey, Vec<u32>> = HashMap::new();
        for &c in a.dominator_tree.children(parent) {
            let key = match g.kind(c) {
                NodeKind::String | NodeKind::ConsString | NodeKind::SlicedString => {
                    GroupKey::Strings
                }
                NodeKind::Code => GroupKey::Code,
                NodeKind::Synthetic
                | NodeKind::Hidden
                | NodeKind::Native
                | NodeKind::ObjectShape => continue,
                _ => GroupKey::Siblings {
                    class: a.class_index[c as usize],
                    self_size: g.self_size(c),
                    distance: a.distance[c as usize],
                },
            };
            if !opts.include_internals && own.is_internal(c) {
                continue;
            }
            groups.entry(key).or_default().push(c);
        }
        for (key, members) in groups {
            let size: u64 = members.iter().map(|&m| a.retained[m as usize]).sum();
            if members.len() < 2 || size < floor {
                continue;
            }
            let count = members.len() as u64;
            let class_name = match key {
                GroupKey::Strings => "(strings)".to_string(),
                GroupKey::Code => "(code)".to_string(),
                GroupKey::Siblings { .. } => a.class_name(members[0]).into_owned(),
            };
            let under = if parent == g.root {
                "the root".to_string()
            } else {
                format!("{} @{}", a.display_name(parent), g.id(parent))
            };
            out.push(Suspect {
                reason: Reason {
                    kind: match key {
                        GroupKey::Strings => ReasonKind::StringGroup,
                        GroupKey::Code => ReasonKind::CodeGroup,
                        GroupKey::Siblings { .. } => ReasonKind::SiblingGroup,
                    },
                    text: format!(
                        "{count} × {class_name} dominated by {under} retain {:.1} % of the heap",
                        size as f64 * 100.0 / heap.max(1) as f64
                    ),
                    count,
                    size,
                    flagged: size >= flag_at,
                },
                title: format!("{count} × {class_name}"),
                class_name,
                members,
                lead: 1,
            });
        }
    }
}
