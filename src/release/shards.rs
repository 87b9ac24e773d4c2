//! Shards: how a version shares its unchanged files with the versions before it.
//!
//! The site's paths (content-hashed names aside: they live in `_immutable/`) fall into
//! `shards` groups by a hash the edge function computes too. A version writes into its own
//! folder only the shards that changed; every other shard stays in the folder that already
//! holds it. The pointer value says which folder holds which shard, so a flip is still one
//! KeyValueStore write and a visitor never sees a mix:
//!
//! ```text
//! <version>                                  every shard in the version's own folder
//! <version>|<table>|<folder 1>|<folder 2>…   table[i] (a base-36 digit) names shard i's
//!                                            folder, 0 being <version> itself
//! ```
//!
//! The value is derived from the manifest alone (each file's key names its folder), so a
//! rollback or a promotion writes exactly what the publish wrote. A value must fit the store's
//! 1,024-character limit: when the shards of a site are spread over too many folders, the
//! ones in the least-used folders are written again (copied) into the new version.

use std::collections::{BTreeMap, HashMap, HashSet};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::manifest::{FileEntry, IMMUTABLE_PREFIX, Manifest};
use super::scan::{Site, SiteFile};

/// The KeyValueStore's limit on a value (CloudFront Developer Guide, "Quotas").
pub const VALUE_MAX: usize = 1024;
const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
/// Aim: a one-file change copies about this many files (its shard's).
const FILES_PER_SHARD: usize = 16;
const MIN_SHARDS: u32 = 16;
/// 256 table characters leave ~750 for folder names within [`VALUE_MAX`].
const MAX_SHARDS: u32 = 256;

/// What JavaScript's encodeURIComponent leaves as it is.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// FNV-1a (32 bits) over the path as encodeURIComponent writes it, as
/// cf-functions/viewer-request.js computes it from the URI (decoded, then encoded again).
pub fn hash(path: &str) -> u32 {
    utf8_percent_encode(path, URI_COMPONENT)
        .flat_map(str::bytes)
        .fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(b)).wrapping_mul(16_777_619)
        })
}

/// How many shards a site of `files` un-hashed files is split into: a power of two, so that a
/// count that doubles or halves as the site grows still finds most shards in one folder.
pub fn count_for(files: usize) -> u32 {
    let wanted = files.div_ceil(FILES_PER_SHARD).max(1);
    u32::try_from(wanted.next_power_of_two())
        .unwrap_or(MAX_SHARDS)
        .clamp(MIN_SHARDS, MAX_SHARDS)
}

pub fn shard_of(path: &str, shards: u32) -> u32 {
    hash(path) % shards.max(1)
}

/// The version a pointer value names.
pub fn version_of(value: &str) -> &str {
    value.split('|').next().unwrap_or(value)
}

/// A pointer value, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// `folders[0]` is the version.
    pub folders: Vec<String>,
    /// The folder index of each shard; empty when every file is in the version's own folder.
    pub table: Vec<u8>,
}

impl Pointer {
    pub fn version(&self) -> &str {
        &self.folders[0]
    }

    pub fn parse(value: &str) -> Option<Pointer> {
        let mut parts = value.split('|');
        let version = parts.next()?.to_string();
        let Some(table) = parts.next() else {
            return Some(Pointer {
                folders: vec![version],
                table: Vec::new(),
            });
        };
        let folders: Vec<String> = std::iter::once(version)
            .chain(parts.map(String::from))
            .collect();
        let table = table
            .bytes()
            .map(|b| {
                let i = DIGITS.iter().position(|d| *d == b)?;
                (i < folders.len()).then_some(i as u8)
            })
            .collect::<Option<Vec<u8>>>()?;
        Some(Pointer { folders, table })
    }

    pub fn encode(&self) -> String {
        if self.table.iter().all(|i| *i == 0) {
            return self.version().to_string();
        }
        let mut out = self.version().to_string();
        out.push('|');
        out.extend(self.table.iter().map(|i| DIGITS[usize::from(*i)] as char));
        for f in &self.folders[1..] {
            out.push('|');
            out.push_str(f);
        }
        out
    }

    /// The folder that holds `path` (percent-decoded, relative to the folder).
    pub fn folder(&self, path: &str) -> &str {
        if self.table.is_empty() {
            return self.version();
        }
        let shard = shard_of(path, self.table.len() as u32) as usize;
        &self.folders[usize::from(self.table[shard])]
    }
}

/// The folder of a version's file key (`None` for `_immutable/` keys).
fn folder_of_key(key: &str) -> Option<&str> {
    if key.starts_with(IMMUTABLE_PREFIX) {
        return None;
    }
    key.split_once('/').map(|(folder, _)| folder)
}

