//! The edge: the viewer-request function every visitor goes through, and the headers it gets.

pub mod engine;
pub mod function;
pub mod headers;
