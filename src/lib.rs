//! cargo-cloudfront-host: host a Rust/WASM frontend on AWS (S3 + CloudFront) with atomic,
//! versioned deployments. The binary is a thin shell over this library; see
//! ARCHITECTURE.md for how the modules fit together.

pub mod aws;
pub mod buildspec;
pub mod cargo_toml;
pub mod cli;
pub mod commands;
pub mod context;
pub mod detect;
pub mod edge;
pub mod github_workflow;
pub mod infra;
pub mod init;
pub mod names;
pub mod project;
pub mod release;
pub mod serve;
pub mod settings;
pub mod ui;
pub mod workspace;
