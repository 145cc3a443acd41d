//! What `heapscope watch` is built from: periodic samples of a live process's memory
//! ([`sample`]), the GC observer that measures heap after GC ([`gc`]), the rule language over
//! their metric names ([`expr`]), heap after GC (measured, or estimated) and the leak trend
//! ([`trend`]), rules with actions and cool-downs ([`rules`]), the
//! actions that capture from the target ([`actions`]) and the Prometheus exposition
//! ([`prometheus`]). The CLI runs the loop, the terminal view and the store.

pub mod actions;
pub mod expr;
pub mod gc;
pub mod prometheus;
pub mod rules;
pub mod sample;
pub mod trend;
