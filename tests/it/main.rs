//! The integration tests, one module per feature, linked into one binary (cargo's and just's
//! pattern): the AWS SDK is linked once instead of once per file, and `support` is compiled once.
//! Run one feature with `cargo test --test it <module>::`, e.g. `cargo test --test it readme`.
//!
//! The modules run as threads of one process: state shared through the emulator (injected
//! faults above all) must be scoped to the test that made it and removed by id, never cleared
//! wholesale.

mod support;

mod ci_github;
mod cli_settings;
mod completions_man;
mod context;
mod deploy;
mod detect;
mod domains;
mod edge_function;
/// The emulator's contract: every CloudFront operation the product uses.
mod emulator_edge;
/// The emulator's contract: CodeBuild, CodePipeline and CodeStar connections.
mod emulator_pipeline;
/// The emulator's contract: S3, IAM, STS, ACM and Route 53.
mod emulator_s3_iam_dns;
mod init;
mod pipeline;
mod previews;
mod publish;
mod publish_listing;
mod publish_safety;
mod readme;
mod serve;
