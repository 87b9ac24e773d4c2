//! What a publish does with each file of the site, decided before anything is sent: upload it
//! into the version's folder, upload it once into the shared `_immutable/` area, copy it
//! server-side from the live version, or leave it where it is.
//!
//! Pure: the inputs are the scan, the live version's manifest and what the bucket holds (its
//! listings, and HEADs where a listing cannot tell); the output is the manifest's entries and
//! the requests to send. Only siblings the build did not make wait for their bytes: `stage`
//! compresses them and hands them back through [`Plan::add_sibling`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::manifest::{FileEntry, IMMUTABLE_PREFIX, Manifest, Variant, object_key};
use super::objects::{Listed, Stored};
use super::scan::{Digests, Encoding, Site, SiteFile};
use super::upload::Task;
use super::{ReleaseError, shards};

/// The siblings a precompressed file is served with.
pub const SIBLINGS: [Encoding; 2] = [Encoding::Br, Encoding::Gzip];

/// What the bucket holds, as far as the plan depends on it.
pub struct Bucket<'a> {
    /// Objects under the version's own folder: an earlier, interrupted run of this version.
    pub version: &'a HashMap<String, Listed>,
    /// The shared `_immutable/` area.
    pub immutable: &'a HashMap<String, Listed>,
    /// HEADs of the keys [`heads_needed`] named.
    pub heads: &'a HashMap<String, Stored>,
}

impl Bucket<'_> {
    fn listing(&self, hashed: bool) -> &HashMap<String, Listed> {
        if hashed { self.immutable } else { self.version }
    }
}

/// What happens to one site file (its siblings follow it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// In place already: stored in `_immutable/` by an earlier version, sent by an earlier,
    /// interrupted run of this one, or in a shard the live version's folders keep serving.
    Unchanged,
    /// The live version has the same bytes: copied server-side, nothing is sent.
    Copy,
    /// Sent from disk.
    Upload,
}

/// A sibling the build did not make: compressed at upload time, then [`Plan::add_sibling`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compress {
    /// The index of its file in the site (and of its entry in the plan).
    pub file: usize,
    pub encoding: Encoding,
    pub key: String,
    /// What the bucket listed under `key` when the plan was made.
    listed: Option<Listed>,
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// The manifest's entries, one per site file, in the site's order.
    pub entries: Vec<FileEntry>,
    /// What happens to each file, in the same order.
    pub actions: Vec<Action>,
    pub tasks: Vec<Task>,
    pub compress: Vec<Compress>,
    /// The shards the version's un-hashed paths fall into (see `shards.rs`).
    pub shards: u32,
    /// Keys in other versions' folders this version serves as they are (its unchanged shards):
    /// referenced by the live version's manifest, they are not read back (see `stage.rs`).
    pub shared: Vec<String>,
}

impl Plan {
    pub fn count(&self, action: Action) -> usize {
        self.actions.iter().filter(|a| **a == action).count()
    }

    /// Adds a sibling compressed at upload time: its variant in the manifest, and its upload
    /// unless an earlier run of this version sent the same bytes.
    pub fn add_sibling(&mut self, site: &Site, c: &Compress, source: &Path, digests: &Digests) {
        let Some(file) = site.files.get(c.file) else {
            return;
        };
        let (entry, tasks) = (&mut self.entries[c.file], &mut self.tasks);
        let sibling = Sibling {
            encoding: c.encoding,
            key: &c.key,
            source,
            digests,
        };
        sibling.place(file, entry, tasks, c.listed.as_ref());
    }
}

