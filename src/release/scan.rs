//! Reading a built site from disk: every file with its hashes, Content-Type, Cache-Control,
//! whether its name carries a content hash, and the precompressed siblings the build made.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use md5::Md5;
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::ReleaseError;
use super::hashed::is_content_hashed;

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Browsers revalidate un-hashed files on every use; with ETags that is a 304, not a download.
pub const REVALIDATE: &str = "no-cache";

/// Files desktops leave behind that a site never serves (dot-files are left out anyway).
const JUNK_FILES: &[&str] = &["Thumbs.db", "desktop.ini"];
/// The one dot-directory a site serves: RFC 8615's well-known URIs (security.txt, assetlinks).
const WELL_KNOWN: &str = ".well-known";

/// Why a file of the build output is not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LeftOut {
    /// A dot-file or dot-directory (`.env`, `.git/`): private by convention.
    DotFile,
    /// Matched a `publish.exclude` pattern.
    Excluded,
    /// Desktop litter (`Thumbs.db`, `desktop.ini`).
    Junk,
}

impl LeftOut {
    pub fn describe(self) -> &'static str {
        match self {
            LeftOut::DotFile => "dot-files",
            LeftOut::Excluded => "by publish.exclude",
            LeftOut::Junk => "desktop files",
        }
    }
}

/// A file or directory (`dir/`) of the build output that is not published.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeftOutFile {
    pub path: String,
    pub reason: LeftOut,
}

/// `, 3 left out (2 dot-files, 1 by publish.exclude)` for a summary line, or nothing.
pub fn summarize_left_out(list: &[LeftOutFile]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut counts = BTreeMap::new();
    for file in list {
        *counts.entry(file.reason).or_insert(0usize) += 1;
    }
    let why: Vec<String> = counts
        .iter()
        .map(|(w, n)| format!("{n} {}", w.describe()))
        .collect();
    format!(", {} left out ({})", list.len(), why.join(", "))
}

/// Refuses a site directory that is the project folder or above it: publishing it would make
/// the project's sources and secrets (Cargo.toml, `.env`, keys) public.
pub fn refuse_project_dir(site: &Path, project_root: &Path) -> Result<(), String> {
    if let (Ok(site_c), Ok(root)) = (site.canonicalize(), project_root.canonicalize())
        && root.starts_with(&site_c)
    {
        return Err(format!(
            "{} holds the project itself ({}): publishing it would make its sources and secrets public. Point it at the build's output folder (e.g. `dist`)",
            site.display(),
            root.display()
        ));
    }
    Ok(())
}

/// What a scan leaves out beyond its fixed rules: the `publish.exclude` patterns.
#[derive(Debug, Clone, Default)]
pub struct ScanRules {
    pub exclude: Vec<String>,
}

impl ScanRules {
    /// Compiles the patterns (gitignore syntax, relative to the site root); a bad one is an
    /// error naming it, raised before anything is read or sent.
    pub fn matcher(&self, root: &Path) -> Result<ignore::gitignore::Gitignore, String> {
        let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
        for pattern in &self.exclude {
            builder
                .add_line(None, pattern)
                .map_err(|e| format!("`{pattern}`: {e}"))?;
        }
        builder.build().map_err(|e| e.to_string())
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    Br,
    Gzip,
}

impl Encoding {
    pub fn suffix(self) -> &'static str {
        match self {
            Encoding::Br => ".br",
            Encoding::Gzip => ".gz",
        }
    }
    pub fn header(self) -> &'static str {
        match self {
            Encoding::Br => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digests {
    pub size: u64,
    pub sha256: String,
    /// MD5 in hex: what S3 reports as the ETag of a single-part upload, so a listing alone can
    /// tell whether an earlier, interrupted publish already sent a file.
    pub md5: String,
}

#[derive(Debug, Clone)]
pub struct SiteFile {
    /// Relative to the site root, `/`-separated.
    pub path: String,
    pub abs: PathBuf,
    pub digests: Digests,
    pub content_type: String,
    pub cache_control: &'static str,
    pub hashed: bool,
    /// Whether brotli/gzip siblings are to be served for this file.
    pub precompress: bool,
    /// Siblings the build already wrote (`app.wasm.br`); others are made at upload time.
    pub prebuilt: BTreeMap<Encoding, (PathBuf, Digests)>,
}

#[derive(Debug)]
pub struct Site {
    pub root: PathBuf,
    pub files: Vec<SiteFile>,
    /// Siblings dropped because their base file's type is not precompressed.
    pub dropped_siblings: Vec<String>,
    /// Files and directories (`dir/`) of the build output that are not published, and why.
    pub left_out: Vec<LeftOutFile>,
}

impl Site {
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.digests.size).sum()
    }
}

