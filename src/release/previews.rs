//! Previews: more KeyValueStore keys (`preview:<slug>` → version) next to `live`. A preview
//! never touches `live`; `promote` flips `live` to a preview's version without rebuilding.
//!
//! The KVS value is a pointer value exactly like `live`'s (the version id, and where its
//! shards are: `shards.rs`), so the edge function reads it with the same cheap string lookup
//! and no JSON parsing per request. What only the CLI needs
//! (created, expires, branch, commit) lives in a small S3 object,
//! `_cloudfront-host/previews/<slug>.json`, which the distribution never serves. The KVS key
//! is what makes a preview exist: metadata is written before the key and removed after it, so
//! a key always has its metadata unless someone removed it by hand (such a preview never
//! expires by itself; `previews delete` removes it).

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudfrontkeyvaluestore::Client;
use serde::{Deserialize, Serialize};

use super::manifest::STATE_PREFIX;
use super::pointer::{KeyWrite, read_key, write_key};
use super::{Release, ReleaseError};

pub use super::pointer::list_keys;

pub const KEY_PREFIX: &str = "preview:";
pub const METADATA_PREFIX: &str = "_cloudfront-host/previews/";
/// The KVS key of the salted password hash the function checks (`access.* = "password"`).
pub const PASSWORD_KEY: &str = "password";
/// A DNS label is at most 63 characters; 40 leaves room for prefixes in other names.
pub const MAX_SLUG: usize = 40;
/// `/_preview/off` clears the preview cookie, so no preview may be called that.
pub const RESERVED: &str = "off";

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error(
        "preview name {name:?} cannot be used: {reason}. Preview names become DNS labels: lower-case letters, digits and '-', at most {MAX_SLUG} characters; pass another with --preview NAME"
    )]
    BadName { name: String, reason: String },
    #[error("there is no preview named {0}; see `cargo cloudfront-host previews`")]
    NoSuchPreview(String),
    #[error(
        "no preview name: --preview was given without NAME, and neither a GitHub pull request nor a git branch names one here"
    )]
    NoDefaultName,
}

/// The DNS-label form of a preview name: lower case, every run of other characters a single
/// `-`, no `-` at either end. `feature/Login` becomes `feature-login`.
pub fn slug(name: &str) -> Result<String, PreviewError> {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    let bad = |reason: &str| PreviewError::BadName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if out.is_empty() {
        return Err(bad("it has no letters or digits"));
    }
    if out.len() > MAX_SLUG {
        return Err(bad(&format!(
            "as a DNS label ({out}) it is {} characters long",
            out.len()
        )));
    }
    if out == RESERVED {
        return Err(bad(
            "`off` is reserved (/_preview/off clears the preview cookie)",
        ));
    }
    Ok(out)
}

/// The preview name when `--preview` is given without one: on a GitHub Actions pull request
/// `pr-<number>`, else the branch (GitHub's, else the checked-out one).
pub fn default_name(
    env: &dyn Fn(&str) -> Option<String>,
    git_branch: Option<&str>,
) -> Result<String, PreviewError> {
    let event = env("GITHUB_EVENT_NAME").unwrap_or_default();
    if event == "pull_request" || event == "pull_request_target" {
        if let Some(n) = env("GITHUB_REF").as_deref().and_then(pull_number_from_ref) {
            return Ok(format!("pr-{n}"));
        }
        if let Some(n) = env("GITHUB_EVENT_PATH").and_then(|p| pull_number_from_event(&p)) {
            return Ok(format!("pr-{n}"));
        }
    }
    let branch = env("GITHUB_HEAD_REF")
        .filter(|b| !b.is_empty())
        .or_else(|| {
            env("GITHUB_REF")
                .and_then(|r| r.strip_prefix("refs/heads/").map(String::from))
                .filter(|b| !b.is_empty())
        })
        .or_else(|| git_branch.map(String::from));
    branch.ok_or(PreviewError::NoDefaultName)
}

/// `refs/pull/<n>/merge` (or `/head`) → n.
fn pull_number_from_ref(r: &str) -> Option<u64> {
    let rest = r.strip_prefix("refs/pull/")?;
    rest.split('/').next()?.parse().ok()
}

/// The pull request number from the event payload GitHub writes for the job.
fn pull_number_from_event(path: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let event: serde_json::Value = serde_json::from_str(&text).ok()?;
    event["pull_request"]["number"]
        .as_u64()
        .or_else(|| event["number"].as_u64())
}

