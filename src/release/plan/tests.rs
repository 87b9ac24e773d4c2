//! The plan's decisions, file by file, without a bucket: what a publish sends, copies or leaves.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::*;
use crate::release::hashed::is_content_hashed;
use crate::release::manifest::GitInfo;
use crate::release::scan::{IMMUTABLE, REVALIDATE, ScanRules, scan_with};

const JS: &str = "app-0123456789abcdef.js";
const WASM: &str = "app-0123456789abcdef_bg.wasm";

fn digests(content: &str) -> Digests {
    Digests {
        size: content.len() as u64,
        sha256: format!("sha-{content}"),
        // Hex, like a real MD5: a `-` would make it a multipart ETag.
        md5: hex::encode(content),
    }
}

fn file(path: &str, content: &str) -> SiteFile {
    let hashed = is_content_hashed(path);
    SiteFile {
        path: path.into(),
        abs: PathBuf::from("/site").join(path),
        digests: digests(content),
        content_type: "text/plain".into(),
        cache_control: if hashed { IMMUTABLE } else { REVALIDATE },
        hashed,
        precompress: false,
        prebuilt: BTreeMap::new(),
    }
}

fn precompressed(mut f: SiteFile) -> SiteFile {
    f.precompress = true;
    f
}

/// With the siblings the build wrote next to it.
fn prebuilt(f: SiteFile) -> SiteFile {
    let mut f = precompressed(f);
    for enc in SIBLINGS {
        let content = format!("{}{}", f.path, enc.suffix());
        let path = PathBuf::from("/site").join(&content);
        f.prebuilt.insert(enc, (path, digests(&content)));
    }
    f
}

fn site(mut files: Vec<SiteFile>) -> Site {
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Site {
        root: PathBuf::from("/site"),
        files,
        dropped_siblings: Vec::new(),
        left_out: Vec::new(),
    }
}

fn listed(d: &Digests) -> Listed {
    Listed {
        size: d.size,
        etag: d.md5.clone(),
        modified: None,
    }
}

/// What the bucket holds: the version's folder, `_immutable/`, and HEADs.
#[derive(Default)]
struct World {
    version: HashMap<String, Listed>,
    immutable: HashMap<String, Listed>,
    heads: HashMap<String, Stored>,
}

impl World {
    fn bucket(&self) -> Bucket<'_> {
        Bucket {
            version: &self.version,
            immutable: &self.immutable,
            heads: &self.heads,
        }
    }

    /// Every object of `manifest` stored the way a publish stores it (single-part, with its
    /// SHA-256 in the metadata).
    fn holding(mut self, manifest: &Manifest) -> Self {
        for f in &manifest.files {
            let objects = std::iter::once((&f.key, f.size, &f.sha256, &f.md5)).chain(
                f.encodings
                    .values()
                    .map(|v| (&v.key, v.size, &v.sha256, &v.md5)),
            );
            for (key, size, sha, md5) in objects {
                let etag = md5.clone().unwrap_or_default();
                let l = Listed {
                    size,
                    etag: etag.clone(),
                    modified: None,
                };
                if key.starts_with("_immutable/") {
                    self.immutable.insert(key.clone(), l);
                } else {
                    self.version.insert(key.clone(), l);
                }
                let stored = Stored {
                    size,
                    sha256: Some(sha.clone()),
                    etag: Some(etag),
                };
                self.heads.insert(key.clone(), stored);
            }
        }
        self
    }
}

/// Plans `site` as `version` and finishes it the way `stage` does: siblings "compressed" into
/// `<path>.br|.gz` contents, entries sorted into a manifest.
fn publish(site: &Site, version: &str, live: Option<&Manifest>, world: &World) -> (Plan, Manifest) {
    let mut plan = plan(site, version, live, &world.bucket()).unwrap();
    for c in std::mem::take(&mut plan.compress) {
        let content = format!("{}{}", site.files[c.file].path, c.encoding.suffix());
        let source = PathBuf::from("/scratch").join(&content);
        plan.add_sibling(site, &c, &source, &digests(&content));
    }
    let mut files = plan.entries.clone();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest {
        format: 1,
        version: version.into(),
        created: "2026-01-01T00:00:00Z".into(),
        tool_version: "test".into(),
        git: GitInfo::default(),
        shards: plan.shards,
        files,
    };
    (plan, manifest)
}