/// The pointer value that makes `manifest` live. A manifest whose files of one shard are in
/// different folders cannot be pointed at (it was not written by this tool): `Err` says which.
pub fn pointer_value(manifest: &Manifest) -> Result<String, String> {
    if manifest.shards == 0 {
        return Ok(manifest.version.clone());
    }
    let mut folders = vec![manifest.version.clone()];
    let mut table = vec![0u8; manifest.shards as usize];
    let mut seen = vec![false; table.len()];
    for f in &manifest.files {
        let Some(folder) = folder_of_key(&f.key) else {
            continue;
        };
        let index = match folders.iter().position(|x| x == folder) {
            Some(i) => i,
            None => {
                folders.push(folder.to_string());
                folders.len() - 1
            }
        };
        let shard = shard_of(&f.path, manifest.shards) as usize;
        if seen[shard] && usize::from(table[shard]) != index {
            return Err(format!(
                "version {}: shard {shard} of its files is in two folders ({} and {folder})",
                manifest.version,
                folders[usize::from(table[shard])]
            ));
        }
        seen[shard] = true;
        table[shard] = u8::try_from(index)
            .ok()
            .filter(|i| usize::from(*i) < DIGITS.len())
            .ok_or_else(|| {
                format!(
                    "version {}: its files are in more than {} folders",
                    manifest.version,
                    DIGITS.len()
                )
            })?;
    }
    // Folders no shard names any more (all of a folder's shards were empty) are dropped.
    let used: Vec<bool> = (0..folders.len())
        .map(|i| i == 0 || table.iter().any(|t| usize::from(*t) == i))
        .collect();
    let mut renumber = Vec::with_capacity(folders.len());
    let mut kept = Vec::new();
    for (i, f) in folders.into_iter().enumerate() {
        renumber.push(kept.len() as u8);
        if used[i] {
            kept.push(f);
        }
    }
    let pointer = Pointer {
        folders: kept,
        table: table.iter().map(|t| renumber[usize::from(*t)]).collect(),
    };
    let value = pointer.encode();
    if value.len() > VALUE_MAX {
        return Err(format!(
            "version {}: its pointer value is {} characters, over the KeyValueStore's {VALUE_MAX}",
            manifest.version,
            value.len()
        ));
    }
    Ok(value)
}

/// Which shards of `site` stay where the live version has them (its entries serve their
/// files). A shard stays when it holds the same paths as in the live version, each with an
/// entry `same` accepts, all in one folder; within [`VALUE_MAX`], the shards of the least-used
/// folders are given up first.
pub fn reusable(
    site: &Site,
    version: &str,
    live: &Manifest,
    shards: u32,
    same: impl Fn(&SiteFile, &FileEntry) -> bool,
) -> HashSet<u32> {
    let mut theirs: BTreeMap<u32, Vec<&FileEntry>> = BTreeMap::new();
    for e in &live.files {
        if folder_of_key(&e.key).is_some() {
            theirs.entry(shard_of(&e.path, shards)).or_default().push(e);
        }
    }
    let mut ours: HashMap<u32, Vec<&SiteFile>> = HashMap::new();
    for f in site.files.iter().filter(|f| !f.hashed) {
        ours.entry(shard_of(&f.path, shards)).or_default().push(f);
    }
    let mut kept: HashMap<u32, &str> = HashMap::new();
    for (shard, entries) in theirs {
        let Some(files) = ours.get(&shard) else {
            continue;
        };
        let Some(folder) = folder_of_key(&entries[0].key) else {
            continue;
        };
        let one_folder = folder != version
            && entries
                .iter()
                .all(|e| folder_of_key(&e.key) == Some(folder));
        let same_files = files.len() == entries.len()
            && files.iter().all(|f| {
                live.file(&f.path).is_some_and(|e| {
                    folder_of_key(&e.key).is_some()
                        && shard_of(&e.path, shards) == shard
                        && same(f, e)
                })
            });
        if one_folder && same_files {
            kept.insert(shard, folder);
        }
    }
    fit(version, shards, &mut kept);
    kept.into_keys().collect()
}

/// Gives up the shards of the least-used folders until the pointer value fits.
fn fit(version: &str, shards: u32, kept: &mut HashMap<u32, &str>) {
    loop {
        let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
        for folder in kept.values() {
            *uses.entry(folder).or_default() += 1;
        }
        let length =
            version.len() + 1 + shards as usize + uses.keys().map(|f| f.len() + 1).sum::<usize>();
        if length <= VALUE_MAX && uses.len() < DIGITS.len() {
            return;
        }
        let Some(least) = uses
            .iter()
            .min_by_key(|(folder, n)| (**n, *folder))
            .map(|(f, _)| f.to_string())
        else {
            return;
        };
        kept.retain(|_, folder| *folder != least);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv1a_over_the_uri_component_encoding() {
        // FNV-1a 32-bit reference values.
        assert_eq!(hash(""), 0x811c_9dc5);
        assert_eq!(hash("a"), 0xe40c_292c);
        assert_eq!(hash("foobar"), 0xbf9c_f968);
        // encodeURIComponent("a/é b") === "a%2F%C3%A9%20b"
        assert_eq!(hash("a/é b"), hash_bytes(b"a%2F%C3%A9%20b"));
        assert_eq!(hash("x-_.!~*'()"), hash_bytes(b"x-_.!~*'()"));
    }

    fn hash_bytes(bytes: &[u8]) -> u32 {
        bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(*b)).wrapping_mul(16_777_619)
        })
    }

    #[test]
    fn shard_counts_are_powers_of_two_within_bounds() {
        assert_eq!(count_for(0), MIN_SHARDS);
        assert_eq!(count_for(1_000), 64);
        assert_eq!(count_for(10_000), MAX_SHARDS);
        for n in [1, 17, 300, 5_000, 1 << 20] {
            assert!(count_for(n).is_power_of_two(), "{n}");
        }
    }

    #[test]
    fn values_round_trip_and_name_each_shards_folder() {
        let p = Pointer {
            folders: vec!["v3".into(), "v1".into(), "v2".into()],
            table: vec![0, 1, 2, 1],
        };
        let value = p.encode();
        assert_eq!(value, "v3|0121|v1|v2");
        assert_eq!(Pointer::parse(&value), Some(p.clone()));
        assert_eq!(version_of(&value), "v3");
        for path in ["index.html", "a/b.html", "é.txt"] {
            let expected = ["v3", "v1", "v2", "v1"][(hash(path) % 4) as usize];
            assert_eq!(p.folder(path), expected, "{path}");
        }
        let plain = Pointer::parse("v1").unwrap();
        assert_eq!(plain.folder("anything.html"), "v1");
        assert_eq!(plain.encode(), "v1");
        assert_eq!(Pointer::parse("v1|09|v0"), None, "index out of range");
    }
}