/// The KVS value of the password: `<salt>:<sha256 hex of "<salt>:<hex of the password's
/// UTF-8 bytes>">`. Hex keeps the hashed text ASCII, so every JavaScript engine hashes the
/// same bytes the function got from the Authorization header.
pub fn password_record(salt: &str, password: &str) -> String {
    use sha2::Digest as _;
    let input = format!("{salt}:{}", hex::encode(password.as_bytes()));
    format!(
        "{salt}:{}",
        hex::encode(sha2::Sha256::digest(input.as_bytes()))
    )
}

/// True when `record` is the record of `password` (under its own salt).
pub fn password_matches(record: &str, password: &str) -> bool {
    record
        .split_once(':')
        .is_some_and(|(salt, _)| password_record(salt, password) == record)
}

/// A fresh salt: only needs to differ between sites and rotations, not to be secret.
pub fn new_salt() -> String {
    use sha2::Digest as _;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    let mut h = sha2::Sha256::new();
    h.update(now.as_nanos().to_le_bytes());
    h.update(std::process::id().to_le_bytes());
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    h.update(
        CALLS
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_le_bytes(),
    );
    hex::encode(&h.finalize()[..8])
}

/// In GitHub Actions: the URL as the step output `url` (`$GITHUB_OUTPUT`) and a line in the
/// job summary (`$GITHUB_STEP_SUMMARY`). Elsewhere nothing.
pub fn github_outputs(
    env: &dyn Fn(&str) -> Option<String>,
    slug: &str,
    version: &str,
    url: &str,
    expires: &str,
) -> std::io::Result<()> {
    use std::io::Write as _;
    if env("GITHUB_ACTIONS").as_deref() != Some("true") {
        return Ok(());
    }
    let append = |path: String, text: String| -> std::io::Result<()> {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?
            .write_all(text.as_bytes())
    };
    if let Some(path) = env("GITHUB_OUTPUT") {
        append(path, format!("url={url}\nname={slug}\nversion={version}\n"))?;
    }
    if let Some(path) = env("GITHUB_STEP_SUMMARY") {
        append(
            path,
            format!("### Preview `{slug}`\n\n{url}\n\nVersion `{version}`, expires {expires}.\n\n"),
        )?;
    }
    Ok(())
}

/// The stored password record, if any.
pub async fn stored_password(client: &Client, arn: &str) -> Result<Option<String>, ReleaseError> {
    read_key(client, arn, PASSWORD_KEY).await
}

/// Stores `password` (salted and hashed) unless the stored record already matches it: a
/// rotation is this one write. Returns whether it wrote.
pub async fn store_password(
    client: &Client,
    arn: &str,
    password: &str,
) -> Result<bool, ReleaseError> {
    if stored_password(client, arn)
        .await?
        .is_some_and(|r| password_matches(&r, password))
    {
        return Ok(false);
    }
    let record = password_record(&new_salt(), password);
    write_key(client, arn, KeyWrite::Put(PASSWORD_KEY, &record)).await?;
    Ok(true)
}

pub fn metadata_key(slug: &str) -> String {
    format!("{METADATA_PREFIX}{slug}.json")
}

/// What the CLI keeps about a preview (S3, never read by the edge).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    pub format: u32,
    pub name: String,
    pub version: String,
    /// RFC 3339, UTC: when this preview was last published.
    pub created: String,
    /// RFC 3339, UTC.
    pub expires: String,
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub commit: Option<String>,
}

impl Metadata {
    pub fn is_expired(&self, now: SystemTime) -> bool {
        humantime::parse_rfc3339(&self.expires).is_ok_and(|t| t <= now)
    }
}

/// A preview as `previews` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub name: String,
    pub version: String,
    pub created: Option<String>,
    pub expires: Option<String>,
    pub expired: bool,
    pub url: String,
}

