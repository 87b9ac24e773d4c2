//! The site bucket: private (all four public-access blocks, bucket-owner-enforced ownership),
//! SSE-S3, tagged; readable only by this project's distribution through origin access control,
//! and only over TLS.

use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging,
};
use serde_json::json;

use super::resource::{self, Resource};
use super::{Action, Change, InfraError, Mode, Stack, aws_err, http_status as status};

const RESOURCE: &str = "bucket";
const POLICY: &str = "bucket-policy";

pub async fn exists(stack: &Stack<'_>) -> Result<bool, InfraError> {
    exists_named(stack, &stack.names.bucket()).await
}

pub(crate) async fn exists_named(stack: &Stack<'_>, bucket: &str) -> Result<bool, InfraError> {
    match stack.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if status(&e) == Some(404) => Ok(false),
        Err(e) => Err(aws_err(format!("look up bucket {bucket}"), &e)),
    }
}

async fn tags(stack: &Stack<'_>, bucket: &str) -> Result<Vec<(String, String)>, InfraError> {
    match stack.s3.get_bucket_tagging().bucket(bucket).send().await {
        Ok(out) => Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()),
        Err(e)
            if e.as_service_error()
                .and_then(aws_sdk_s3::error::ProvideErrorMetadata::code)
                == Some("NoSuchTagSet") =>
        {
            Ok(Vec::new())
        }
        Err(e) => Err(aws_err(format!("read the tags of bucket {bucket}"), &e)),
    }
}

pub async fn owned(stack: &Stack<'_>) -> Result<bool, InfraError> {
    owned_named(stack, &stack.names.bucket()).await
}

pub(crate) async fn owned_named(stack: &Stack<'_>, bucket: &str) -> Result<bool, InfraError> {
    let tags = tags(stack, bucket).await?;
    Ok(stack
        .names
        .owns(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
}

/// What differs from a private, encrypted, owner-enforced bucket.
pub(crate) async fn differences(
    stack: &Stack<'_>,
    bucket: &str,
) -> Result<Vec<String>, InfraError> {
    let mut out = Vec::new();
    let blocked = match stack
        .s3
        .get_public_access_block()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(o) => o.public_access_block_configuration().is_some_and(|c| {
            c.block_public_acls() == Some(true)
                && c.ignore_public_acls() == Some(true)
                && c.block_public_policy() == Some(true)
                && c.restrict_public_buckets() == Some(true)
        }),
        Err(e) if status(&e) == Some(404) => false,
        Err(e) => {
            return Err(aws_err(
                format!("read the public access block of {bucket}"),
                &e,
            ));
        }
    };
    if !blocked {
        out.push("public access not fully blocked".to_string());
    }
    let encrypted = match stack.s3.get_bucket_encryption().bucket(bucket).send().await {
        Ok(o) => o.server_side_encryption_configuration().is_some_and(|c| {
            c.rules().iter().any(|r| {
                r.apply_server_side_encryption_by_default()
                    .is_some_and(|d| d.sse_algorithm() == &ServerSideEncryption::Aes256)
            })
        }),
        Err(e) if status(&e) == Some(404) => false,
        Err(e) => return Err(aws_err(format!("read the encryption of {bucket}"), &e)),
    };
    if !encrypted {
        out.push("default encryption is not SSE-S3".to_string());
    }
    let enforced = match stack
        .s3
        .get_bucket_ownership_controls()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(o) => o.ownership_controls().is_some_and(|c| {
            c.rules()
                .iter()
                .any(|r| r.object_ownership() == &ObjectOwnership::BucketOwnerEnforced)
        }),
        Err(e) if status(&e) == Some(404) => false,
        Err(e) => {
            return Err(aws_err(
                format!("read the ownership controls of {bucket}"),
                &e,
            ));
        }
    };
    if !enforced {
        out.push("object ownership is not bucket-owner-enforced".to_string());
    }
    Ok(out)
}

pub(crate) async fn create(stack: &Stack<'_>, bucket: &str) -> Result<(), InfraError> {
    let region = stack.aws.region();
    let mut request = stack
        .s3
        .create_bucket()
        .bucket(bucket)
        .object_ownership(ObjectOwnership::BucketOwnerEnforced);
    // us-east-1 is the one region that refuses an explicit location constraint.
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    request
        .send()
        .await
        .map_err(|e| aws_err(format!("create bucket {bucket}"), &e))?;
    // Tags first: from here on the bucket is provably ours, even if a later call fails.
    let tagging = Tagging::builder()
        .set_tag_set(Some(
            stack
                .names
                .tags()
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| InfraError::Other(e.to_string()))?,
        ))
        .build()
        .map_err(|e| InfraError::Other(e.to_string()))?;
    stack
        .s3
        .put_bucket_tagging()
        .bucket(bucket)
        .tagging(tagging)
        .send()
        .await
        .map_err(|e| aws_err(format!("tag bucket {bucket}"), &e))?;
    Ok(())
}

