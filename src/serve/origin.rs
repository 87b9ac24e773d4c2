//! Where the local edge reads the key the function routed to: a built site directory (served
//! as one version, `local`) or the deployed bucket. Either answers with the object and the
//! metadata publish would have given it, so both origins look the same to a viewer.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::{self, HeaderName, HeaderValue};

use super::{Live, ServeError};
use crate::release::hashed::is_content_hashed;
use crate::release::manifest::IMMUTABLE_PREFIX;
use crate::release::scan::{IMMUTABLE, REVALIDATE, content_type};
use crate::release::{Release, ReleaseError};
use crate::settings::Settings;

/// The version id a local directory is served as.
pub const LOCAL_VERSION: &str = "local";

/// Where the objects come from.
pub enum Origin {
    /// A built site: `<version>/<path>` and `_immutable/<path>` both map to `<root>/<path>`.
    Dir { root: PathBuf },
    /// The deployed bucket, through the SDK.
    Bucket {
        s3: aws_sdk_s3::Client,
        bucket: String,
    },
}

/// The built site to serve: `dir` (`--dir`), else `build.output_dir` under `root`. Returns
/// the path as the user knows it (for messages) and its canonical form (reads must stay
/// inside it).
pub fn site_dir(
    dir: Option<&Path>,
    settings: &Settings,
    root: &Path,
) -> Result<(PathBuf, PathBuf), ServeError> {
    let dir = match (dir, &settings.build.output_dir) {
        (Some(dir), _) => dir.to_path_buf(),
        (None, Some(out)) => root.join(out),
        (None, None) => return Err(ServeError::NoSiteDir),
    };
    match std::fs::canonicalize(&dir) {
        Ok(d) if d.is_dir() => Ok((dir, d)),
        Ok(_) => Err(ServeError::NotADirectory(dir)),
        Err(error) => Err(ServeError::SiteDir {
            dir,
            error,
            build_hint: settings
                .build
                .command
                .as_deref()
                .map(|c| format!(" (the build command is `{c}`)"))
                .unwrap_or_default(),
        }),
    }
}

/// What `serve` reads from the bucket, and how it was chosen.
pub struct BucketSource {
    pub origin: Origin,
    pub live: Live,
    pub bucket: String,
    /// The version served: the fixed one, else the live one at start (`None`: nothing live).
    pub version: Option<String>,
    /// The preview the fixed version came from.
    pub preview: Option<String>,
    /// The version follows the live pointer.
    pub follows_live: bool,
}

/// Serves `preview`'s version, else `version`, else whatever the live pointer names.
pub async fn bucket_source(
    release: Release,
    preview: Option<&str>,
    version: Option<&str>,
) -> Result<BucketSource, ReleaseError> {
    let fixed = match preview {
        Some(name) => Some(release.preview_version(name).await?),
        None => version.map(String::from),
    };
    let mut value = None;
    if let Some(v) = &fixed {
        // Only a version with a manifest is complete; serving half a version would show what
        // no visitor can get.
        let Some(manifest) = release.manifest(v).await? else {
            return Err(ReleaseError::NoSuchVersion(v.clone()));
        };
        value = Some(
            crate::release::shards::pointer_value(&manifest)
                .map_err(ReleaseError::InvalidVersion)?,
        );
    }
    let Release {
        s3,
        pointer,
        target,
        ..
    } = release;
    let (live, version) = match (fixed, value) {
        (Some(v), Some(value)) => (Live::Fixed(value), Some(v)),
        _ => {
            let now = pointer.read().await?;
            (Live::Pointer(pointer), now)
        }
    };
    Ok(BucketSource {
        follows_live: matches!(live, Live::Pointer(_)),
        origin: Origin::Bucket {
            s3,
            bucket: target.bucket.clone(),
        },
        live,
        bucket: target.bucket,
        version,
        preview: preview.map(String::from),
    })
}

