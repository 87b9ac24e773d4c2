//! What the pipeline builds from: a GitHub repository (through a connection) or the zipped
//! project `upload` puts in the artifact bucket.

use serde::Serialize;

/// Where `upload` puts the zipped project in the artifact bucket (the S3 source object).
pub const SOURCE_KEY: &str = "source/project.zip";
/// The pipeline variable `upload` sets (S3 source).
pub const VERSION_VARIABLE: &str = "version";

/// What the pipeline builds from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceSpec {
    Github {
        repository: String,
        branch: String,
        /// Glob filters on changed paths; empty: every push to the branch.
        paths: Vec<String>,
        /// An existing connection to use instead of creating one.
        connection_arn: Option<String>,
    },
    S3,
}

/// The pipeline's desired state beyond what the names and settings give.
#[derive(Debug, Clone)]
pub struct PipelineSpec {
    pub source: SourceSpec,
    /// The buildspec text (generated from the settings, or the user's own file).
    pub buildspec: String,
}