/// Puts the public-access block, SSE-S3 and owner-enforced ownership (idempotent).
pub(crate) async fn secure(stack: &Stack<'_>, bucket: &str) -> Result<(), InfraError> {
    stack
        .s3
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_err(format!("block public access to {bucket}"), &e))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .map_err(|e| InfraError::Other(e.to_string()))?,
        )
        .build();
    stack
        .s3
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(|e| InfraError::Other(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| aws_err(format!("set default encryption on {bucket}"), &e))?;
    stack
        .s3
        .put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(
            OwnershipControls::builder()
                .rules(
                    OwnershipControlsRule::builder()
                        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                        .build()
                        .map_err(|e| InfraError::Other(e.to_string()))?,
                )
                .build()
                .map_err(|e| InfraError::Other(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| aws_err(format!("enforce bucket-owner ownership on {bucket}"), &e))?;
    Ok(())
}

/// The bucket policy: TLS only; the distribution may read objects (and list, so a missing
/// key is a 404 rather than a 403 the visitor cannot make sense of). The function never
/// forwards a bare `/`, so no visitor can reach a listing.
pub fn policy_document(bucket: &str, distribution_arn: &str) -> serde_json::Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}
            },
            {
                "Sid": "AllowCloudFrontRead",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:GetObject",
                "Resource": format!("arn:aws:s3:::{bucket}/*"),
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}
            },
            {
                "Sid": "AllowCloudFrontList",
                "Effect": "Allow",
                "Principal": {"Service": "cloudfront.amazonaws.com"},
                "Action": "s3:ListBucket",
                "Resource": format!("arn:aws:s3:::{bucket}"),
                "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}
            }
        ]
    })
}

/// The site bucket as a resource; ownership is its tags.
struct SiteBucket {
    name: String,
}

impl Resource for SiteBucket {
    const NOUN: &'static str = "bucket";
    const PROOF: &'static str = "tags (cloudfront-host:project and cloudfront-host:stack)";
    const NOT_OURS: &'static str = "not tagged as this project's";
    /// A bucket has nothing to read beyond its existence; the rest is read once it proved ours.
    type Actual = ();

    fn kind(&self) -> &'static str {
        RESOURCE
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<()>, InfraError> {
        Ok(exists_named(stack, &self.name).await?.then_some(()))
    }

    async fn owned(&self, stack: &Stack<'_>, _actual: &()) -> Result<bool, InfraError> {
        owned_named(stack, &self.name).await
    }

    fn adopt(&self, stack: &mut Stack<'_>, _actual: &()) {
        stack.bucket_exists = true;
    }

    async fn differences(
        &self,
        stack: &Stack<'_>,
        _actual: &(),
    ) -> Result<Vec<String>, InfraError> {
        differences(stack, &self.name).await
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        create(stack, &self.name).await?;
        stack.bucket_exists = true;
        secure(stack, &self.name).await
    }

    async fn update(&self, stack: &mut Stack<'_>, _actual: ()) -> Result<(), InfraError> {
        secure(stack, &self.name).await
    }

    fn delete_reason(&self) -> String {
        "every version of every object, then the bucket".to_string()
    }

    /// Empties the bucket (every object version and delete marker, 1,000 per request), then
    /// deletes it.
    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        _actual: (),
    ) -> Result<Option<String>, InfraError> {
        let bucket = &self.name;
        let removed = empty(stack, bucket).await?;
        stack
            .s3
            .delete_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete bucket {bucket}"), &e))?;
        Ok(Some(format!(
            "emptied ({removed} object versions) and deleted"
        )))
    }
}

pub async fn converge(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let bucket = SiteBucket {
        name: stack.names.bucket(),
    };
    resource::converge(stack, mode, &bucket).await
}

/// Deletes the bucket with everything in it; a bucket without the project's tags stays.
pub async fn destroy(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let bucket = SiteBucket {
        name: stack.names.bucket(),
    };
    resource::destroy(stack, mode, &bucket).await
}

/// The bucket policy, part of the bucket this project proved to own in the step before.
struct BucketPolicy {
    bucket: String,
    desired: serde_json::Value,
}

