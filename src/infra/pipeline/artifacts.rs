//! The artifact bucket: the pipeline's artifact store, the S3 source object and the build cache.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};

use crate::infra::resource::{self, Resource};
use crate::infra::{Change, InfraError, Mode, Stack, aws_err, bucket};

const ARTIFACTS: &str = "artifact-bucket";

async fn versioning_enabled(stack: &Stack<'_>, bucket: &str) -> Result<bool, InfraError> {
    let out = stack
        .s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| aws_err(format!("read the versioning of {bucket}"), &e))?;
    Ok(out.status() == Some(&BucketVersioningStatus::Enabled))
}

async fn enable_versioning(stack: &Stack<'_>, bucket: &str) -> Result<(), InfraError> {
    stack
        .s3
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_err(format!("enable versioning on {bucket}"), &e))?;
    Ok(())
}

/// The artifact bucket as wanted: secured like the site bucket, and versioned (the S3 source
/// pins each run to one object version).
struct ArtifactBucket(String);

impl Resource for ArtifactBucket {
    const NOUN: &'static str = "bucket";
    const PROOF: &'static str = "tags (cloudfront-host:project and cloudfront-host:stack)";
    const NOT_OURS: &'static str = "not tagged as this project's";
    type Actual = ();

    fn kind(&self) -> &'static str {
        ARTIFACTS
    }

    fn name(&self) -> &str {
        &self.0
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<()>, InfraError> {
        Ok(bucket::exists_named(stack, &self.0).await?.then_some(()))
    }

    async fn owned(&self, stack: &Stack<'_>, _: &()) -> Result<bool, InfraError> {
        bucket::owned_named(stack, &self.0).await
    }

    async fn differences(&self, stack: &Stack<'_>, _: &()) -> Result<Vec<String>, InfraError> {
        let mut differences = bucket::differences(stack, &self.0).await?;
        if !versioning_enabled(stack, &self.0).await? {
            differences.push("versioning is not enabled (the S3 source needs it)".into());
        }
        Ok(differences)
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        bucket::create(stack, &self.0).await?;
        bucket::secure(stack, &self.0).await?;
        enable_versioning(stack, &self.0).await
    }

    async fn update(&self, stack: &mut Stack<'_>, _: ()) -> Result<(), InfraError> {
        bucket::secure(stack, &self.0).await?;
        if !versioning_enabled(stack, &self.0).await? {
            enable_versioning(stack, &self.0).await?;
        }
        Ok(())
    }

    fn delete_reason(&self) -> String {
        "source uploads, build artifacts and cache".to_string()
    }

    async fn delete(&self, stack: &mut Stack<'_>, _: ()) -> Result<Option<String>, InfraError> {
        let bucket = &self.0;
        bucket::empty(stack, bucket).await?;
        stack
            .s3
            .delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete bucket {bucket}"), &e))?;
        Ok(None)
    }
}

pub async fn converge_artifact_bucket(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let bucket = ArtifactBucket(stack.names.artifact_bucket());
    resource::converge(stack, mode, &bucket).await
}

pub async fn destroy_artifact_bucket(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let bucket = ArtifactBucket(stack.names.artifact_bucket());
    resource::destroy(stack, mode, &bucket).await
}
