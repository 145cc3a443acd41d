//! The sections of a sidecar file and their contents.
//!
//! - `OVRV`, always first: counts, the Statistics view and the Summary's classes with their
//!   source locations — all the Summary view needs, readable without the rest.
//! - `GRPH`: the parsed snapshot as the analysis left it and the per-node results
//!   ([`heapscope_analysis::AnalysisParts`]).
//! - `CLSM` (optional): each class's instances, largest first.
//! - `WIDE` (optional): the ×N groups of very wide dominator-tree levels.
//! - `END.`: written last, so a file cut short is never taken for a complete one.

use anyhow::{bail, Result};
use heapscope_analysis::{Analysis, AnalysisParts, ClassAggregate, ClassMembers, Statistics};
use heapscope_format::{
    EdgeColumns, EdgeLayout, Header, NodeColumns, NodeLayout, RawSnapshot, Sample, SourceLocation,
    StringTable,
};

use super::codec::{Reader, Writer};
use super::{Overview, WideGroups};

pub const OVERVIEW: &[u8; 4] = b"OVRV";
pub const GRAPH: &[u8; 4] = b"GRPH";
pub const CLASS_MEMBERS: &[u8; 4] = b"CLSM";
pub const WIDE: &[u8; 4] = b"WIDE";
pub const END: &[u8; 4] = b"END.";

pub fn write_overview(w: &mut Writer, o: &Overview) -> Result<()> {
    w.u64(o.node_count)?;
    w.u64(o.edge_count)?;
    let s = &o.statistics;
    for v in [
        s.total,
        s.native_total,
        s.typed_arrays,
        s.code,
        s.js_arrays,
        s.strings,
        s.system,
        s.extra_native_bytes,
    ] {
        w.u64(v)?;
    }
    w.i64(s.v8heap_total)?;
    w.u64(o.classes.len() as u64)?;
    for (c, location) in o.classes.iter().zip(&o.class_locations) {
        w.str(&c.key)?;
        w.str(&c.name)?;
        w.u64(c.count)?;
        w.u64(c.self_size)?;
        w.u64(c.retained_size)?;
        w.i32(c.distance)?;
        w.u32(c.first_node)?;
        match location {
            None => w.u8(0)?,
            Some(l) => {
                w.u8(1)?;
                location_fields(w, l)?;
            }
        }
    }
    Ok(())
}

fn location_fields(w: &mut Writer, l: &SourceLocation) -> Result<()> {
    w.u32(l.node)?;
    w.u32(l.script_id)?;
    w.u32(l.line)?;
    w.u32(l.column)
}

fn read_location(r: &mut Reader) -> Result<SourceLocation> {
    Ok(SourceLocation {
        node: r.u32()?,
        script_id: r.u32()?,
        line: r.u32()?,
        column: r.u32()?,
    })
}

pub fn read_overview(r: &mut Reader) -> Result<Overview> {
    let node_count = r.u64()?;
    let edge_count = r.u64()?;
    let mut v = [0u64; 8];
    for x in v.iter_mut() {
        *x = r.u64()?;
    }
    let statistics = Statistics {
        total: v[0],
        native_total: v[1],
        typed_arrays: v[2],
        code: v[3],
        js_arrays: v[4],
        strings: v[5],
        system: v[6],
        extra_native_bytes: v[7],
        v8heap_total: r.i64()?,
    };
    let n = r.u64()?;
    let mut classes = Vec::new();
    let mut class_locations = Vec::new();
    for _ in 0..n {
        classes.push(ClassAggregate {
            key: r.str("class key")?,
            name: r.str("class name")?,
            count: r.u64()?,
            self_size: r.u64()?,
            retained_size: r.u64()?,
            distance: r.i32()?,
            first_node: r.u32()?,
        });
        class_locations.push(match r.u8()? {
            0 => None,
            1 => Some(read_location(r)?),
            other => return Err(r.error(format!("a location flag is {other}, expected 0 or 1"))),
        });
    }
    Ok(Overview {
        node_count,
        edge_count,
        statistics,
        classes,
        class_locations,
    })
}

