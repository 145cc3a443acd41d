//! Reading a `.heapprofile` (the protocol's `HeapProfiler.SamplingHeapProfile`): a nested
//! tree of allocation sites, each with the bytes sampled there.
//!
//! The tree is nested JSON as deep as the deepest sampled stack, past serde_json's default
//! recursion limit of 128 levels. It is decoded without that limit on a thread with a stack
//! large enough for any stack V8 can have (V8's own limit keeps JS stacks to some ten
//! thousand frames), then flattened iteratively so that dropping it does not recurse either.

use serde::Deserialize;

use crate::calltree::{CallTree, TreeBuilder, ValueUnit};
use crate::cpuprofile::CallFrame;
use crate::error::{InspectorError, Result};

/// Room for serde's recursive descent through ~100 000 nested levels.
const PARSER_STACK_BYTES: usize = 256 << 20;

#[derive(Deserialize)]
struct SamplingProfile {
    head: SamplingNode,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SamplingNode {
    call_frame: CallFrame,
    #[serde(default)]
    self_size: f64,
    #[serde(default)]
    children: Vec<SamplingNode>,
}

fn bad(detail: String) -> InspectorError {
    InspectorError::BadProfile {
        kind: "sampling heap profile",
        detail,
    }
}

/// Parses a `.heapprofile` into a call tree weighted by sampled bytes.
pub fn parse(bytes: &[u8]) -> Result<CallTree> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("heapprofile-parser".into())
            .stack_size(PARSER_STACK_BYTES)
            .spawn_scoped(scope, || parse_on_this_thread(bytes))
            .map_err(|e| bad(format!("cannot start the parser thread: {e}")))?
            .join()
            .map_err(|_| bad("the parser failed".into()))?
    })
}

fn parse_on_this_thread(bytes: &[u8]) -> Result<CallTree> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    de.disable_recursion_limit();
    let profile = SamplingProfile::deserialize(&mut de).map_err(|e| bad(e.to_string()))?;
    de.end().map_err(|e| bad(e.to_string()))?;
    let mut head = profile.head;
    let children = std::mem::take(&mut head.children);
    let mut builder = TreeBuilder::new(ValueUnit::Bytes, head.call_frame.into());
    builder.tree.nodes[0].self_value = size(head.self_size);
    let mut stack = vec![(0u32, children)];
    while let Some((parent, children)) = stack.pop() {
        for mut child in children {
            let grandchildren = std::mem::take(&mut child.children);
            let index = builder.child(parent, child.call_frame.into(), size(child.self_size));
            stack.push((index, grandchildren));
        }
    }
    Ok(builder.tree)
}

fn size(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, self_size: u64, children: &str) -> String {
        format!(
            r#"{{"callFrame":{{"functionName":"{name}","scriptId":"1","url":"file:///a.js","lineNumber":1,"columnNumber":2}},"selfSize":{self_size},"id":1,"children":[{children}]}}"#
        )
    }

    #[test]
    fn nested_sites_become_a_tree() {
        let leaf = node("alloc", 4096, "");
        let head = node("(root)", 0, &node("main", 10, &leaf));
        let t = parse(format!(r#"{{"head":{head},"samples":[]}}"#).as_bytes()).unwrap();
        assert_eq!(t.nodes.len(), 3);
        assert_eq!(t.totals()[0], 4106);
    }

    #[test]
    fn deeper_than_serde_default_limit() {
        let mut inner = node("leaf", 8, "");
        for i in 0..5000 {
            inner = node(&format!("f{}", i % 7), 0, &inner);
        }
        let t = parse(format!(r#"{{"head":{inner}}}"#).as_bytes()).unwrap();
        assert_eq!(t.nodes.len(), 5001);
        assert_eq!(*t.depths().iter().max().unwrap(), 5000);
    }

    #[test]
    fn not_a_profile_is_an_error() {
        assert!(parse(b"[]").is_err());
        assert!(parse(b"{\"head\":").is_err());
    }
}