/// Reads the whole directory before anything is uploaded, so a missing, empty or unreadable
/// site fails without touching the bucket.
pub fn scan(root: &Path, precompress: &[String]) -> Result<Site, ReleaseError> {
    scan_with(root, precompress, &ScanRules::default())
}

/// [`scan`] with `publish.exclude` patterns.
/// A scan running on the blocking pool: started as early as the command knows the directory,
/// so the files are hashed while the bucket is located and read.
pub struct Pending {
    dir: PathBuf,
    task: tokio::task::JoinHandle<Result<Site, ReleaseError>>,
}

impl Pending {
    pub fn start(dir: PathBuf, precompress: Vec<String>, rules: ScanRules) -> Self {
        let root = dir.clone();
        let task = tokio::task::spawn_blocking(move || scan_with(&root, &precompress, &rules));
        Pending { dir, task }
    }

    pub async fn wait(self) -> Result<Site, ReleaseError> {
        self.task.await.map_err(|e| ReleaseError::Unreadable {
            path: self.dir,
            message: e.to_string(),
        })?
    }
}

pub fn scan_with(
    root: &Path,
    precompress: &[String],
    rules: &ScanRules,
) -> Result<Site, ReleaseError> {
    let meta = std::fs::metadata(root).map_err(|e| ReleaseError::SiteDir {
        dir: root.to_path_buf(),
        message: e.to_string(),
    })?;
    if !meta.is_dir() {
        return Err(ReleaseError::SiteDir {
            dir: root.to_path_buf(),
            message: "not a directory".into(),
        });
    }
    let canonical_root = std::fs::canonicalize(root).map_err(|e| ReleaseError::SiteDir {
        dir: root.to_path_buf(),
        message: e.to_string(),
    })?;
    let excluded = rules
        .matcher(root)
        .map_err(|message| ReleaseError::BadExclude { message })?;
    let left_out = std::cell::RefCell::new(Vec::new());
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            let is_dir = e.file_type().is_dir();
            let name = e.file_name().to_string_lossy();
            let reason =
                if name.starts_with('.') && !(is_dir && e.depth() == 1 && name == WELL_KNOWN) {
                    Some(LeftOut::DotFile)
                } else if !is_dir && JUNK_FILES.contains(&name.as_ref()) {
                    Some(LeftOut::Junk)
                } else if excluded.matched(e.path(), is_dir).is_ignore() {
                    Some(LeftOut::Excluded)
                } else {
                    None
                };
            if let Some(reason) = reason {
                let rel = e.path().strip_prefix(root).unwrap_or(e.path());
                let mut shown = rel.to_string_lossy().replace('\\', "/");
                if is_dir {
                    shown.push('/');
                }
                left_out.borrow_mut().push(LeftOutFile {
                    path: shown,
                    reason,
                });
            }
            reason.is_none()
        });
    for entry in walker {
        let entry = entry.map_err(|e| ReleaseError::Unreadable {
            path: e
                .path()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| root.to_path_buf()),
            message: e.to_string(),
        })?;
        let mut abs = entry.path().to_path_buf();
        if entry.path_is_symlink() {
            // Follow a link only when it stays inside the site: a link to ~/.ssh must not ship.
            let target =
                std::fs::canonicalize(entry.path()).map_err(|e| ReleaseError::Unreadable {
                    path: entry.path().to_path_buf(),
                    message: e.to_string(),
                })?;
            if !target.starts_with(&canonical_root) {
                return Err(ReleaseError::SymlinkEscapes {
                    link: entry.path().to_path_buf(),
                    target,
                });
            }
            if target.is_dir() {
                continue; // its files are reached through their real path
            }
            abs = target;
        } else if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .map_err(|_| ReleaseError::Unreadable {
                path: entry.path().to_path_buf(),
                message: "outside the site directory".into(),
            })?;
        // An object key is UTF-8: a lossy conversion would give two different files one key
        // and silently drop one of them.
        let mut parts = Vec::new();
        for c in rel.components() {
            match c.as_os_str().to_str() {
                Some(s) => parts.push(s.to_string()),
                None => {
                    return Err(ReleaseError::NonUtf8Name {
                        path: entry.path().to_path_buf(),
                    });
                }
            }
        }
        let rel = parts.join("/");
        if rel.starts_with("_cloudfront-host/") {
            return Err(ReleaseError::ReservedPath { path: rel });
        }
        found.insert(rel, abs);
    }
    let left_out = left_out.into_inner();
    if found.is_empty() {
        return Err(ReleaseError::SiteDir {
            dir: root.to_path_buf(),
            message: "is empty: build the site first".into(),
        });
    }

    let wants = |path: &str| {
        path.rsplit_once('.')
            .is_some_and(|(_, ext)| precompress.iter().any(|p| p.eq_ignore_ascii_case(ext)))
    };
    let mut files = Vec::new();
    let mut dropped = Vec::new();
    let mut siblings: Vec<(usize, Encoding, &PathBuf)> = Vec::new();
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    let mut pending: Vec<(&str, Encoding, &PathBuf)> = Vec::new();
    for (path, abs) in &found {
        let sibling = [Encoding::Br, Encoding::Gzip]
            .into_iter()
            .find_map(|enc| path.strip_suffix(enc.suffix()).map(|base| (enc, base)));
        if let Some((enc, base)) = sibling
            && found.contains_key(base)
        {
            if wants(base) {
                pending.push((base, enc, abs));
            } else {
                dropped.push(path.clone());
            }
            continue;
        }
        let hashed = is_content_hashed(path);
        index.insert(path, files.len());
        files.push(SiteFile {
            digests: Digests::default(),
            content_type: content_type(path),
            cache_control: if hashed { IMMUTABLE } else { REVALIDATE },
            hashed,
            precompress: wants(path),
            prebuilt: BTreeMap::new(),
            path: path.clone(),
            abs: abs.clone(),
        });
    }
    for (base, enc, abs) in pending {
        if let Some(&i) = index.get(base) {
            siblings.push((i, enc, abs));
        }
    }
    // Hashing is most of a scan's time (SHA-256 and MD5 of every byte): every core does it.
    let digests: Vec<Digests> = files
        .par_iter()
        .map(|f| digest_file(&f.abs))
        .collect::<Result<_, _>>()?;
    for (file, d) in files.iter_mut().zip(digests) {
        file.digests = d;
    }
    let prebuilt: Vec<Digests> = siblings
        .par_iter()
        .map(|(_, _, abs)| digest_file(abs))
        .collect::<Result<_, _>>()?;
    for ((i, enc, abs), d) in siblings.into_iter().zip(prebuilt) {
        files[i].prebuilt.insert(enc, (abs.clone(), d));
    }
    Ok(Site {
        root: root.to_path_buf(),
        files,
        dropped_siblings: dropped,
        left_out,
    })
}

