//! Retention: after a switch, remove versions beyond `retention.keep` that are also older than
//! `retention.grace`, never the live or the previous one; the folders of publishes that never
//! finished (no manifest) once their newest object is older than the grace period; and the
//! shared immutable objects that nothing references. Deletion is batched (1,000 keys a request)
//! and listings are paginated.
//!
//! What a publish in flight relies on is protected three ways: its claim (written before it
//! lists the bucket) names every shared object it will reference, and the references are read
//! *after* the listing that finds deletion candidates; only objects older than the grace period
//! go; and the publish checks the bucket against its manifest after writing it, sending again
//! whatever a retention that decided earlier removed.
//!
//! Its reads run while the new version is staged ([`Snapshot`]), so a publish pays for them
//! only when they take longer than the uploads; an unfinished folder in that snapshot is asked
//! for its manifest again before it goes (the publish may have finished since).

use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

use serde::Serialize;

use super::claim::{Claim, claim_key};
use super::manifest::{CLAIM_PREFIX, IMMUTABLE_PREFIX, Manifest, STATE_PREFIX, manifest_key};
use super::{Listed, Release, ReleaseError};
use crate::settings::RetentionSettings;

#[derive(Debug, Clone, Default, Serialize)]
pub struct RetentionReport {
    pub kept: Vec<String>,
    pub deleted_versions: Vec<String>,
    /// Folders of publishes that never wrote a manifest, removed after the grace period.
    pub abandoned: Vec<String>,
    pub deleted_objects: u64,
}

/// What retention decides from. It may be read while the new version is staged: a snapshot
/// older than the flip only ever keeps more (what it has not seen, it does not delete), and
/// what a deletion relies on is read again when it happens (the claims, each unfinished
/// folder's objects and manifest).
pub struct Snapshot {
    /// Newest first.
    versions: Vec<Manifest>,
    previewed: HashSet<String>,
    claims: HashMap<String, Listed>,
    /// The claims without a manifest (publishes in flight), for their bases.
    in_flight: Vec<Claim>,
    folders: HashSet<String>,
    immutable: HashMap<String, Listed>,
}

impl Snapshot {
    /// Independent reads, side by side. The immutable listing gives the candidates for the
    /// last step: only the claims must be read after it (see `in_flight_claims`).
    pub async fn read(release: &Release) -> Result<Self, ReleaseError> {
        let (versions, previewed, claims, folders, immutable) = futures::try_join!(
            release.versions(), // newest first
            release.versions_kept_by_previews(),
            release.list(CLAIM_PREFIX),
            release.top_level_folders(),
            release.list(IMMUTABLE_PREFIX),
        )?;
        // A publish that claims after this reads `live` before it claims: what it builds on
        // is then this publish's version or the one before it, both kept anyway.
        let complete: HashSet<&str> = versions.iter().map(|m| m.version.as_str()).collect();
        let in_flight = read_claims(release, claims.keys(), &complete).await?;
        Ok(Snapshot {
            versions,
            previewed,
            claims,
            in_flight,
            folders,
            immutable,
        })
    }

    /// Adds a version whose manifest was written after the snapshot (the one just staged).
    pub fn add(&mut self, manifest: &Manifest) {
        if self.versions.iter().any(|m| m.version == manifest.version) {
            return;
        }
        self.versions.push(manifest.clone());
        self.versions.sort_by(super::versions::newest_first);
    }
}