fn write_header(w: &mut Writer, h: &Header) -> Result<()> {
    for v in [
        h.node_count,
        h.edge_count,
        h.trace_function_count,
        h.root_index,
        h.extra_native_bytes,
    ] {
        w.u64(v)?;
    }
    let n = &h.nodes;
    for v in [
        n.field_count,
        n.type_,
        n.name,
        n.id,
        n.self_size,
        n.edge_count,
    ] {
        w.u64(v as u64)?;
    }
    for v in [n.trace_node_id, n.detachedness] {
        w.u64(v.map_or(u64::MAX, |x| x as u64))?;
    }
    let e = &h.edges;
    for v in [e.field_count, e.type_, e.name_or_index, e.to_node] {
        w.u64(v as u64)?;
    }
    w.strs(&h.node_types)?;
    w.strs(&h.edge_types)?;
    w.bytes(&h.node_kind_map)?;
    w.bytes(&h.edge_kind_map)?;
    w.strs(&h.location_fields)?;
    w.strs(&h.sample_fields)?;
    w.strs(&h.trace_function_info_fields)?;
    w.strs(&h.trace_node_fields)
}

fn read_header(r: &mut Reader) -> Result<Header> {
    let mut u = || -> Result<u64> { r.u64() };
    let (node_count, edge_count, trace_function_count, root_index, extra_native_bytes) =
        (u()?, u()?, u()?, u()?, u()?);
    let mut us = || -> Result<usize> { Ok(r.u64()? as usize) };
    let nodes = NodeLayout {
        field_count: us()?,
        type_: us()?,
        name: us()?,
        id: us()?,
        self_size: us()?,
        edge_count: us()?,
        trace_node_id: optional(r.u64()?),
        detachedness: optional(r.u64()?),
    };
    let mut us = || -> Result<usize> { Ok(r.u64()? as usize) };
    let edges = EdgeLayout {
        field_count: us()?,
        type_: us()?,
        name_or_index: us()?,
        to_node: us()?,
    };
    if nodes.field_count == 0 || edges.field_count == 0 {
        return Err(r.error("a field count of 0 in the stored header"));
    }
    Ok(Header {
        node_count,
        edge_count,
        trace_function_count,
        root_index,
        extra_native_bytes,
        nodes,
        edges,
        node_types: r.strs("node_types")?,
        edge_types: r.strs("edge_types")?,
        node_kind_map: r.bytes("node_kind_map")?,
        edge_kind_map: r.bytes("edge_kind_map")?,
        location_fields: r.strs("location_fields")?,
        sample_fields: r.strs("sample_fields")?,
        trace_function_info_fields: r.strs("trace_function_info_fields")?,
        trace_node_fields: r.strs("trace_node_fields")?,
    })
}

fn optional(v: u64) -> Option<usize> {
    (v != u64::MAX).then_some(v as usize)
}

pub fn write_graph(w: &mut Writer, a: &Analysis) -> Result<()> {
    let raw = &a.graph.raw;
    write_header(w, &raw.header)?;
    let n = &raw.nodes;
    w.bytes(&n.kind)?;
    w.u32s(&n.name)?;
    w.u32s(&n.id)?;
    w.u32s(&n.self_size)?;
    w.u32s(&n.trace_node_id)?;
    w.bytes(&n.detachedness)?;
    let e = &raw.edges;
    w.bytes(&e.kind)?;
    w.u32s(&e.name_or_index)?;
    w.u32s(&e.to_node)?;
    let (bytes, offsets, extra) = raw.strings.parts();
    w.bytes(bytes)?;
    w.array(offsets, u64::to_le_bytes)?;
    w.strs(extra)?;
    w.u64(raw.samples.len() as u64)?;
    for s in &raw.samples {
        w.u64(s.timestamp_us)?;
        w.u64(s.last_assigned_id)?;
    }
    w.u32s(&raw.trace_function_infos)?;
    w.u32s(&a.graph.first_edge)?;
    w.bytes(&a.detachedness)?;
    w.u32s(&a.idom)?;
    w.array(&a.retained, u64::to_le_bytes)?;
    w.array(&a.distance, i32::to_le_bytes)?;
    w.u32s(&a.class_index)?;
    w.u64(a.locations().len() as u64)?;
    for l in a.locations() {
        location_fields(w, l)?;
    }
    Ok(())
}