fn puts(plan: &Plan) -> Vec<(&str, Option<&str>)> {
    let mut out: Vec<_> = plan
        .tasks
        .iter()
        .filter_map(|t| match t {
            Task::Put {
                key,
                content_encoding,
                ..
            } => Some((key.as_str(), *content_encoding)),
            Task::Copy { .. } => None,
        })
        .collect();
    out.sort();
    out
}

fn copies(plan: &Plan) -> Vec<(&str, &str)> {
    let mut out: Vec<_> = plan
        .tasks
        .iter()
        .filter_map(|t| match t {
            Task::Copy { from, key, .. } => Some((from.as_str(), key.as_str())),
            Task::Put { .. } => None,
        })
        .collect();
    out.sort();
    out
}

/// A page name whose shard (of a small site's 16) is (`same`) or is not `path`'s.
fn page_in_shard_of(path: &str, same: bool) -> String {
    let n = shards::count_for(0);
    let shard = shards::shard_of(path, n);
    (0..)
        .map(|i| format!("page{i}.html"))
        .find(|p| (shards::shard_of(p, n) == shard) == same)
        .unwrap_or_default()
}

fn actions(plan: &Plan) -> Vec<(&str, Action)> {
    plan.entries
        .iter()
        .zip(&plan.actions)
        .map(|(e, a)| (e.path.as_str(), *a))
        .collect()
}

#[test]
fn a_first_publish_uploads_into_the_version_and_hashed_names_once_into_immutable() {
    let s = site(vec![file("index.html", "<html>"), file(JS, "js")]);
    let (plan, manifest) = publish(&s, "v1", None, &World::default());
    assert_eq!(
        actions(&plan),
        [(JS, Action::Upload), ("index.html", Action::Upload)]
    );
    assert_eq!(
        puts(&plan),
        [
            (&*format!("_immutable/{JS}"), None),
            ("v1/index.html", None)
        ]
    );
    assert!(copies(&plan).is_empty());
    let index = manifest.file("index.html").unwrap();
    assert_eq!(index.key, "v1/index.html");
    assert_eq!(index.md5, Some(hex::encode("<html>")));
    assert_eq!(index.cache_control, REVALIDATE);
    assert_eq!(manifest.file(JS).unwrap().cache_control, IMMUTABLE);
    assert_eq!(
        (plan.count(Action::Upload), plan.count(Action::Copy)),
        (2, 0)
    );
}

#[test]
fn hashed_files_the_live_version_serves_need_no_request_at_all() {
    let v1 = site(vec![prebuilt(file(WASM, "wasm")), file("index.html", "1")]);
    let (_, live) = publish(&v1, "v1", None, &World::default());
    let world = World::default().holding(&live);
    let v2 = site(vec![prebuilt(file(WASM, "wasm")), file("index.html", "2")]);
    assert!(heads_needed(&v2, "v2", Some(&live), &world.immutable).is_empty());
    let (plan, manifest) = publish(&v2, "v2", Some(&live), &world);
    assert_eq!(
        actions(&plan),
        [(WASM, Action::Unchanged), ("index.html", Action::Upload)]
    );
    assert_eq!(puts(&plan), [("v2/index.html", None)]);
    assert_eq!(
        manifest.file(WASM),
        live.file(WASM),
        "the live entry, siblings and all"
    );
}

