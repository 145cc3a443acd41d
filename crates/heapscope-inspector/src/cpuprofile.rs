//! Reading a `.cpuprofile` (the protocol's `Profiler.Profile`): a flat node list with child
//! ids, plus the sample stream (`samples` with `timeDeltas`) that says how long each sample
//! lasted. Self time follows DevTools: a sample lasts until the next one starts, the last
//! until the profile's end.

use std::collections::HashMap;

use serde::Deserialize;

use crate::calltree::{CallTree, Frame, TreeBuilder, ValueUnit};
use crate::error::{InspectorError, Result};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    nodes: Vec<ProfileNode>,
    #[serde(default)]
    start_time: f64,
    #[serde(default)]
    end_time: f64,
    #[serde(default)]
    samples: Vec<u32>,
    #[serde(default)]
    time_deltas: Vec<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProfileNode {
    id: u32,
    call_frame: CallFrame,
    #[serde(default)]
    hit_count: u64,
    #[serde(default)]
    children: Vec<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CallFrame {
    #[serde(default)]
    pub function_name: String,
    #[serde(default)]
    pub url: String,
    #[serde(default = "unknown")]
    pub line_number: i32,
    #[serde(default = "unknown")]
    pub column_number: i32,
}

fn unknown() -> i32 {
    -1
}

impl From<CallFrame> for Frame {
    fn from(f: CallFrame) -> Frame {
        Frame {
            function_name: f.function_name,
            url: f.url,
            line: f.line_number,
            column: f.column_number,
        }
    }
}

fn bad(detail: String) -> InspectorError {
    InspectorError::BadProfile {
        kind: "CPU profile",
        detail,
    }
}

/// Parses a `.cpuprofile` into a call tree weighted by microseconds of self time.
pub fn parse(bytes: &[u8]) -> Result<CallTree> {
    let profile: Profile = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    if profile.nodes.is_empty() {
        return Err(bad("no nodes".into()));
    }
    let mut index_of: HashMap<u32, usize> = HashMap::with_capacity(profile.nodes.len());
    for (i, n) in profile.nodes.iter().enumerate() {
        if index_of.insert(n.id, i).is_some() {
            return Err(bad(format!("node id {} appears twice", n.id)));
        }
    }
    let self_time = self_times(&profile, &index_of)?;
    // The root is the node no other node lists as a child (V8 puts it first).
    let mut is_child = vec![false; profile.nodes.len()];
    for n in &profile.nodes {
        for c in &n.children {
            let &ci = index_of
                .get(c)
                .ok_or_else(|| bad(format!("node {} lists unknown child {c}", n.id)))?;
            is_child[ci] = true;
        }
    }
    let root = is_child
        .iter()
        .position(|&c| !c)
        .ok_or_else(|| bad("no root node".into()))?;
    let mut nodes: Vec<Option<ProfileNode>> = profile.nodes.into_iter().map(Some).collect();
    let take = |nodes: &mut Vec<Option<ProfileNode>>, i: usize| nodes[i].take();
    let root_node = take(&mut nodes, root).ok_or_else(|| bad("no root node".into()))?;
    let mut builder = TreeBuilder::new(ValueUnit::Microseconds, root_node.call_frame.into());
    builder.tree.nodes[0].self_value = self_time[root];
    // Depth-first with an explicit stack; a node reached twice (a malformed profile that is
    // not a tree) is refused rather than looped over.
    let mut stack: Vec<(usize, u32, Vec<u32>)> = vec![(root, 0, root_node.children)];
    while let Some((_, tree_index, children)) = stack.pop() {
        for child_id in children.into_iter().rev() {
            let ci = index_of[&child_id];
            let child = take(&mut nodes, ci)
                .ok_or_else(|| bad(format!("node {child_id} has two parents")))?;
            let t = builder.child(tree_index, child.call_frame.into(), self_time[ci]);
            stack.push((ci, t, child.children));
        }
    }
    Ok(builder.tree)
}

/// Microseconds of self time per node (by index into `profile.nodes`).
fn self_times(profile: &Profile, index_of: &HashMap<u32, usize>) -> Result<Vec<u64>> {
    let mut self_time = vec![0f64; profile.nodes.len()];
    if !profile.samples.is_empty() && profile.samples.len() == profile.time_deltas.len() {
        let mut timestamps = Vec::with_capacity(profile.samples.len());
        let mut t = profile.start_time;
        for d in &profile.time_deltas {
            t += d;
            timestamps.push(t);
        }
        for (i, id) in profile.samples.iter().enumerate() {
            let &ni = index_of
                .get(id)
                .ok_or_else(|| bad(format!("sample {i} names unknown node {id}")))?;
            let end = timestamps
                .get(i + 1)
                .copied()
                .unwrap_or(profile.end_time.max(timestamps[i]));
            self_time[ni] += (end - timestamps[i]).max(0.0);
        }
    } else {
        // No sample stream (old profiles): spread the duration over the hit counts.
        let hits: u64 = profile.nodes.iter().map(|n| n.hit_count).sum();
        let per_hit = if hits > 0 {
            (profile.end_time - profile.start_time).max(0.0) / hits as f64
        } else {
            0.0
        };
        for (i, n) in profile.nodes.iter().enumerate() {
            self_time[i] = n.hit_count as f64 * per_hit;
        }
    }
    Ok(self_time.into_iter().map(|t| t.round() as u64).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = r#"{"nodes":[
        {"id":1,"callFrame":{"functionName":"(root)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"hitCount":0,"children":[2,3]},
        {"id":2,"callFrame":{"functionName":"hot","scriptId":"1","url":"file:///app.js","lineNumber":9,"columnNumber":4},"hitCount":2,"children":[]},
        {"id":3,"callFrame":{"functionName":"(idle)","scriptId":"0","url":"","lineNumber":-1,"columnNumber":-1},"hitCount":1}
      ],"startTime":1000,"endTime":1400,"samples":[2,2,3],"timeDeltas":[0,100,100]}"#;

    #[test]
    fn sample_durations_become_self_time() {
        let t = parse(PROFILE.as_bytes()).unwrap();
        assert_eq!(t.nodes.len(), 3);
        let hot = (0..3).find(|&i| t.frame(i).function_name == "hot").unwrap();
        assert_eq!(t.nodes[hot as usize].self_value, 200);
        assert_eq!(t.total(), 400, "the last sample lasts until endTime");
        assert_eq!(t.frame(hot).location().unwrap(), "/app.js:10:5");
    }

    #[test]
    fn malformed_profiles_are_errors() {
        assert!(parse(b"{}").is_err());
        assert!(parse(b"not json").is_err());
        let unknown_child = PROFILE.replace("[2,3]", "[2,9]");
        assert!(parse(unknown_child.as_bytes())
            .unwrap_err()
            .to_string()
            .contains("unknown child 9"));
        let two_parents = PROFILE.replace(
            r#""hitCount":2,"children":[]"#,
            r#""hitCount":2,"children":[3]"#,
        );
        assert!(parse(two_parents.as_bytes()).is_err());
        let bad_sample = PROFILE.replace("[2,2,3]", "[2,2,7]");
        assert!(parse(bad_sample.as_bytes()).is_err());
    }
}