/// Reads `GRPH`; the classes and statistics come from `OVRV`, read before it.
pub fn read_graph(r: &mut Reader, overview: Overview) -> Result<Analysis> {
    let header = read_header(r)?;
    let nodes = NodeColumns {
        kind: r.bytes("nodes.kind")?,
        name: r.u32s("nodes.name")?,
        id: r.u32s("nodes.id")?,
        self_size: r.u32s("nodes.self_size")?,
        edge_count: Vec::new(),
        trace_node_id: r.u32s("nodes.trace_node_id")?,
        detachedness: r.bytes("nodes.detachedness")?,
    };
    let edges = EdgeColumns {
        kind: r.bytes("edges.kind")?,
        name_or_index: r.u32s("edges.name_or_index")?,
        to_node: r.u32s("edges.to_node")?,
    };
    let bytes = r.bytes("strings")?;
    let offsets = r.array("string offsets", u64::from_le_bytes)?;
    let extra = r.strs("added strings")?;
    let strings = StringTable::from_parts(bytes, offsets, extra).map_err(|e| r.error(e))?;
    let samples_len = r.u64()?;
    if samples_len > (r.remaining()) / 16 {
        return Err(r.error(format!(
            "{samples_len} samples claimed, more than the file holds"
        )));
    }
    let mut samples = Vec::with_capacity(samples_len as usize);
    for _ in 0..samples_len {
        samples.push(Sample {
            timestamp_us: r.u64()?,
            last_assigned_id: r.u64()?,
        });
    }
    let raw = RawSnapshot {
        header,
        nodes,
        edges,
        strings,
        locations: Vec::new(),
        samples,
        trace_function_infos: r.u32s("trace_function_infos")?,
    };
    let first_edge = r.u32s("first_edge")?;
    let detachedness = r.bytes("detachedness")?;
    let idom = r.u32s("idom")?;
    let retained = r.array("retained", u64::from_le_bytes)?;
    let distance = r.array("distance", i32::from_le_bytes)?;
    let class_index = r.u32s("class_index")?;
    let locations_len = r.u64()?;
    if locations_len > r.remaining() / 16 {
        return Err(r.error(format!(
            "{locations_len} locations claimed, more than the file holds"
        )));
    }
    let locations = (0..locations_len)
        .map(|_| read_location(r))
        .collect::<Result<Vec<_>>>()?;
    if raw.nodes.id.len() as u64 != overview.node_count {
        bail!(
            "the stored graph has {} nodes, its overview says {}",
            raw.nodes.id.len(),
            overview.node_count
        );
    }
    Analysis::from_parts(AnalysisParts {
        raw,
        first_edge,
        detachedness,
        idom,
        retained,
        distance,
        class_index,
        classes: overview.classes,
        statistics: overview.statistics,
        locations,
    })
    .map_err(|e| r.error(format!("inconsistent analysis: {e}")))
}

pub fn write_class_members(w: &mut Writer, m: &ClassMembers) -> Result<()> {
    w.u32s(&m.first)?;
    w.u32s(&m.nodes)
}

pub fn read_class_members(r: &mut Reader, a: &Analysis) -> Result<ClassMembers> {
    let m = ClassMembers {
        first: r.u32s("class member offsets")?,
        nodes: r.u32s("class members")?,
    };
    let n = a.node_count() as u32;
    let offsets_ok = m.first.len() == a.classes.len() + 1
        && m.first.first() == Some(&0)
        && m.first.last() == Some(&(m.nodes.len() as u32))
        && m.first.windows(2).all(|w| w[0] <= w[1]);
    if !offsets_ok || m.nodes.iter().any(|&x| x >= n) {
        return Err(r.error("the class member index does not fit this analysis"));
    }
    Ok(m)
}

pub fn write_wide(w: &mut Writer, wide: &WideGroups) -> Result<()> {
    w.u64(wide.len() as u64)?;
    for (node, groups) in wide {
        w.u32(*node)?;
        w.u64(groups.len() as u64)?;
        for &(first, count, retained) in groups.iter() {
            w.u32(first)?;
            w.u64(count as u64)?;
            w.u64(retained)?;
        }
    }
    Ok(())
}

pub fn read_wide(r: &mut Reader, a: &Analysis) -> Result<WideGroups> {
    let n = a.node_count() as u32;
    let levels = r.u64()?;
    let mut out = Vec::new();
    for _ in 0..levels {
        let node = r.u32()?;
        let len = r.u64()?;
        if node >= n || len > r.remaining() / 20 {
            return Err(r.error("a stored dominator level does not fit this analysis"));
        }
        let mut groups = Vec::with_capacity(len as usize);
        for _ in 0..len {
            let first = r.u32()?;
            if first >= n {
                return Err(r.error("a stored dominator group names no node"));
            }
            groups.push((first, r.u64()? as usize, r.u64()?));
        }
        out.push((node, std::sync::Arc::new(groups)));
    }
    Ok(out)
}