/// The outcome of one read.
pub(super) enum Fetched {
    Found(Object),
    Missing,
    /// A key no file may have (`..`, `.`, a backslash or NUL): the viewer's fault.
    Invalid,
    /// Any other failure than the object's absence.
    Failed(String),
}

impl Origin {
    /// The object under the (percent-decoded) bucket key. `precompress` holds the normalised
    /// extensions whose `.br`/`.gz` siblings the function may pick.
    pub(super) async fn fetch(&self, key: &str, head: bool, precompress: &[String]) -> Fetched {
        match self {
            Origin::Dir { root } => match dir_path(key) {
                DirKey::Path(rel) => read_dir_object(root, &rel, head, precompress).await,
                DirKey::Invalid => Fetched::Invalid,
                DirKey::Outside => Fetched::Missing,
            },
            Origin::Bucket { s3, bucket } => read_bucket_object(s3, bucket, key, head).await,
        }
    }
}

/// An object and the metadata that becomes its response headers.
pub(super) struct Object {
    content_type: Option<String>,
    cache_control: Option<String>,
    content_encoding: Option<String>,
    etag: Option<String>,
    /// The answer depends on Accept-Encoding (a precompressed type).
    vary: bool,
    len: u64,
    body: Bytes,
}

impl Object {
    pub(super) fn into_response(self) -> Response<Full<Bytes>> {
        let mut r = Response::new(Full::new(self.body));
        let h = r.headers_mut();
        let mut set = |name: HeaderName, value: Option<String>| {
            if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                h.insert(name, v);
            }
        };
        set(header::CONTENT_TYPE, self.content_type);
        set(header::CACHE_CONTROL, self.cache_control);
        set(header::CONTENT_ENCODING, self.content_encoding);
        set(header::ETAG, self.etag);
        set(header::CONTENT_LENGTH, Some(self.len.to_string()));
        if self.vary {
            set(header::VARY, Some("Accept-Encoding".into()));
        }
        r
    }
}

fn is_precompressed(path: &str, precompress: &[String]) -> bool {
    path.rsplit_once('.')
        .is_some_and(|(_, ext)| precompress.contains(&ext.to_ascii_lowercase()))
}

async fn read_dir_object(root: &Path, rel: &str, head: bool, precompress: &[String]) -> Fetched {
    // A `.br`/`.gz` key for a precompressed type is a sibling the function chose; the build
    // may not have written one (publish makes them at upload time): then the file itself goes
    // out, uncompressed, which every viewer accepts.
    let sibling = [(".br", "br"), (".gz", "gzip")]
        .into_iter()
        .find_map(|(suffix, encoding)| {
            let base = rel.strip_suffix(suffix)?;
            let ext = base.rsplit_once('.')?.1.to_ascii_lowercase();
            precompress
                .contains(&ext)
                .then(|| (base.to_string(), encoding))
        });
    let mut candidates = Vec::new();
    if let Some((base, encoding)) = &sibling {
        candidates.push((rel.to_string(), base.clone(), Some(*encoding)));
        candidates.push((base.clone(), base.clone(), None));
    } else {
        candidates.push((rel.to_string(), rel.to_string(), None));
    }
    for (file, base, encoding) in candidates {
        match read_local(root, &file, head).await {
            Ok(Some((body, len))) => {
                // The headers publish would have stored with the object.
                let hashed = is_content_hashed(&base);
                return Fetched::Found(Object {
                    content_type: Some(content_type(&base)),
                    cache_control: Some(if hashed { IMMUTABLE } else { REVALIDATE }.into()),
                    content_encoding: encoding.map(String::from),
                    etag: None,
                    vary: is_precompressed(&base, precompress),
                    len,
                    body,
                });
            }
            Ok(None) => continue,
            Err(e) => return Fetched::Failed(e),
        }
    }
    Fetched::Missing
}

enum DirKey {
    /// A path relative to the site directory.
    Path(String),
    /// `..`, `.`, a backslash or NUL: never reaches the file system.
    Invalid,
    /// A key outside the version and the immutable area (or an empty path segment).
    Outside,
}