/// The keys whose HEAD the plan needs: shared objects already in `_immutable/` that the live
/// version does not vouch for, when the listing's ETag cannot prove their bytes (multipart),
/// and their siblings (only a HEAD tells a sibling's SHA-256).
pub fn heads_needed(
    site: &Site,
    version: &str,
    live: Option<&Manifest>,
    immutable: &HashMap<String, Listed>,
) -> Vec<String> {
    let mut out = Vec::new();
    for file in site.files.iter().filter(|f| f.hashed) {
        let key = object_key(version, &file.path, true);
        let Some(listed) = immutable.get(&key) else {
            continue;
        };
        if reusable_live_entry(file, &key, live, immutable).is_some() {
            continue;
        }
        if is_multipart(listed) {
            out.push(key.clone());
        } else if !same_bytes(listed, &file.digests) {
            continue; // a conflict; nothing to read
        }
        if file.precompress {
            for enc in SIBLINGS {
                let variant_key = format!("{key}{}", enc.suffix());
                if !immutable.contains_key(&variant_key) {
                    break;
                }
                out.push(variant_key);
            }
        }
    }
    out
}

/// Decides every file of `site` as version `version`, with `live` the live version's manifest.
/// A hashed name already in `_immutable/` with other bytes is [`ReleaseError::ImmutableConflict`].
pub fn plan(
    site: &Site,
    version: &str,
    live: Option<&Manifest>,
    bucket: &Bucket,
) -> Result<Plan, ReleaseError> {
    let shards = shards::count_for(site.files.iter().filter(|f| !f.hashed).count());
    let kept = live
        .map(|m| shards::reusable(site, version, m, shards, same_entry))
        .unwrap_or_default();
    let mut plan = Plan {
        shards,
        ..Plan::default()
    };
    for (index, file) in site.files.iter().enumerate() {
        let key = object_key(version, &file.path, file.hashed);
        let listing = bucket.listing(file.hashed);
        if !file.hashed
            && kept.contains(&shards::shard_of(&file.path, shards))
            && let Some(entry) = live.and_then(|m| m.file(&file.path))
        {
            plan.shared.push(entry.key.clone());
            plan.shared
                .extend(entry.encodings.values().map(|v| v.key.clone()));
            plan.entries.push(entry.clone());
            plan.actions.push(Action::Unchanged);
            continue;
        }
        let (entry, action) = match decide(file, &key, live, bucket)? {
            Decision::Unchanged(entry) => (entry, Action::Unchanged),
            Decision::Copy { entry, from } => {
                plan.tasks.push(Task::Copy {
                    from: from.key.clone(),
                    key: entry.key.clone(),
                    size: entry.size,
                    md5: entry.md5.clone(),
                });
                for (enc, variant) in &entry.encodings {
                    if let Some(source) = from.encodings.get(enc) {
                        plan.tasks.push(Task::Copy {
                            from: source.key.clone(),
                            key: variant.key.clone(),
                            size: variant.size,
                            md5: variant.md5.clone(),
                        });
                    }
                }
                (entry, Action::Copy)
            }
            Decision::Upload => {
                let mut entry = base_entry(file, key.clone());
                let action = if listing
                    .get(&key)
                    .is_some_and(|l| same_bytes(l, &file.digests))
                {
                    Action::Unchanged
                } else {
                    plan.tasks
                        .push(put(&file.abs, &key, file, None, &file.digests));
                    Action::Upload
                };
                if file.precompress {
                    for encoding in SIBLINGS {
                        let variant_key = format!("{key}{}", encoding.suffix());
                        let listed = listing.get(&variant_key);
                        match file.prebuilt.get(&encoding) {
                            Some((source, digests)) => Sibling {
                                encoding,
                                key: &variant_key,
                                source,
                                digests,
                            }
                            .place(
                                file,
                                &mut entry,
                                &mut plan.tasks,
                                listed,
                            ),
                            None => plan.compress.push(Compress {
                                file: index,
                                encoding,
                                key: variant_key,
                                listed: listed.cloned(),
                            }),
                        }
                    }
                }
                (entry, action)
            }
        };
        plan.entries.push(entry);
        plan.actions.push(action);
    }
    Ok(plan)
}