/// Applies retention to what `snapshot` saw; `live` and `previous` are always kept.
pub async fn apply(
    release: &Release,
    settings: &RetentionSettings,
    snapshot: Snapshot,
    live: &str,
    previous: Option<&str>,
) -> Result<RetentionReport, ReleaseError> {
    let Snapshot {
        versions,
        previewed,
        claims,
        in_flight,
        folders,
        immutable,
    } = snapshot;
    let now = SystemTime::now();
    let young = |created: Option<SystemTime>| {
        created.is_none_or(|c| {
            now.duration_since(c)
                .map_or(true, |age| age < settings.grace)
        })
    };
    let mut report = RetentionReport::default();
    // A publish in flight keeps its base (the live version whose unchanged shards it serves).
    let complete: HashSet<&str> = versions.iter().map(|m| m.version.as_str()).collect();
    let bases: HashSet<&str> = in_flight
        .iter()
        .filter(|c| young(humantime::parse_rfc3339(&c.created).ok()))
        .filter_map(|c| c.base.as_deref())
        .collect();
    let mut doomed = Vec::new();
    for (index, m) in versions.iter().enumerate() {
        let keep = index < settings.keep
            || m.version == live
            || Some(m.version.as_str()) == previous
            || previewed.contains(&m.version)
            || bases.contains(m.version.as_str())
            || young(m.created_time());
        if keep {
            report.kept.push(m.version.clone());
        } else {
            doomed.push(m);
        }
    }
    // What the versions that stay serve: a doomed version's folder keeps the shards a later
    // version still serves from it (a publish in flight serves its base's, kept above).
    let kept: Vec<&Manifest> = versions
        .iter()
        .filter(|m| !doomed.iter().any(|d| d.version == m.version))
        .collect();
    // Every key they name: their own folders', the older folders' that hold their unchanged
    // shards, and `_immutable/`'s.
    let referenced: HashSet<&str> = kept.iter().flat_map(|m| m.keys()).collect();
    let referenced = &referenced;
    let removed = doomed.iter().map(|m| async move {
        // The manifest goes first: from then on the version can never go live again, and a
        // deletion interrupted half-way leaves only unreachable objects behind. The claim
        // goes with the folder's last object: it marks a partly shared folder as ours.
        release.delete_keys(vec![manifest_key(&m.version)]).await?;
        release.forget_manifest(&m.version);
        let objects = release.list(&format!("{}/", m.version)).await?;
        delete_unreferenced(release, &m.version, objects.into_keys(), referenced).await
    });
    for (m, count) in doomed
        .iter()
        .zip(futures::future::try_join_all(removed).await?)
    {
        report.deleted_objects += count;
        report.deleted_versions.push(m.version.clone());
    }

    // Publishes that never finished: a claim or a version folder without a manifest (or the
    // shared rest of a removed version's). One that is still running keeps writing, so its
    // newest object stays young.
    let mut unfinished: HashSet<String> = folders;
    unfinished.extend(claims.keys().filter_map(|k| {
        k.strip_prefix(CLAIM_PREFIX)?
            .strip_suffix(".json")
            .map(String::from)
    }));
    // A folder a kept version serves shards from is left whole until none does.
    let shared: HashSet<&str> = referenced
        .iter()
        .filter_map(|k| k.split_once('/').map(|(folder, _)| folder))
        .collect();
    for v in unfinished {
        let claimed = claims.contains_key(&claim_key(&v));
        if complete.contains(v.as_str())
            || shared.contains(v.as_str())
            || v == live
            || Some(v.as_str()) == previous
            || format!("{v}/") == IMMUTABLE_PREFIX
            || format!("{v}/") == STATE_PREFIX
            || !(claimed || looks_generated(&v))
        {
            continue;
        }
        // The snapshot may predate a publish that finished since: its manifest settles it.
        let folder = format!("{v}/");
        let (objects, manifest) = futures::try_join!(release.list(&folder), release.manifest(&v))?;
        if manifest.is_some() {
            continue;
        }
        let newest = objects
            .values()
            .chain(claims.get(&claim_key(&v)))
            .filter_map(|l| l.modified)
            .max();
        if young(newest) {
            continue;
        }
        // The claim goes last: while it exists, its references stay protected.
        let count = objects.len() as u64;
        let gone = delete_unreferenced(release, &v, objects.into_keys(), referenced).await?;
        report.deleted_objects += gone;
        if gone == count {
            report.abandoned.push(v);
        }
    }

    // Immutable objects that nothing references. The candidates come from the listing above;
    // the claims are read again now, after it (and after the slow part, the deletions above),
    // so a publish that claimed its objects before then is seen. Without candidates (the
    // usual case: everything shared is referenced or young) there is nothing to read.
    let candidates: Vec<String> = immutable
        .into_iter()
        .filter(|(key, listed)| !referenced.contains(key.as_str()) && !young(listed.modified))
        .map(|(key, _)| key)
        .collect();
    let orphans: Vec<String> = if candidates.is_empty() {
        candidates
    } else {
        let in_flight = in_flight_claims(release, &complete).await?;
        let claimed: HashSet<&String> = in_flight.iter().flat_map(|c| &c.references).collect();
        candidates
            .into_iter()
            .filter(|key| !claimed.contains(key))
            .collect()
    };
    report.deleted_objects += orphans.len() as u64;
    release.delete_keys(orphans).await?;
    Ok(report)
}

