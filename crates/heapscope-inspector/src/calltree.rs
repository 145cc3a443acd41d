//! One call-tree model for both profile kinds: a CPU profile's tree weighted by time, and a
//! sampling heap profile's tree weighted by bytes. Nodes are stored in preorder (a parent
//! always before its children), so totals, depths and layouts are single passes over an
//! array — no recursion, however deep the profiled program's stacks went.

use std::collections::HashMap;

/// What a node's value counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueUnit {
    Microseconds,
    Bytes,
}

/// A function as the profile names it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Frame {
    pub function_name: String,
    pub url: String,
    /// 0-based, as in the protocol; negative when unknown.
    pub line: i32,
    pub column: i32,
}

impl Frame {
    /// The name DevTools shows: `(anonymous)` for unnamed functions.
    pub fn display_name(&self) -> &str {
        if self.function_name.is_empty() {
            "(anonymous)"
        } else {
            &self.function_name
        }
    }

    /// `path:line:column` (1-based), `file://` dropped; `None` for V8's synthetic frames
    /// such as `(program)` or `(garbage collector)`.
    pub fn location(&self) -> Option<String> {
        if self.url.is_empty() {
            return None;
        }
        let path = self.url.strip_prefix("file://").unwrap_or(&self.url);
        if self.line < 0 {
            return Some(path.to_string());
        }
        Some(format!(
            "{path}:{}:{}",
            self.line + 1,
            self.column.max(0) + 1
        ))
    }
}

pub const NO_PARENT: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct CallNode {
    pub frame: u32,
    pub parent: u32,
    pub children: Vec<u32>,
    /// Time or bytes attributed to this node itself, not its callees.
    pub self_value: u64,
}

/// A call tree; `nodes[0]` is the root (V8's `(root)`).
#[derive(Clone, Debug)]
pub struct CallTree {
    pub unit: ValueUnit,
    pub frames: Vec<Frame>,
    pub nodes: Vec<CallNode>,
}

impl CallTree {
    /// Appends a child of `parent` (which must already exist), interning its frame.
    fn push(&mut self, interned: &mut HashMap<Frame, u32>, frame: Frame, parent: u32) -> u32 {
        let next_frame = self.frames.len() as u32;
        let frame_index = *interned.entry(frame.clone()).or_insert_with(|| {
            self.frames.push(frame);
            next_frame
        });
        let index = self.nodes.len() as u32;
        self.nodes.push(CallNode {
            frame: frame_index,
            parent,
            children: Vec::new(),
            self_value: 0,
        });
        if parent != NO_PARENT {
            self.nodes[parent as usize].children.push(index);
        }
        index
    }

    pub fn frame(&self, node: u32) -> &Frame {
        &self.frames[self.nodes[node as usize].frame as usize]
    }

    /// Each node's value including its callees'.
    pub fn totals(&self) -> Vec<u64> {
        let mut totals: Vec<u64> = self.nodes.iter().map(|n| n.self_value).collect();
        for i in (1..self.nodes.len()).rev() {
            let parent = self.nodes[i].parent as usize;
            totals[parent] += totals[i];
        }
        totals
    }

    /// Each node's depth (the root is 0).
    pub fn depths(&self) -> Vec<u32> {
        let mut depths = vec![0u32; self.nodes.len()];
        for i in 1..self.nodes.len() {
            depths[i] = depths[self.nodes[i].parent as usize] + 1;
        }
        depths
    }

    pub fn total(&self) -> u64 {
        self.nodes.iter().map(|n| n.self_value).sum()
    }
}

/// Builds a [`CallTree`] in preorder from any parent/children description.
pub(crate) struct TreeBuilder {
    pub tree: CallTree,
    interned: HashMap<Frame, u32>,
}

impl TreeBuilder {
    pub fn new(unit: ValueUnit, root: Frame) -> TreeBuilder {
        let mut tree = CallTree {
            unit,
            frames: Vec::new(),
            nodes: Vec::new(),
        };
        let mut interned = HashMap::new();
        tree.push(&mut interned, root, NO_PARENT);
        TreeBuilder { tree, interned }
    }

    pub fn child(&mut self, parent: u32, frame: Frame, self_value: u64) -> u32 {
        let index = self.tree.push(&mut self.interned, frame, parent);
        self.tree.nodes[index as usize].self_value = self_value;
        index
    }
}

#[cfg(test)]
pub(crate) fn frame(name: &str) -> Frame {
    Frame {
        function_name: name.into(),
        url: "file:///app.js".into(),
        line: 0,
        column: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_depths_in_one_pass() {
        let mut b = TreeBuilder::new(ValueUnit::Bytes, frame("(root)"));
        let a = b.child(0, frame("a"), 1);
        let bb = b.child(a, frame("b"), 10);
        b.child(bb, frame("a"), 100);
        let t = b.tree;
        assert_eq!(t.totals(), vec![111, 111, 110, 100]);
        assert_eq!(t.depths(), vec![0, 1, 2, 3]);
        assert_eq!(t.frames.len(), 3, "frames are interned");
        assert_eq!(t.frame(3).location().unwrap(), "/app.js:1:1");
    }
}
