//! A version's manifest: what was published, written only after every object is in place. Only
//! a version with a manifest can go live.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::scan::Encoding;

pub const STATE_PREFIX: &str = "_cloudfront-host/";
pub const MANIFEST_PREFIX: &str = "_cloudfront-host/versions/";
/// Where a publish claims its version id before it uploads anything (see `claim.rs`).
pub const CLAIM_PREFIX: &str = "_cloudfront-host/claims/";
pub const IMMUTABLE_PREFIX: &str = "_immutable/";

pub fn manifest_key(version: &str) -> String {
    format!("{MANIFEST_PREFIX}{version}.json")
}

/// Where a site file lives in the bucket: hashed names once, in the shared immutable area;
/// everything else in the version's own folder.
pub fn object_key(version: &str, path: &str, hashed: bool) -> String {
    if hashed {
        format!("{IMMUTABLE_PREFIX}{path}")
    } else {
        format!("{version}/{path}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variant {
    pub key: String,
    pub size: u64,
    pub sha256: String,
    /// MD5 in hex: the ETag S3 lists for a single-part object, so a listing alone can check
    /// the bucket against the manifest. Absent in manifests of earlier releases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub key: String,
    pub size: u64,
    pub sha256: String,
    /// See [`Variant::md5`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    pub content_type: String,
    pub cache_control: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub encodings: BTreeMap<Encoding, Variant>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitInfo {
    pub commit: Option<String>,
    pub branch: Option<String>,
    pub dirty: bool,
    pub repository: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub version: String,
    /// RFC 3339, UTC.
    pub created: String,
    pub tool_version: String,
    pub git: GitInfo,
    /// How many shards the version's un-hashed paths fall into (see `shards.rs`); 0 (absent,
    /// in manifests of earlier releases) means every file is in the version's own folder.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shards: u32,
    pub files: Vec<FileEntry>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Manifest {
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    pub fn file(&self, path: &str) -> Option<&FileEntry> {
        self.files
            .binary_search_by(|f| f.path.as_str().cmp(path))
            .ok()
            .map(|i| &self.files[i])
    }

    /// Every object key the version serves, siblings included.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.files.iter().flat_map(|f| {
            std::iter::once(f.key.as_str()).chain(f.encodings.values().map(|v| v.key.as_str()))
        })
    }

    /// Every key, sorted as S3 lists them (UTF-8 byte order): the hints of ranged listings.
    pub fn sorted_keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.keys().collect();
        keys.sort_unstable();
        keys
    }

    /// Two manifests publish the same site when their files are equal; times and git facts
    /// do not matter.
    pub fn same_content(&self, other: &Manifest) -> bool {
        self.files == other.files
    }

    /// Two manifests of one version describe the same files: paths, keys and hashes (siblings
    /// included); md5s, times and git facts aside.
    pub fn same_files(&self, other: &Manifest) -> bool {
        self.files.len() == other.files.len()
            && self.files.iter().zip(&other.files).all(|(x, y)| {
                x.path == y.path
                    && x.key == y.key
                    && x.sha256 == y.sha256
                    && x.encodings.len() == y.encodings.len()
                    && x.encodings
                        .iter()
                        .zip(&y.encodings)
                        .all(|((e1, v1), (e2, v2))| {
                            e1 == e2 && v1.key == v2.key && v1.sha256 == v2.sha256
                        })
            })
    }

    pub fn created_time(&self) -> Option<std::time::SystemTime> {
        humantime::parse_rfc3339(&self.created).ok()
    }
}

/// Names a version id may not take: they would shadow the site's own files at the bucket root
/// or the tool's state, or collide with the version `deploy` publishes before anything else.
pub const RESERVED_VERSION_IDS: &[&str] = &[
    "404.html",
    "index.html",
    "_immutable",
    "_cloudfront-host",
    "placeholder",
];

/// A version id is a folder name in the bucket and a KVS value: keep it short and plain, and
/// never let it look like a file (`404.html` as a folder sits next to the root error page).
pub fn validate_version_id(id: &str) -> Result<(), String> {
    let plain = !id.is_empty()
        && id.len() <= 64
        && !id.starts_with(['_', '.', '-'])
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !plain {
        return Err(format!(
            "`{id}` is not a valid version id: use 1 to 64 letters, digits, `.`, `_` or `-`, not starting with `_`, `.` or `-`"
        ));
    }
    // `1.2.3` is a version; `app.js` or `release.html` looks like a file.
    if let Some((_, ext)) = id.rsplit_once('.')
        && ext.bytes().any(|b| b.is_ascii_alphabetic())
    {
        return Err(format!(
            "`{id}` looks like a file name (`.{ext}`); a version id ending in a dot-extension is refused so it cannot be mistaken for a file at the bucket root"
        ));
    }
    Ok(())
}

/// [`validate_version_id`], and none of the [`RESERVED_VERSION_IDS`]: for ids a user gives.
pub fn validate_user_version_id(id: &str) -> Result<(), String> {
    validate_version_id(id)?;
    if RESERVED_VERSION_IDS
        .iter()
        .any(|r| r.eq_ignore_ascii_case(id))
    {
        return Err(format!(
            "`{id}` is reserved and cannot be a version id (reserved: {})",
            RESERVED_VERSION_IDS.join(", ")
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_ids() {
        assert_eq!(object_key("abc", "index.html", false), "abc/index.html");
        assert_eq!(
            object_key("abc", "app-0123456789abcdef.js", true),
            "_immutable/app-0123456789abcdef.js"
        );
        assert!(validate_version_id("1a2b3c4d5e6f").is_ok());
        assert!(validate_version_id("1a2b3c-dirty-20261123T101010").is_ok());
        assert!(validate_version_id("1.2.3").is_ok());
        assert!(validate_version_id("v2.0.0-rc.1").is_ok());
        for bad in [
            "",
            "_immutable",
            "_cloudfront-host",
            "a/b",
            "../x",
            &"x".repeat(65),
            "-x",
            "404.html",
            "index.html",
            "app.js",
            "notes.v2",
        ] {
            assert!(validate_version_id(bad).is_err(), "{bad}");
        }
        assert!(validate_version_id("placeholder").is_ok(), "deploy's own");
        assert!(validate_user_version_id("placeholder").is_err());
        assert!(validate_user_version_id("Placeholder").is_err());
        assert!(validate_user_version_id("1a2b3c4d5e6f").is_ok());
    }
}