/// True when `existing` (a version's manifest) describes the files `site` would publish as
/// `version`: paths, keys and hashes (siblings aside). A re-publish of an existing version id
/// may only ever carry the same site. An un-hashed file may be in an older version's folder
/// (an unchanged shard), under its own path.
pub fn same_site(existing: &Manifest, site: &Site, version: &str) -> bool {
    existing.files.len() == site.files.len()
        && existing.files.iter().zip(&site.files).all(|(e, f)| {
            let own = object_key(version, &f.path, f.hashed);
            let shared = !f.hashed
                && !e.key.starts_with(IMMUTABLE_PREFIX)
                && e.key.split_once('/').is_some_and(|(_, p)| p == f.path);
            e.path == f.path && (e.key == own || shared) && e.sha256 == f.digests.sha256
        })
}

/// The live version's `entry` serves `file` as this publish would: the same bytes, type,
/// caching and siblings.
fn same_entry(file: &SiteFile, entry: &FileEntry) -> bool {
    let siblings = if file.precompress {
        entry.encodings.len() == SIBLINGS.len()
            && file.prebuilt.iter().all(|(enc, (_, d))| {
                entry
                    .encodings
                    .get(enc)
                    .is_some_and(|v| v.sha256 == d.sha256)
            })
    } else {
        entry.encodings.is_empty()
    };
    entry.sha256 == file.digests.sha256
        && entry.size == file.digests.size
        && entry.content_type == file.content_type
        && entry.cache_control == file.cache_control
        && siblings
}

/// The upload of `source` as `key`, served for `file` (as its `encoding` sibling, if any).
pub fn put(
    source: &Path,
    key: &str,
    file: &SiteFile,
    encoding: Option<Encoding>,
    digests: &Digests,
) -> Task {
    Task::Put {
        source: source.to_path_buf(),
        key: key.to_string(),
        content_type: file.content_type.clone(),
        cache_control: file.cache_control.to_string(),
        content_encoding: encoding.map(Encoding::header),
        digests: digests.clone(),
    }
}

enum Decision<'m> {
    Unchanged(FileEntry),
    /// `entry` is `from` (the live version's entry) under this version's keys.
    Copy {
        entry: FileEntry,
        from: &'m FileEntry,
    },
    Upload,
}

fn decide<'m>(
    file: &SiteFile,
    key: &str,
    live: Option<&'m Manifest>,
    bucket: &Bucket,
) -> Result<Decision<'m>, ReleaseError> {
    let listing = bucket.listing(file.hashed);
    if file.hashed {
        if let Some(entry) = reusable_live_entry(file, key, live, listing) {
            let mut entry = entry.clone();
            entry.md5 = Some(file.digests.md5.clone());
            return Ok(Decision::Unchanged(entry));
        }
        let Some(listed) = listing.get(key) else {
            return Ok(Decision::Upload);
        };
        let same = if is_multipart(listed) {
            bucket.heads.get(key).and_then(|h| h.sha256.as_ref()) == Some(&file.digests.sha256)
        } else {
            same_bytes(listed, &file.digests)
        };
        if !same {
            return Err(ReleaseError::ImmutableConflict {
                key: key.to_string(),
            });
        }
        // Stored by an older version: reuse its siblings when they are there too.
        let mut entry = base_entry(file, key.to_string());
        if file.precompress {
            for enc in SIBLINGS {
                let variant_key = format!("{key}{}", enc.suffix());
                match stored_variant(&variant_key, listing, bucket.heads) {
                    Some(v) => entry.encodings.insert(enc, v),
                    None => return Ok(Decision::Upload),
                };
            }
        }
        return Ok(Decision::Unchanged(entry));
    }
    let Some(from) = same_in_live(file, live) else {
        return Ok(Decision::Upload);
    };
    // The live copy must have the siblings this publish serves (`precompress` may have changed).
    let siblings_ok = if file.precompress {
        from.encodings.len() == SIBLINGS.len()
    } else {
        from.encodings.is_empty()
    };
    if !siblings_ok {
        return Ok(Decision::Upload);
    }
    let mut entry = from.clone();
    entry.key = key.to_string();
    entry.md5 = Some(file.digests.md5.clone());
    for (enc, variant) in entry.encodings.iter_mut() {
        variant.key = format!("{key}{}", enc.suffix());
    }
    // An earlier, interrupted run of this version may have copied it already.
    let resumed = listing.get(key).is_some_and(|l| l.etag == file.digests.md5)
        && entry
            .encodings
            .values()
            .all(|v| listing.contains_key(&v.key));
    Ok(if resumed {
        Decision::Unchanged(entry)
    } else {
        Decision::Copy { entry, from }
    })
}

