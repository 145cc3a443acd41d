//! Top functions of a call tree: per function (name + source position), the self value and
//! the total value. A recursive function's total counts each call stack once — a node whose
//! ancestor is the same function is already inside that ancestor's total — as in DevTools'
//! Bottom-Up view.

use std::collections::HashMap;

use crate::calltree::{CallTree, Frame};

#[derive(Clone, Debug)]
pub struct FunctionTotals<'a> {
    pub frame: &'a Frame,
    pub self_value: u64,
    pub total_value: u64,
}

/// Every function but the root, largest self value first (ties by total, then name).
pub fn by_function(tree: &CallTree) -> Vec<FunctionTotals<'_>> {
    let totals = tree.totals();
    let mut self_by_frame = vec![0u64; tree.frames.len()];
    let mut total_by_frame = vec![0u64; tree.frames.len()];
    let mut on_path = vec![0u32; tree.frames.len()];
    // Explicit depth-first walk; `Exit` undoes the node's mark on the current path.
    enum Step {
        Enter(u32),
        Exit(u32),
    }
    let mut stack = vec![Step::Enter(0)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Enter(n) => {
                let node = &tree.nodes[n as usize];
                let f = node.frame as usize;
                self_by_frame[f] += node.self_value;
                if on_path[f] == 0 {
                    total_by_frame[f] += totals[n as usize];
                }
                on_path[f] += 1;
                stack.push(Step::Exit(n));
                stack.extend(node.children.iter().map(|&c| Step::Enter(c)));
            }
            Step::Exit(n) => on_path[tree.nodes[n as usize].frame as usize] -= 1,
        }
    }
    let root_frame = tree.nodes[0].frame as usize;
    let mut rows: Vec<FunctionTotals<'_>> = tree
        .frames
        .iter()
        .enumerate()
        .filter(|&(f, _)| f != root_frame)
        .map(|(f, frame)| FunctionTotals {
            frame,
            self_value: self_by_frame[f],
            total_value: total_by_frame[f],
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.self_value, b.total_value)
            .cmp(&(a.self_value, a.total_value))
            .then_with(|| a.frame.function_name.cmp(&b.frame.function_name))
    });
    rows
}

/// Self values grouped by source file (`(native)` for frames without one).
pub fn by_file(tree: &CallTree) -> Vec<(String, u64)> {
    let mut files: HashMap<&str, u64> = HashMap::new();
    for node in &tree.nodes {
        let url = tree.frames[node.frame as usize].url.as_str();
        *files.entry(url).or_default() += node.self_value;
    }
    let mut rows: Vec<(String, u64)> = files
        .into_iter()
        .map(|(url, v)| {
            let shown = if url.is_empty() {
                "(native)"
            } else {
                url.strip_prefix("file://").unwrap_or(url)
            };
            (shown.to_string(), v)
        })
        .collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calltree::{frame, TreeBuilder, ValueUnit};

    #[test]
    fn recursion_counts_once_in_total() {
        // (root) → a(1) → b(10) → a(100); a's total is 111, not 211.
        let mut b = TreeBuilder::new(ValueUnit::Microseconds, frame("(root)"));
        let a = b.child(0, frame("a"), 1);
        let bb = b.child(a, frame("b"), 10);
        b.child(bb, frame("a"), 100);
        let tree = b.tree;
        let rows = by_function(&tree);
        let a_row = rows.iter().find(|r| r.frame.function_name == "a").unwrap();
        assert_eq!((a_row.self_value, a_row.total_value), (101, 111));
        let b_row = rows.iter().find(|r| r.frame.function_name == "b").unwrap();
        assert_eq!((b_row.self_value, b_row.total_value), (10, 110));
        assert_eq!(rows[0].frame.function_name, "a", "largest self first");
        assert!(rows.iter().all(|r| r.frame.function_name != "(root)"));
    }
}
