//! Where a release goes when the pipeline's build runs it: the CodeBuild project passes the
//! bucket and store in the environment (there is no git remote there to derive the names
//! from, and the build's role may not look them up).

use crate::infra::pipeline::{ENV_BUCKET, ENV_KVS_ARN};

use super::Target;

/// The bucket and store the pipeline's CodeBuild project passes to the build, if any.
pub fn from_env() -> Option<Target> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    Some(Target {
        bucket: var(ENV_BUCKET)?,
        kvs_arn: var(ENV_KVS_ARN)?,
    })
}