/// The live version's entry for `file`, when it has the same bytes.
fn same_in_live<'m>(file: &SiteFile, live: Option<&'m Manifest>) -> Option<&'m FileEntry> {
    live.and_then(|m| m.file(&file.path))
        .filter(|e| e.sha256 == file.digests.sha256)
}

/// The live version's entry for a hashed `file`, when the object it names is still listed and
/// it has the siblings this publish serves (the `precompress` setting may have changed since).
fn reusable_live_entry<'m>(
    file: &SiteFile,
    key: &str,
    live: Option<&'m Manifest>,
    immutable: &HashMap<String, Listed>,
) -> Option<&'m FileEntry> {
    same_in_live(file, live).filter(|e| {
        e.key == key
            && immutable.contains_key(key)
            && (!file.precompress || e.encodings.len() == SIBLINGS.len())
    })
}

/// A multipart upload's ETag is not the MD5 of its bytes.
fn is_multipart(listed: &Listed) -> bool {
    listed.etag.contains('-')
}

/// The listing proves the object holds these bytes (a single-part ETag is their MD5).
fn same_bytes(listed: &Listed, digests: &Digests) -> bool {
    listed.etag == digests.md5 && listed.size == digests.size
}

/// A sibling stored by an older version, as its HEAD describes it (`None` without our SHA-256).
fn stored_variant(
    key: &str,
    listing: &HashMap<String, Listed>,
    heads: &HashMap<String, Stored>,
) -> Option<Variant> {
    if !listing.contains_key(key) {
        return None;
    }
    let head = heads.get(key)?;
    Some(Variant {
        key: key.to_string(),
        size: head.size,
        sha256: head.sha256.clone()?,
        md5: head.etag.clone().filter(|t| !t.contains('-')),
    })
}

fn base_entry(file: &SiteFile, key: String) -> FileEntry {
    FileEntry {
        path: file.path.clone(),
        key,
        size: file.digests.size,
        sha256: file.digests.sha256.clone(),
        md5: Some(file.digests.md5.clone()),
        content_type: file.content_type.clone(),
        cache_control: file.cache_control.to_string(),
        encodings: BTreeMap::new(),
    }
}

/// A sibling whose bytes are known: the build's, or compressed at upload time.
struct Sibling<'a> {
    encoding: Encoding,
    key: &'a str,
    source: &'a Path,
    digests: &'a Digests,
}

impl Sibling<'_> {
    fn place(
        self,
        file: &SiteFile,
        entry: &mut FileEntry,
        tasks: &mut Vec<Task>,
        listed: Option<&Listed>,
    ) {
        if !listed.is_some_and(|l| same_bytes(l, self.digests)) {
            tasks.push(put(
                self.source,
                self.key,
                file,
                Some(self.encoding),
                self.digests,
            ));
        }
        entry.encodings.insert(
            self.encoding,
            Variant {
                key: self.key.to_string(),
                size: self.digests.size,
                sha256: self.digests.sha256.clone(),
                md5: Some(self.digests.md5.clone()),
            },
        );
    }
}

#[cfg(test)]
mod tests;
