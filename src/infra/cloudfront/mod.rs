//! Everything CloudFront, one module per resource. `deploy` converges them in the order
//! `infra/mod.rs` gives (origin access control, cache policy, headers policy, KeyValueStore,
//! function, distribution); `delete` removes them in reverse.

pub mod cache_policy;
pub mod distribution;
pub mod function;
pub mod headers_policy;
pub mod kvs;
pub mod oac;
mod shared_policy;
