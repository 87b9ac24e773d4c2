//! The edge: the viewer-request function every visitor goes through.

pub mod engine;
pub mod function;