impl Resource for BucketPolicy {
    const NOUN: &'static str = "bucket policy";
    const PROOF: &'static str = "bucket tags";
    type Actual = serde_json::Value;

    fn kind(&self) -> &'static str {
        POLICY
    }

    fn name(&self) -> &str {
        &self.bucket
    }

    fn create_reason(&self) -> String {
        "no bucket policy".to_string()
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<serde_json::Value>, InfraError> {
        let bucket = &self.bucket;
        if !stack.bucket_exists {
            return Ok(None);
        }
        match stack.s3.get_bucket_policy().bucket(bucket).send().await {
            Ok(o) => Ok(o
                .policy()
                .and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(aws_err(format!("read the policy of bucket {bucket}"), &e)),
        }
    }

    async fn owned(
        &self,
        _stack: &Stack<'_>,
        _actual: &serde_json::Value,
    ) -> Result<bool, InfraError> {
        Ok(true)
    }

    async fn differences(
        &self,
        _stack: &Stack<'_>,
        actual: &serde_json::Value,
    ) -> Result<Vec<String>, InfraError> {
        Ok(if *actual == self.desired {
            Vec::new()
        } else {
            vec!["differs from TLS-only, read by this distribution only".to_string()]
        })
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        let bucket = &self.bucket;
        stack
            .s3
            .put_bucket_policy()
            .bucket(bucket)
            .policy(self.desired.to_string())
            .send()
            .await
            .map_err(|e| aws_err(format!("set the policy of bucket {bucket}"), &e))?;
        Ok(())
    }

    async fn update(
        &self,
        stack: &mut Stack<'_>,
        _actual: serde_json::Value,
    ) -> Result<(), InfraError> {
        self.create(stack).await
    }
}

pub async fn converge_policy(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let bucket = stack.names.bucket();
    let Some(distribution_arn) = stack.ids.distribution_arn.clone() else {
        return Ok(Change::new(
            POLICY,
            &bucket,
            Action::Create,
            "grants the new distribution read access",
        ));
    };
    let policy = BucketPolicy {
        desired: policy_document(&bucket, &distribution_arn),
        bucket,
    };
    resource::converge(stack, mode, &policy).await
}

pub(crate) async fn empty(stack: &Stack<'_>, bucket: &str) -> Result<usize, InfraError> {
    let mut removed = 0;
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let page = stack
            .s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|e| aws_err(format!("list the objects of {bucket}"), &e))?;
        let mut ids = Vec::new();
        for v in page.versions() {
            if let Some(key) = v.key() {
                ids.push((key.to_string(), v.version_id().map(str::to_string)));
            }
        }
        for m in page.delete_markers() {
            if let Some(key) = m.key() {
                ids.push((key.to_string(), m.version_id().map(str::to_string)));
            }
        }
        for chunk in ids.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|(key, version)| {
                    ObjectIdentifier::builder()
                        .key(key)
                        .set_version_id(version.clone().filter(|v| v != "null"))
                        .build()
                        .map_err(|e| InfraError::Other(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = stack
                .s3
                .delete_objects()
                .bucket(bucket)
                .delete(
                    Delete::builder()
                        .set_objects(Some(objects))
                        .quiet(true)
                        .build()
                        .map_err(|e| InfraError::Other(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| aws_err(format!("delete objects from {bucket}"), &e))?;
            if let Some(err) = out.errors().first() {
                return Err(InfraError::Other(format!(
                    "could not delete s3://{bucket}/{}: {}",
                    err.key().unwrap_or_default(),
                    err.message().unwrap_or_default()
                )));
            }
            removed += chunk.len();
        }
        if page.is_truncated() == Some(true) {
            key_marker = page.next_key_marker().map(str::to_string);
            version_marker = page.next_version_id_marker().map(str::to_string);
        } else {
            return Ok(removed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_denies_plain_http_and_names_the_distribution() {
        let doc = policy_document("b", "arn:aws:cloudfront::1:distribution/E1");
        let statements = doc["Statement"].as_array().unwrap();
        assert_eq!(statements[0]["Effect"], "Deny");
        assert_eq!(
            statements[0]["Condition"]["Bool"]["aws:SecureTransport"],
            "false"
        );
        for s in &statements[1..] {
            assert_eq!(s["Principal"]["Service"], "cloudfront.amazonaws.com");
            assert_eq!(
                s["Condition"]["StringEquals"]["AWS:SourceArn"],
                "arn:aws:cloudfront::1:distribution/E1"
            );
        }
        assert!(
            !doc.to_string().contains("s3:PutObject"),
            "the distribution only reads"
        );
    }
}