/// True for the ids `publish` makes up itself (`<commit>`, `<commit>-dirty-<time>`,
/// `local-<time>`): a folder of that shape without a manifest or claim was left by an
/// interrupted publish of an earlier release. Any other unclaimed folder may be the user's
/// own, and is left alone.
fn looks_generated(id: &str) -> bool {
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    let stamp = |s: &str| {
        s.split_once('T').is_some_and(|(d, t)| {
            d.len() == 8 && t.len() == 6 && (d.to_owned() + t).bytes().all(|b| b.is_ascii_digit())
        })
    };
    match id.split_once("-dirty-") {
        Some((commit, time)) => hex(commit) && stamp(time),
        None => id
            .strip_prefix("local-")
            .map_or(id.len() == 12 && hex(id), stamp),
    }
}

/// The claims without a manifest (publishes in flight, or ones that never finished). The
/// manifests may have been read before the immutable listing ended: a publish that completed
/// since still has its claim (`complete` does not name it), and the claims are listed now,
/// after that listing. A publish claims before it decides to reuse a shared object or shard,
/// so whatever it reuses is named by its claim (its references, and its base).
async fn in_flight_claims(
    release: &Release,
    complete: &HashSet<&str>,
) -> Result<Vec<Claim>, ReleaseError> {
    let claims = release.list(CLAIM_PREFIX).await?;
    read_claims(release, claims.keys(), complete).await
}

/// The claims among `keys` (claim keys) whose version is not `complete`.
async fn read_claims(
    release: &Release,
    keys: impl Iterator<Item = &String>,
    complete: &HashSet<&str>,
) -> Result<Vec<Claim>, ReleaseError> {
    let in_flight: Vec<String> = keys
        .filter_map(|key| {
            let v = key.strip_prefix(CLAIM_PREFIX)?.strip_suffix(".json")?;
            (!complete.contains(v)).then(|| v.to_string())
        })
        .collect();
    let claims =
        futures::future::try_join_all(in_flight.iter().map(|v| release.read_claim(v))).await?;
    Ok(claims.into_iter().flatten().collect())
}

/// Deletes the `objects` of `version`'s folder (as just listed) that nothing in `referenced`
/// serves, and its claim once none is left. Returns how many objects went.
async fn delete_unreferenced(
    release: &Release,
    version: &str,
    objects: impl Iterator<Item = String>,
    referenced: &HashSet<&str>,
) -> Result<u64, ReleaseError> {
    let (objects, shared): (Vec<String>, Vec<String>) =
        objects.partition(|k| !referenced.contains(k.as_str()));
    let count = objects.len() as u64;
    release.delete_keys(objects).await?;
    if shared.is_empty() {
        release.delete_keys(vec![claim_key(version)]).await?;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_ids() {
        for id in [
            "1a2b3c4d5e6f",
            "1a2b3c4d5e6f-dirty-20261123T101010",
            "local-20261123T101010",
        ] {
            assert!(super::looks_generated(id), "{id}");
        }
        for id in [
            "downloads",
            "v1",
            "1a2b3c-dirty-now",
            "local-x",
            "release-20261123T101010",
        ] {
            assert!(!super::looks_generated(id), "{id}");
        }
    }
}
