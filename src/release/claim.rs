//! Claiming a version id before anything is uploaded under it.
//!
//! A version is write-once. Its claim (`_cloudfront-host/claims/<version>.json`) is created with
//! S3's conditional write (`If-None-Match: *`): of two publishes of one id, exactly one creates
//! it, and S3 answers the other 412 PreconditionFailed. The loser reads the claim: with the same
//! fingerprint (the same files) it carries on and finishes the first one's work; with another
//! it stops before writing anything. The claim also lists every shared `_immutable/` object the
//! publish will reference, and the live version whose unchanged shards it keeps (its base), so
//! retention never deletes what a publish in flight relies on.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::manifest::{CLAIM_PREFIX, object_key};
use super::objects::{PutOnce, to_json};
use super::scan::{Encoding, Site};
use super::{Release, ReleaseError};
use crate::aws::AwsError;

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
    /// The live version when the publish started: the version keeps its unchanged shards
    /// where that one has them, so retention keeps it while the claim is young.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
}

impl Claim {
    pub fn for_site(site: &Site, version: &str, base: Option<&str>) -> Self {
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
            base: base.map(String::from),
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
        let body = to_json(&key, claim)?;
        let what = format!("claim version {} ({key})", claim.version);
        match self.put_once(&key, body, None, &what).await? {
            PutOnce::Written => Ok(Claimed::New),
            PutOnce::Exists => match self.read_claim(&claim.version).await? {
                Some(existing) if existing.fingerprint == claim.fingerprint => {
                    // This run builds on what is live now, which may not be what the earlier
                    // run built on: retention must keep this run's base.
                    if existing.base != claim.base {
                        self.put_json(&key, claim).await?;
                    }
                    Ok(Claimed::SameFiles)
                }
                Some(existing) => Err(ReleaseError::VersionClaimed {
                    version: claim.version.clone(),
                    since: existing.created,
                }),
                None => Err(ReleaseError::Aws(AwsError::plain(
                    format!("could not claim version {}", claim.version),
                    "S3 reported the claim exists, but it could not be read back",
                ))),
            },
        }
    }

    pub async fn read_claim(&self, version: &str) -> Result<Option<Claim>, ReleaseError> {
        self.get_json(&claim_key(version)).await
    }
}
