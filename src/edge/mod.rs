//! The edge, pure: the viewer-request function every visitor goes through, the headers they
//! get, and the spec both are made from. No I/O here: `infra` deploys these, `serve` runs
//! them locally.

pub mod function;
pub mod headers;
pub mod spec;
