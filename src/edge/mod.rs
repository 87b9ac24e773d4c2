//! The edge: the viewer-request function every visitor goes through, the headers it gets, and
//! the local edge (`serve`) that runs both on this machine.

pub mod engine;
pub mod function;
pub mod headers;
pub mod server;
