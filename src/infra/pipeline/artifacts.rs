//! The artifact bucket: the pipeline's artifact store, the S3 source object and the build cache.

use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};

use crate::infra::{Action, Change, InfraError, Mode, Stack, aws_err, bucket};

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

pub async fn converge_artifact_bucket(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let bucket = stack.names.artifact_bucket();
    if !bucket::exists_named(stack, &bucket).await? {
        if mode == Mode::Apply {
            bucket::create(stack, &bucket).await?;
            bucket::secure(stack, &bucket).await?;
            enable_versioning(stack, &bucket).await?;
        }
        return Ok(Change::new(
            ARTIFACTS,
            &bucket,
            Action::Create,
            "does not exist",
        ));
    }
    if !bucket::owned_named(stack, &bucket).await? {
        return Err(InfraError::NotOwned {
            kind: "bucket",
            name: bucket,
            proof: "tags (cloudfront-host:project and cloudfront-host:stack)",
        });
    }
    let mut differences = bucket::differences(stack, &bucket).await?;
    let versioned = versioning_enabled(stack, &bucket).await?;
    if !versioned {
        differences.push("versioning is not enabled (the S3 source needs it)".into());
    }
    if mode == Mode::Apply && !differences.is_empty() {
        bucket::secure(stack, &bucket).await?;
        if !versioned {
            enable_versioning(stack, &bucket).await?;
        }
    }
    Ok(Change::from_differences(ARTIFACTS, &bucket, &differences))
}

pub async fn destroy_artifact_bucket(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let bucket = stack.names.artifact_bucket();
    if !bucket::exists_named(stack, &bucket).await? {
        return Ok(Change::gone(ARTIFACTS, &bucket));
    }
    if !bucket::owned_named(stack, &bucket).await? {
        return Ok(Change::left_alone(
            ARTIFACTS,
            &bucket,
            "not tagged as this project's",
        ));
    }
    if mode == Mode::Apply {
        bucket::empty(stack, &bucket).await?;
        stack
            .s3
            .delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete bucket {bucket}"), &e))?;
    }
    Ok(Change::new(
        ARTIFACTS,
        &bucket,
        Action::Delete,
        "source uploads, build artifacts and cache",
    ))
}