#[test]
fn hashed_names_an_older_version_stored_are_reused_when_their_bytes_match() {
    let old = site(vec![precompressed(file(WASM, "wasm"))]);
    let (_, old) = publish(&old, "v0", None, &World::default());
    let world = World::default().holding(&old);
    let s = site(vec![precompressed(file(WASM, "wasm"))]);
    // Not live any more: the listing proves the file, only a HEAD tells its siblings' hashes.
    let needed = heads_needed(&s, "v1", None, &world.immutable);
    let wasm = format!("_immutable/{WASM}");
    assert_eq!(needed, [format!("{wasm}.br"), format!("{wasm}.gz")]);
    let (plan, manifest) = publish(&s, "v1", None, &world);
    assert_eq!(actions(&plan), [(WASM, Action::Unchanged)]);
    assert!(plan.tasks.is_empty(), "{:?}", plan.tasks);
    assert_eq!(manifest.file(WASM), old.file(WASM));
}

#[test]
fn a_hashed_name_stored_with_other_bytes_is_refused() {
    let mut world = World::default();
    let key = format!("_immutable/{JS}");
    world
        .immutable
        .insert(key.clone(), listed(&digests("other")));
    let s = site(vec![file(JS, "js")]);
    assert!(heads_needed(&s, "v1", None, &world.immutable).is_empty());
    match plan(&s, "v1", None, &world.bucket()) {
        Err(ReleaseError::ImmutableConflict { key: k }) => assert_eq!(k, key),
        other => panic!("{:?}", other.map(|p| p.actions)),
    }
}

#[test]
fn a_multipart_object_is_judged_by_the_sha256_a_head_reads() {
    let key = format!("_immutable/{WASM}");
    let s = site(vec![file(WASM, "wasm")]);
    let mut world = World::default();
    world.immutable.insert(
        key.clone(),
        Listed {
            size: 4,
            etag: "0f0f-2".into(),
            modified: None,
        },
    );
    assert_eq!(
        heads_needed(&s, "v1", None, &world.immutable),
        std::slice::from_ref(&key)
    );
    let head = |sha: Option<&str>| Stored {
        size: 4,
        sha256: sha.map(String::from),
        etag: Some("0f0f-2".into()),
    };
    world.heads.insert(key.clone(), head(Some("sha-wasm")));
    let p = plan(&s, "v1", None, &world.bucket()).unwrap();
    assert_eq!(actions(&p), [(WASM, Action::Unchanged)]);
    assert!(p.tasks.is_empty());
    for other in [Some("sha-else"), None] {
        world.heads.insert(key.clone(), head(other));
        assert!(matches!(
            plan(&s, "v1", None, &world.bucket()),
            Err(ReleaseError::ImmutableConflict { .. })
        ));
    }
}

#[test]
fn siblings_the_build_made_are_sent_as_they_are_others_are_compressed_first() {
    let s = site(vec![
        prebuilt(file(WASM, "w")),
        precompressed(file("data.json", "{}")),
    ]);
    let p = plan(&s, "v1", None, &World::default().bucket()).unwrap();
    let waiting: Vec<(&str, Encoding)> = p
        .compress
        .iter()
        .map(|c| (c.key.as_str(), c.encoding))
        .collect();
    assert_eq!(
        waiting,
        [
            ("v1/data.json.br", Encoding::Br),
            ("v1/data.json.gz", Encoding::Gzip)
        ]
    );
    let wasm = format!("_immutable/{WASM}");
    let (br, gz) = (format!("{wasm}.br"), format!("{wasm}.gz"));
    assert_eq!(
        puts(&p),
        [
            (wasm.as_str(), None),
            (br.as_str(), Some("br")),
            (gz.as_str(), Some("gzip")),
            ("v1/data.json", None),
        ]
    );
    let source = p.tasks.iter().find_map(|t| match t {
        Task::Put { key, source, .. } if *key == br => Some(source.clone()),
        _ => None,
    });
    assert_eq!(source, Some(PathBuf::from(format!("/site/{WASM}.br"))));

    let (p, manifest) = publish(&s, "v1", None, &World::default());
    assert!(puts(&p).contains(&("v1/data.json.gz", Some("gzip"))));
    let json = manifest.file("data.json").unwrap();
    assert_eq!(json.encodings[&Encoding::Br].key, "v1/data.json.br");
    assert_eq!(json.encodings[&Encoding::Gzip].sha256, "sha-data.json.gz");
    assert_eq!(json.encodings.len(), 2);
}

