//! Claiming a version id before anything is uploaded under it.
//!
//! A version is write-once. Its claim (`_cloudfront-host/claims/<version>.json`) is created with
//! S3's conditional write (`If-None-Match: *`): of two publishes of one id, exactly one creates
//! it, and S3 answers the other 412 PreconditionFailed. The loser reads the claim: with the same
//! fingerprint (the same files) it carries on and finishes the first one's work; with another
//! it stops before writing anything. The claim also lists every shared `_immutable/` object the
//! publish will reference, so retention never deletes what a publish in flight relies on.

use std::collections::BTreeSet;

use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::manifest::{CLAIM_PREFIX, object_key};
use super::scan::{Encoding, Site};
use super::upload::Counters;
use super::{Release, ReleaseError};
use crate::aws::describe;

pub fn claim_key(version: &str) -> String {
    format!("{CLAIM_PREFIX}{version}.json")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub version: String,
    /// SHA-256 over every file's path, object key, content hash and siblings.
    pub fingerprint: String,
    /// RFC 3339, UTC.
    pub created: String,
    /// The `_immutable/` keys this version serves (siblings included).
    pub references: BTreeSet<String>,
}

impl Claim {
    pub fn for_site(site: &Site, version: &str) -> Self {
        let mut sha = Sha256::new();
        let mut references = BTreeSet::new();
        for f in &site.files {
            let key = object_key(version, &f.path, f.hashed);
            sha.update(format!(
                "{}\t{key}\t{}\t{}\t{}\t{}\n",
                f.path, f.digests.sha256, f.content_type, f.cache_control, f.precompress
            ));
            for (enc, (_, d)) in &f.prebuilt {
                sha.update(format!("\t{}\t{}\n", enc.header(), d.sha256));
            }
            if f.hashed {
                references.insert(key.clone());
                if f.precompress {
                    for enc in [Encoding::Br, Encoding::Gzip] {
                        references.insert(format!("{key}{}", enc.suffix()));
                    }
                }
            }
        }
        Claim {
            version: version.to_string(),
            fingerprint: hex::encode(sha.finalize()),
            created: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            references,
        }
    }
}

/// What claiming found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claimed {
    /// This publish created the claim.
    New,
    /// An earlier (or concurrent) publish of the same files holds it: finish its work.
    SameFiles,
}

impl Release {
    /// Creates the claim, or accepts an existing one for the same files; another publish's
    /// claim with other files is [`ReleaseError::VersionClaimed`].
    pub async fn claim(&self, claim: &Claim) -> Result<Claimed, ReleaseError> {
        let key = claim_key(&claim.version);
        let body = serde_json::to_vec_pretty(claim).map_err(|e| ReleaseError::Aws {
            action: "serialize the claim".into(),
            message: e.to_string(),
        })?;
        let mut attempt = 0;
        let put = loop {
            Counters::add(&self.counters.put, 1);
            let put = self
                .s3
                .put_object()
                .bucket(&self.target.bucket)
                .key(&key)
                .if_none_match("*")
                .content_type("application/json")
                .body(ByteStream::from(body.clone()))
                .send()
                .await;
            // 409: another conditional write of this key was in progress; S3 says to retry.
            match put {
                Err(e) if is_conditional_conflict(&e) && attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
                }
                other => break other,
            }
        };
        match put {
            Ok(_) => Ok(Claimed::New),
            // 412: the key exists. (Also what the SDK's retry of a write whose first response
            // was lost meets: reading the claim back tells the two apart.)
            Err(e) if is_precondition_failed(&e) => match self.read_claim(&claim.version).await? {
                Some(existing) if existing.fingerprint == claim.fingerprint => {
                    Ok(Claimed::SameFiles)
                }
                Some(existing) => Err(ReleaseError::VersionClaimed {
                    version: claim.version.clone(),
                    since: existing.created,
                }),
                None => Err(ReleaseError::Aws {
                    action: format!("claim version {}", claim.version),
                    message: "S3 reported the claim exists, but it could not be read back".into(),
                }),
            },
            Err(e) => Err(ReleaseError::Aws {
                action: format!("claim version {} ({key})", claim.version),
                message: describe(&e),
            }),
        }
    }

    pub async fn read_claim(&self, version: &str) -> Result<Option<Claim>, ReleaseError> {
        let key = claim_key(version);
        Ok(match self.get_bytes(&key).await? {
            Some(bytes) => serde_json::from_slice(&bytes).ok(),
            None => None,
        })
    }

    /// The body of `key`, or `None` when there is no such object. The SDK retries a request
    /// that fails; a body cut off mid-way (the answer was already under way) is asked for
    /// again here.
    pub async fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>, ReleaseError> {
        let mut attempt = 0;
        loop {
            Counters::add(&self.counters.get, 1);
            let out = match self
                .s3
                .get_object()
                .bucket(&self.target.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                    return Ok(None);
                }
                Err(e) => {
                    return Err(ReleaseError::Aws {
                        action: format!("read {key}"),
                        message: describe(&e),
                    });
                }
            };
            match out.body.collect().await {
                Ok(bytes) => return Ok(Some(bytes.into_bytes().to_vec())),
                Err(_) if attempt < 2 => attempt += 1,
                Err(e) => {
                    return Err(ReleaseError::Aws {
                        action: format!("read {key}"),
                        message: e.to_string(),
                    });
                }
            }
        }
    }
}

/// S3's answer to a conditional write whose condition failed: HTTP 412 `PreconditionFailed`.
pub fn is_precondition_failed<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    match e {
        aws_sdk_s3::error::SdkError::ServiceError(s) => {
            s.err().code() == Some("PreconditionFailed")
        }
        _ => false,
    }
}

/// S3's answer when a conflicting write of the same key was under way (HTTP 409
/// `ConditionalRequestConflict`): retry the request.
pub fn is_conditional_conflict<E, R>(e: &aws_sdk_s3::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_s3::error::ProvideErrorMetadata,
{
    match e {
        aws_sdk_s3::error::SdkError::ServiceError(s) => {
            s.err().code() == Some("ConditionalRequestConflict")
        }
        _ => false,
    }
}