/// Where a preview is reached: `https://<slug>.<previews.domain>/`, else `/_preview/<slug>` on
/// the site's own name (its custom domain, else the distribution's CloudFront name).
pub fn url(slug: &str, preview_domain: Option<&str>, site_host: Option<&str>) -> String {
    match (preview_domain, site_host) {
        (Some(domain), _) => format!("https://{slug}.{domain}/"),
        (None, Some(host)) => format!("https://{host}/_preview/{slug}"),
        (None, None) => format!("/_preview/{slug}"),
    }
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

impl Release {
    /// Points the preview `slug` at `version` (which must have a manifest) and records when
    /// it expires. `live` is never touched.
    pub async fn set_preview(
        &self,
        slug: &str,
        version: &str,
        expire_after: Duration,
        git: &super::manifest::GitInfo,
    ) -> Result<Metadata, ReleaseError> {
        let Some(manifest) = self.manifest(version).await? else {
            return Err(ReleaseError::NoSuchVersion(version.to_string()));
        };
        let value =
            super::shards::pointer_value(&manifest).map_err(ReleaseError::InvalidVersion)?;
        let now = SystemTime::now();
        let metadata = Metadata {
            format: 1,
            name: slug.to_string(),
            version: version.to_string(),
            created: rfc3339(now),
            expires: rfc3339(now + expire_after),
            branch: git.branch.clone(),
            commit: git.commit.clone(),
        };
        self.put_json(&metadata_key(slug), &metadata).await?;
        write_key(
            self.pointer.client(),
            self.pointer.arn(),
            KeyWrite::Put(&format!("{KEY_PREFIX}{slug}"), &value),
        )
        .await?;
        Ok(metadata)
    }

    /// The version the preview `slug` names.
    pub async fn preview_version(&self, slug: &str) -> Result<String, ReleaseError> {
        let key = format!("{KEY_PREFIX}{slug}");
        self.pointer.read_key(&key).await?.ok_or_else(|| {
            ReleaseError::InvalidVersion(PreviewError::NoSuchPreview(slug.to_string()).to_string())
        })
    }

    /// Every preview, by name, with its metadata where there is some.
    pub async fn previews(
        &self,
        preview_domain: Option<&str>,
        site_host: Option<&str>,
    ) -> Result<Vec<(Preview, Option<Metadata>)>, ReleaseError> {
        let keys = list_keys(self.pointer.client(), self.pointer.arn()).await?;
        let now = SystemTime::now();
        let mut out = Vec::new();
        for (key, value) in keys {
            let Some(slug) = key.strip_prefix(KEY_PREFIX) else {
                continue;
            };
            let version = super::shards::version_of(&value).to_string();
            let metadata: Option<Metadata> = self.get_json(&metadata_key(slug)).await?;
            out.push((
                Preview {
                    name: slug.to_string(),
                    version,
                    created: metadata.as_ref().map(|m| m.created.clone()),
                    expires: metadata.as_ref().map(|m| m.expires.clone()),
                    expired: metadata.as_ref().is_some_and(|m| m.is_expired(now)),
                    url: url(slug, preview_domain, site_host),
                },
                metadata,
            ));
        }
        Ok(out)
    }

    /// Removes the preview `slug`: the key first (from then on nobody reaches it), then its
    /// metadata. Its version stays until retention removes it.
    pub async fn delete_preview(&self, slug: &str) -> Result<bool, ReleaseError> {
        let key = format!("{KEY_PREFIX}{slug}");
        let keys = list_keys(self.pointer.client(), self.pointer.arn()).await?;
        let existed = keys.contains_key(&key);
        if existed {
            write_key(
                self.pointer.client(),
                self.pointer.arn(),
                KeyWrite::Delete(&key),
            )
            .await?;
        }
        let meta = metadata_key(slug);
        let had_metadata = self.get_json::<Metadata>(&meta).await?.is_some();
        if had_metadata {
            self.delete_keys(vec![meta]).await?;
        }
        Ok(existed || had_metadata)
    }

    /// Removes every expired preview; returns their names.
    pub async fn prune_previews(&self) -> Result<Vec<String>, ReleaseError> {
        let mut removed = Vec::new();
        for (p, _) in self.previews(None, None).await? {
            if p.expired {
                self.delete_preview(&p.name).await?;
                removed.push(p.name);
            }
        }
        Ok(removed)
    }

    /// Retention's question: removes expired previews, then returns the versions the others
    /// name (those must stay, whatever `retention.keep` says).
    pub async fn versions_kept_by_previews(&self) -> Result<HashSet<String>, ReleaseError> {
        // Retention runs after the flip: a preview that cannot be removed now (a role without
        // DeleteKey, say) keeps its version one more round instead of failing a publish that
        // already went live. `previews prune` reports the same error in full.
        let mut kept = HashSet::new();
        for (p, _) in self.previews(None, None).await? {
            if p.expired && self.delete_preview(&p.name).await.is_ok() {
                continue;
            }
            kept.insert(p.version);
        }
        Ok(kept)
    }

    /// `previews.domain` and the site's own host name, as preview URLs use them: the custom
    /// domain when there is one, else the distribution's CloudFront name.
    pub async fn preview_hosts(
        &self,
        settings: &crate::settings::Settings,
    ) -> (Option<String>, Option<String>) {
        let preview_domain =
            crate::edge::function::EdgeOptions::from_settings(settings).preview_domain;
        if preview_domain.is_some() {
            return (preview_domain, None);
        }
        let site = match &settings.domain {
            Some(d) => Some(
                idna::domain_to_ascii(d.name.trim_end_matches('.'))
                    .unwrap_or_else(|_| d.name.to_ascii_lowercase()),
            ),
            None => self.recorded_distribution_domain().await,
        };
        (None, site)
    }

    /// The site's own host name for cookie-based preview URLs: the distribution's CloudFront
    /// name as `deploy` recorded it (a hint; `None` when there is no record).
    pub async fn recorded_distribution_domain(&self) -> Option<String> {
        let state: Option<serde_json::Value> = self
            .get_json(&format!("{STATE_PREFIX}stack.json"))
            .await
            .ok()
            .flatten();
        state?["resources"]["distribution_domain"]
            .as_str()
            .map(String::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_dns_labels_or_clear_errors() {
        assert_eq!(slug("main").unwrap(), "main");
        assert_eq!(slug("Feature/Login_Page").unwrap(), "feature-login-page");
        assert_eq!(slug("--x--").unwrap(), "x");
        let long = "b".repeat(41);
        let err = slug(&long).unwrap_err().to_string();
        assert!(
            err.contains("41 characters") && err.contains("--preview NAME"),
            "{err}"
        );
        assert!(slug("off").unwrap_err().to_string().contains("reserved"));
        assert!(slug("///").is_err());
        assert_eq!(slug(&"c".repeat(40)).unwrap().len(), 40);
    }

    #[test]
    fn the_default_name_is_the_pull_request_or_the_branch() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(name, _)| *name == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let pr = env(&[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_REF", "refs/pull/42/merge"),
            ("GITHUB_HEAD_REF", "feature/x"),
        ]);
        assert_eq!(default_name(&pr, Some("main")).unwrap(), "pr-42");
        let dir = tempfile::tempdir().unwrap();
        let payload = dir.path().join("event.json");
        std::fs::write(&payload, r#"{"number": 7, "pull_request": {"number": 7}}"#).unwrap();
        let path = payload.to_string_lossy().into_owned();
        let from_payload = move |k: &str| match k {
            "GITHUB_EVENT_NAME" => Some("pull_request".to_string()),
            "GITHUB_EVENT_PATH" => Some(path.clone()),
            _ => None,
        };
        assert_eq!(default_name(&from_payload, None).unwrap(), "pr-7");
        let push = env(&[
            ("GITHUB_EVENT_NAME", "push"),
            ("GITHUB_REF", "refs/heads/feature/y"),
        ]);
        assert_eq!(default_name(&push, Some("main")).unwrap(), "feature/y");
        let none = env(&[]);
        assert_eq!(default_name(&none, Some("dev")).unwrap(), "dev");
        assert!(default_name(&none, None).is_err());
    }

    #[test]
    fn password_records_check_and_differ_by_salt() {
        let r = password_record("abc", "secret");
        assert!(password_matches(&r, "secret"));
        assert!(!password_matches(&r, "secreT"));
        assert!(!r.contains("secret"));
        assert_ne!(new_salt(), "");
        let other = password_record(&new_salt(), "secret");
        assert_ne!(r, other);
        assert!(password_matches(&other, "secret"));
    }

    #[test]
    fn urls_prefer_the_preview_domain() {
        assert_eq!(
            url(
                "pr-1",
                Some("preview.example.com"),
                Some("d1.cloudfront.net")
            ),
            "https://pr-1.preview.example.com/"
        );
        assert_eq!(
            url("pr-1", None, Some("d1.cloudfront.net")),
            "https://d1.cloudfront.net/_preview/pr-1"
        );
    }

    #[test]
    fn expiry_compares_times() {
        let m = Metadata {
            format: 1,
            name: "a".into(),
            version: "v".into(),
            created: "2026-01-01T00:00:00Z".into(),
            expires: "2026-01-08T00:00:00Z".into(),
            branch: None,
            commit: None,
        };
        let at = |s: &str| humantime::parse_rfc3339(s).unwrap();
        assert!(!m.is_expired(at("2026-01-07T23:59:59Z")));
        assert!(m.is_expired(at("2026-01-08T00:00:00Z")));
    }
}