#[test]
fn copies_carry_their_siblings_from_the_live_keys() {
    let near = page_in_shard_of("index.html", true);
    let v1 = site(vec![
        precompressed(file("index.html", "same")),
        file(&near, "1"),
    ]);
    let (_, live) = publish(&v1, "v1", None, &World::default());
    let world = World::default().holding(&live);
    let v2 = site(vec![
        precompressed(file("index.html", "same")),
        file(&near, "2"),
    ]);
    let (plan, manifest) = publish(&v2, "v2", Some(&live), &world);
    assert_eq!(
        actions(&plan),
        [
            ("index.html", Action::Copy),
            (near.as_str(), Action::Upload)
        ]
    );
    assert_eq!(
        copies(&plan),
        [
            ("v1/index.html", "v2/index.html"),
            ("v1/index.html.br", "v2/index.html.br"),
            ("v1/index.html.gz", "v2/index.html.gz"),
        ]
    );
    let entry = manifest.file("index.html").unwrap();
    assert_eq!(entry.encodings[&Encoding::Gzip].key, "v2/index.html.gz");
    assert_eq!(
        entry.encodings[&Encoding::Gzip].sha256,
        live.file("index.html").unwrap().encodings[&Encoding::Gzip].sha256
    );
}

#[test]
fn a_changed_precompress_setting_sends_what_the_live_copy_lacks() {
    let plain = site(vec![file("index.html", "same"), file(WASM, "w")]);
    let (_, live) = publish(&plain, "v1", None, &World::default());
    let world = World::default().holding(&live);
    let now = site(vec![
        precompressed(file("index.html", "same")),
        precompressed(file(WASM, "w")),
    ]);
    let (p, _) = publish(&now, "v2", Some(&live), &world);
    // The hashed file is stored already; only its siblings are new.
    assert_eq!(
        actions(&p),
        [(WASM, Action::Unchanged), ("index.html", Action::Upload)]
    );
    let wasm = format!("_immutable/{WASM}");
    let (br, gz) = (format!("{wasm}.br"), format!("{wasm}.gz"));
    assert_eq!(
        puts(&p),
        [
            (br.as_str(), Some("br")),
            (gz.as_str(), Some("gzip")),
            ("v2/index.html", None),
            ("v2/index.html.br", Some("br")),
            ("v2/index.html.gz", Some("gzip")),
        ]
    );
    assert!(copies(&p).is_empty());

    // And back: an un-hashed live copy's siblings are not what this publish serves, so it is
    // sent again; a shared hashed file keeps the siblings it has (serving them does no harm).
    let (_, live) = publish(&now, "v2", None, &World::default());
    let world = World::default().holding(&live);
    let (p, manifest) = publish(&plain, "v3", Some(&live), &world);
    assert_eq!(
        actions(&p),
        [(WASM, Action::Unchanged), ("index.html", Action::Upload)]
    );
    assert_eq!(puts(&p), [("v3/index.html", None)]);
    assert!(manifest.file("index.html").unwrap().encodings.is_empty());
    assert_eq!(manifest.file(WASM), live.file(WASM));
}

