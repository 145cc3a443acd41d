//! The closure that holds a suspect: the nearest closure context on its retaining path, the
//! variable through which the context holds the rest of the path, the closure's name and
//! location, and the function whose scope the context belongs to — what an engineer finds by
//! hand in the Retainers view ("a `system / Context` holding `connection`, `sendMessage` …,
//! inside `SMTPTransport.prototype.send`").

use heapscope_format::{EdgeKind, NodeKind};

use crate::views::{self, RetainingPath};
use crate::{Analysis, Retainers};

use super::Ownership;

/// The closure and context found on a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The `system / Context` node.
    pub context: u32,
    /// A closure over that context: the one on the path, else the first retainer closure.
    pub closure: Option<u32>,
    /// The context variable that leads on along the path (`connection`).
    pub via: Option<String>,
    /// All the context's variables, in snapshot order.
    pub variables: Vec<String>,
    /// A closure of the function that created the context, found through the context's
    /// scope info and the shared function info that owns it.
    pub function: Option<u32>,
    /// That function's name as V8 recorded it in the scope info, inferred names included
    /// (`SMTPTransport.send` for `SMTPTransport.prototype.send = function (…) {…}`, whose
    /// closure itself is anonymous).
    pub function_name: Option<String>,
}

/// The nearest context to the end of `path` (the suspect), if any.
pub fn find(
    a: &Analysis,
    retainers: &Retainers,
    own: &Ownership,
    path: &RetainingPath,
) -> Option<Holder> {
    // Only the application's part of the path: Node's own closures (the module loader's,
    // the event loop's) hold everything and explain nothing.
    match path
        .nodes
        .iter()
        .rposition(|&n| is_context(a, n) && own.is_user(n))
    {
        Some(i) => find_on(a, retainers, path, i),
        // The leaked object is a closure itself: what it holds is its own context.
        None => {
            let last = *path.nodes.last()?;
            if a.graph.kind(last) == NodeKind::Closure {
                of_closure(a, retainers, last)
            } else {
                None
            }
        }
    }
}

/// The holder for the context at `path.nodes[i]`.
fn find_on(a: &Analysis, retainers: &Retainers, path: &RetainingPath, i: usize) -> Option<Holder> {
    let g = &a.graph;
    let context = path.nodes[i];
    let via = path
        .edges
        .get(i)
        .and_then(|&e| (g.edge_kind(e) == EdgeKind::Context).then(|| g.edge_name(e)));
    let closure = i
        .checked_sub(1)
        .map(|j| path.nodes[j])
        .filter(|&c| g.kind(c) == NodeKind::Closure)
        .or_else(|| closure_over(a, retainers, context));
    let variables: Vec<String> = views::context_variables(a, context)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let scope_info = g
        .edges(context)
        .find(|&e| g.edge_kind(e) == EdgeKind::Internal && g.edge_name_is(e, "scope_info"))
        .map(|e| g.to_node(e));
    Some(Holder {
        context,
        closure,
        via,
        function: scope_info.and_then(|s| creating_function(a, retainers, s)),
        function_name: scope_info.and_then(|s| scope_function_name(a, s, &variables)),
        variables,
    })
}

fn is_context(a: &Analysis, n: u32) -> bool {
    a.graph.kind(n) != NodeKind::Closure && a.class_name(n).starts_with("system / Context")
}

/// A closure whose `context` edge points at `context`.
fn closure_over(a: &Analysis, retainers: &Retainers, context: u32) -> Option<u32> {
    let g = &a.graph;
    retainers
        .of(context)
        .iter()
        .filter(|&&e| g.edge_kind(e) == EdgeKind::Internal && g.edge_name_is(e, "context"))
        .map(|&e| g.edge_owner(e))
        .find(|&c| g.kind(c) == NodeKind::Closure)
}

/// Scope info → the shared function info whose `name_or_scope_info` is that scope
/// info → a closure whose `shared` is that function info. V8 keeps one scope info per
/// function, so this names the function whose invocation made the context.
fn creating_function(a: &Analysis, retainers: &Retainers, scope_info: u32) -> Option<u32> {
    let g = &a.graph;
    let shared = retainers
        .of(scope_info)
        .iter()
        .find(|&&e| g.edge_name_is(e, "name_or_scope_info"))
        .map(|&e| g.edge_owner(e))?;
    retainers
        .of(shared)
        .iter()
        .filter(|&&e| g.edge_kind(e) == EdgeKind::Internal && g.edge_name_is(e, "shared"))
        .map(|&e| g.edge_owner(e))
        .find(|&c| g.kind(c) == NodeKind::Closure)
}

/// A scope info holds its context variables' names, then the function's name and inferred
/// name; the last string that is not a variable name is the one DevTools would show.
fn scope_function_name(a: &Analysis, scope_info: u32, variables: &[String]) -> Option<String> {
    let g = &a.graph;
    g.edges(scope_info)
        .rev()
        .map(|e| g.to_node(e))
        .filter(|&n| matches!(g.kind(n), NodeKind::String | NodeKind::ConsString))
        .map(|n| crate::names::cons_string_text(g, n, 256))
        .find(|name| !name.is_empty() && !variables.iter().any(|v| v == name))
}

/// For a listener list: the first listener closure and its context, which is what the
/// listeners keep alive.
pub fn of_first_listener(a: &Analysis, retainers: &Retainers, list: u32) -> Option<Holder> {
    let g = &a.graph;
    let closure = g
        .edges(list)
        .filter(|&e| g.edge_kind(e) == EdgeKind::Element)
        .map(|e| g.to_node(e))
        .find(|&n| g.kind(n) == NodeKind::Closure)?;
    of_closure(a, retainers, closure)
}

/// A closure's own context, as the holder of what the closure keeps alive.
fn of_closure(a: &Analysis, retainers: &Retainers, closure: u32) -> Option<Holder> {
    let g = &a.graph;
    let context = g
        .edges(closure)
        .find(|&e| g.edge_kind(e) == EdgeKind::Internal && g.edge_name_is(e, "context"))
        .map(|e| g.to_node(e))?;
    let path = RetainingPath {
        nodes: vec![closure, closure, context],
        edges: Vec::new(),
    };
    let mut h = find_on(a, retainers, &path, 2)?;
    h.closure = Some(closure);
    Some(h)
}