/// Maps a bucket key to a file of the local site: `local/<path>` and `_immutable/<path>` are
/// both `<path>`.
fn dir_path(key: &str) -> DirKey {
    let rel = match key
        .strip_prefix(LOCAL_VERSION)
        .and_then(|k| k.strip_prefix('/'))
        .or_else(|| key.strip_prefix(IMMUTABLE_PREFIX))
    {
        Some(rel) => rel,
        None => return DirKey::Outside,
    };
    let mut any_empty = false;
    for part in rel.split('/') {
        if part == ".." || part == "." || part.contains('\\') || part.contains('\0') {
            return DirKey::Invalid;
        }
        any_empty |= part.is_empty();
    }
    if any_empty {
        DirKey::Outside
    } else {
        DirKey::Path(rel.to_string())
    }
}

/// A file of the site directory: `Ok(None)` when missing, a directory, or a link leading
/// outside the site.
async fn read_local(root: &Path, rel: &str, head: bool) -> Result<Option<(Bytes, u64)>, String> {
    let path = root.join(rel);
    let real = match tokio::fs::canonicalize(&path).await {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if !real.starts_with(root) {
        return Ok(None);
    }
    let meta = match tokio::fs::metadata(&real).await {
        Ok(m) if m.is_file() => m,
        Ok(_) => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if head {
        return Ok(Some((Bytes::new(), meta.len())));
    }
    match tokio::fs::read(&real).await {
        Ok(bytes) => {
            let len = bytes.len() as u64;
            Ok(Some((Bytes::from(bytes), len)))
        }
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

async fn read_bucket_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    head: bool,
) -> Fetched {
    // HeadObject has no error body to name NoSuchKey: its status is all there is.
    let missing = |status: Option<u16>| status == Some(404);
    if head {
        return match s3.head_object().bucket(bucket).key(key).send().await {
            Ok(out) => Fetched::Found(Object {
                content_type: out.content_type().map(String::from),
                cache_control: out.cache_control().map(String::from),
                content_encoding: out.content_encoding().map(String::from),
                etag: out.e_tag().map(String::from),
                vary: false,
                len: out.content_length().unwrap_or(0).max(0) as u64,
                body: Bytes::new(),
            }),
            Err(e) if missing(e.raw_response().map(|r| r.status().as_u16())) => Fetched::Missing,
            Err(e) => Fetched::Failed(crate::aws::describe(&e)),
        };
    }
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let meta = Object {
                content_type: out.content_type().map(String::from),
                cache_control: out.cache_control().map(String::from),
                content_encoding: out.content_encoding().map(String::from),
                etag: out.e_tag().map(String::from),
                vary: false,
                len: 0,
                body: Bytes::new(),
            };
            match out.body.collect().await {
                Ok(data) => {
                    let body = data.into_bytes();
                    Fetched::Found(Object {
                        len: body.len() as u64,
                        body,
                        ..meta
                    })
                }
                Err(e) => Fetched::Failed(e.to_string()),
            }
        }
        Err(e)
            if e.as_service_error().is_some_and(|s| s.is_no_such_key())
                || missing(e.raw_response().map(|r| r.status().as_u16())) =>
        {
            Fetched::Missing
        }
        Err(e) => Fetched::Failed(crate::aws::describe(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_keys_stay_inside_the_site() {
        assert!(matches!(dir_path("local/a/b.js"), DirKey::Path(p) if p == "a/b.js"));
        assert!(
            matches!(dir_path("_immutable/x-0123456789abcdef.js"), DirKey::Path(p) if p == "x-0123456789abcdef.js")
        );
        assert!(matches!(dir_path("local/../x"), DirKey::Invalid));
        assert!(matches!(dir_path("other/x"), DirKey::Outside));
        assert!(matches!(dir_path("local//x"), DirKey::Outside));
        assert!(matches!(dir_path("localx/y"), DirKey::Outside));
    }
}