#[test]
fn an_interrupted_run_of_the_same_version_sends_only_what_is_missing() {
    let v1 = site(vec![file("about.html", "a"), file("index.html", "1")]);
    let (_, live) = publish(&v1, "v1", None, &World::default());
    let v2 = site(vec![
        file("about.html", "a"),
        precompressed(file("index.html", "2")),
    ]);
    // The first run of v2 copied about.html and sent index.html and its brotli sibling.
    let (_, first) = publish(&v2, "v2", Some(&live), &World::default());
    let mut world = World::default().holding(&live).holding(&first);
    world.version.remove("v2/index.html.gz");
    let (p, _) = publish(&v2, "v2", Some(&live), &world);
    assert_eq!(
        actions(&p),
        [
            ("about.html", Action::Unchanged),
            ("index.html", Action::Unchanged)
        ]
    );
    assert!(copies(&p).is_empty());
    assert_eq!(puts(&p), [("v2/index.html.gz", Some("gzip"))]);
}

#[test]
fn a_preview_publish_writes_only_its_own_folder_and_the_shared_area() {
    let v1 = site(vec![
        file("index.html", "1"),
        file("a.css", "a"),
        file(JS, "js"),
    ]);
    let (_, live) = publish(&v1, "v1", None, &World::default());
    let world = World::default().holding(&live);
    let preview = site(vec![
        file("index.html", "2"),
        file("a.css", "a"),
        file(JS, "js"),
        file("app-fedcba9876543210.js", "new"),
    ]);
    let (p, manifest) = publish(&preview, "pr-7", Some(&live), &world);
    for t in &p.tasks {
        let key = match t {
            Task::Put { key, .. } | Task::Copy { key, .. } => key,
        };
        assert!(
            key.starts_with("pr-7/") || key.starts_with("_immutable/"),
            "{key}"
        );
    }
    // What it does not write it serves from the live version's folder, unchanged shards only.
    let n = p.shards;
    let changed = shards::shard_of("index.html", n);
    for f in manifest.files.iter().filter(|f| f.key.starts_with("v1/")) {
        assert_ne!(shards::shard_of(&f.path, n), changed, "{}", f.path);
    }
    let a_css = if shards::shard_of("a.css", n) == changed {
        vec![("v1/a.css", "pr-7/a.css")]
    } else {
        vec![]
    };
    assert_eq!(copies(&p), a_css);
    assert_eq!(manifest.file(JS), live.file(JS));
}

#[test]
fn a_re_publish_must_carry_the_same_site() {
    let s = site(vec![file("index.html", "1"), file(JS, "js")]);
    let (_, manifest) = publish(&s, "v1", None, &World::default());
    assert!(same_site(&manifest, &s, "v1"));
    let mut moved = manifest.clone();
    let index = moved
        .files
        .iter()
        .position(|f| f.path == "index.html")
        .unwrap();
    moved.files[index].key = "v1/elsewhere.html".into();
    assert!(!same_site(&moved, &s, "v1"), "another path");
    let mut shared = manifest.clone();
    shared.files[index].key = "v0/index.html".into();
    assert!(
        same_site(&shared, &s, "v1"),
        "an older version's unchanged shard"
    );
    let changed = site(vec![file("index.html", "2"), file(JS, "js")]);
    assert!(!same_site(&manifest, &changed, "v1"));
    let more = site(vec![
        file("index.html", "1"),
        file(JS, "js"),
        file("b", "b"),
    ]);
    assert!(!same_site(&manifest, &more, "v1"));
}

#[test]
fn files_the_scan_leaves_out_never_reach_the_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (rel, bytes) in [
        ("index.html", "<html>"),
        (".env", "SECRET=1"),
        (".git/HEAD", "x"),
        (".well-known/security.txt", "x"),
        ("Thumbs.db", "x"),
        ("drafts/new.html", "x"),
    ] {
        let p = d.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let rules = ScanRules {
        exclude: vec!["drafts/".into()],
    };
    let s = scan_with(d, &[], &rules).unwrap();
    let p = plan(&s, "v1", None, &World::default().bucket()).unwrap();
    let keys: Vec<&str> = p.entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(keys, ["v1/.well-known/security.txt", "v1/index.html"]);
    assert_eq!(p.tasks.len(), 2);
}

mod shard_plans;