pub fn digest_file(path: &Path) -> Result<Digests, ReleaseError> {
    let unreadable = |e: std::io::Error| ReleaseError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut file = std::fs::File::open(path).map_err(unreadable)?;
    let mut sha = Sha256::new();
    let mut md5 = Md5::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        md5.update(&buf[..n]);
        size += n as u64;
    }
    Ok(Digests {
        size,
        sha256: hex::encode(sha.finalize()),
        md5: hex::encode(md5.finalize()),
    })
}

/// Content-Type by extension. Browsers refuse `WebAssembly.instantiateStreaming` without
/// `application/wasm`, and module scripts without a JavaScript type, so those are pinned.
pub fn content_type(path: &str) -> String {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let pinned = match ext.as_str() {
        "wasm" => Some("application/wasm"),
        "js" | "mjs" | "cjs" => Some("text/javascript; charset=utf-8"),
        "html" | "htm" => Some("text/html; charset=utf-8"),
        "css" => Some("text/css; charset=utf-8"),
        "json" | "map" => Some("application/json"),
        "webmanifest" => Some("application/manifest+json"),
        "svg" => Some("image/svg+xml"),
        "txt" => Some("text/plain; charset=utf-8"),
        "xml" => Some("application/xml"),
        "woff2" => Some("font/woff2"),
        "woff" => Some("font/woff"),
        "ttf" => Some("font/ttf"),
        "otf" => Some("font/otf"),
        "ico" => Some("image/x-icon"),
        "avif" => Some("image/avif"),
        "webp" => Some("image/webp"),
        "md" => Some("text/markdown; charset=utf-8"),
        _ => None,
    };
    if let Some(t) = pinned {
        return t.to_string();
    }
    let guess = mime_guess::from_path(path).first_or_octet_stream();
    if guess.type_() == mime_guess::mime::TEXT {
        format!("{guess}; charset=utf-8")
    } else {
        guess.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_browsers_insist_on() {
        assert_eq!(content_type("app_bg.wasm"), "application/wasm");
        assert_eq!(
            content_type("a/b/app.mjs"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(
            content_type("site.webmanifest"),
            "application/manifest+json"
        );
        assert_eq!(content_type("font.WOFF2"), "font/woff2");
        assert_eq!(content_type("data.csv"), "text/csv; charset=utf-8");
        assert_eq!(content_type("image.png"), "image/png");
        assert_eq!(content_type("LICENSE"), "application/octet-stream");
    }

    fn write(dir: &Path, rel: &str, bytes: &[u8]) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }

    #[test]
    fn scan_classifies_and_attaches_siblings() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        write(d, "index.html", b"<html>");
        write(d, "app-0123456789abcdef_bg.wasm", b"\0asm");
        write(d, "app-0123456789abcdef_bg.wasm.br", b"br");
        write(d, "app-0123456789abcdef.js", b"js");
        write(d, "app-0123456789abcdef.js.br", b"jsbr");
        write(d, "downloads/data.tar.gz", b"gz");
        write(d, ".DS_Store", b"x");
        write(d, ".git/HEAD", b"x");
        write(d, ".well-known/security.txt", b"x");
        write(d, ".env", b"SECRET=1");
        write(d, "sub/.well-known/x", b"x");
        write(d, "notes/draft.md", b"x");
        write(d, "Thumbs.db", b"x");
        let rules = ScanRules {
            exclude: vec!["notes/".into()],
        };
        let site = scan_with(d, &["wasm".to_string()], &rules).unwrap();
        let left: Vec<(&str, LeftOut)> = site
            .left_out
            .iter()
            .map(|l| (l.path.as_str(), l.reason))
            .collect();
        assert_eq!(
            left,
            [
                (".DS_Store", LeftOut::DotFile),
                (".env", LeftOut::DotFile),
                (".git/", LeftOut::DotFile),
                ("Thumbs.db", LeftOut::Junk),
                ("notes/", LeftOut::Excluded),
                ("sub/.well-known/", LeftOut::DotFile),
            ]
        );
        let paths: Vec<&str> = site.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                ".well-known/security.txt",
                "app-0123456789abcdef.js",
                "app-0123456789abcdef_bg.wasm",
                "downloads/data.tar.gz",
                "index.html"
            ]
        );
        let wasm = &site.files[2];
        assert!(wasm.hashed && wasm.precompress);
        assert_eq!(wasm.cache_control, IMMUTABLE);
        assert!(wasm.prebuilt.contains_key(&Encoding::Br));
        assert_eq!(site.dropped_siblings, ["app-0123456789abcdef.js.br"]);
        let index = &site.files[4];
        assert_eq!((index.cache_control, index.hashed), (REVALIDATE, false));
        assert_eq!(index.digests.md5, "166248a6129a1e4370d20adc2d4c23f3");
        assert_eq!(index.digests.size, 6);
    }

    #[test]
    fn missing_empty_and_escaping_sites_fail_early() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            scan(&tmp.path().join("nope"), &[]),
            Err(ReleaseError::SiteDir { .. })
        ));
        assert!(matches!(
            scan(tmp.path(), &[]),
            Err(ReleaseError::SiteDir { .. })
        ));
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), tmp.path().join("link")).unwrap();
        assert!(matches!(
            scan(tmp.path(), &[]),
            Err(ReleaseError::SymlinkEscapes { .. })
        ));
    }
}
