//! The pipeline's S3 source: the project zipped (honouring .gitignore) into the artifact
//! bucket, and an execution started that builds exactly that object under its own version id.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::infra::pipeline::{self, SOURCE_KEY};
use crate::project::Project;
use crate::ui::Ui;

#[derive(Debug, Clone, Serialize)]
pub struct UploadReport {
    pub bucket: String,
    pub key: String,
    pub object_version: Option<String>,
    pub etag: Option<String>,
    pub files: usize,
    pub bytes: u64,
    /// The version id the build publishes under.
    pub version: String,
    pub pipeline: String,
    pub execution_id: String,
}

/// Zips, uploads and starts the pipeline on that exact object version.
pub async fn upload(
    project: &Project,
    aws: &crate::aws::Aws,
    names: &crate::names::Names,
    ui: &Ui,
) -> anyhow::Result<UploadReport> {
    let root = crate::workspace::repository_root(&project.root);
    let skip: Vec<PathBuf> = project
        .workspace
        .as_ref()
        .map(|w| vec![w.target_dir.clone()])
        .unwrap_or_default();
    ui.status("Zipping", root.display());
    let zip = tempfile::NamedTempFile::new().context("could not create a temporary file")?;
    let files = zip_dir(&root, &skip, zip.as_file())?;
    let bytes = zip.as_file().metadata()?.len();
    let bucket = names.artifact_bucket();
    let started = std::time::SystemTime::now();
    let body = aws_sdk_s3::primitives::ByteStream::from_path(zip.path())
        .await
        .context("could not read the zip")?;
    let put = aws
        .s3()
        .put_object()
        .bucket(&bucket)
        .key(SOURCE_KEY)
        .content_type("application/zip")
        .metadata(
            "uploaded-at",
            humantime::format_rfc3339_seconds(started).to_string(),
        )
        .metadata("tool-version", env!("CARGO_PKG_VERSION"))
        .body(body)
        .send()
        .await
        .map_err(|e| {
            crate::aws::AwsError::from_sdk(format_args!("upload to s3://{bucket}/{SOURCE_KEY}"), &e)
                .with_advice("has `deploy` created the pipeline?")
        })?;
    let object_version = put.version_id().map(str::to_string).filter(|v| v != "null");
    let etag = put.e_tag().map(|e| e.trim_matches('"').to_string());
    let version = version_id(started, object_version.as_deref(), etag.as_deref());
    crate::release::manifest::validate_version_id(&version).map_err(|e| anyhow::anyhow!(e))?;
    let name = names.pipeline();
    let execution_id =
        pipeline::start_execution(aws, &name, Some(&version), object_version.as_deref()).await?;
    ui.status(
        "Started",
        format_args!("pipeline {name} (execution {execution_id}, version {version})"),
    );
    Ok(UploadReport {
        bucket,
        key: SOURCE_KEY.to_string(),
        object_version,
        etag,
        files,
        bytes,
        version,
        pipeline: name,
        execution_id,
    })
}

/// `s3-<UTC time>-<object version or ETag>`: the time orders uploads, the S3 object's own
/// version (unique per PUT) keeps two uploads in the same second apart.
pub fn version_id(
    at: std::time::SystemTime,
    object_version: Option<&str>,
    etag: Option<&str>,
) -> String {
    let stamp = humantime::format_rfc3339_seconds(at)
        .to_string()
        .replace(['-', ':'], "")
        .trim_end_matches('Z')
        .to_string();
    let unique: String = object_version
        .or(etag)
        .unwrap_or("noversion")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect();
    format!("s3-{stamp}-{unique}")
}

/// Writes every file under `root` that .gitignore (and .ignore, .git/info/exclude) does not
/// exclude, plus nothing under `.git` or `skip`; returns how many files went in.
pub fn zip_dir(root: &Path, skip: &[PathBuf], out: &std::fs::File) -> anyhow::Result<usize> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(out);
    let root_owned = root.to_path_buf();
    let skip: Vec<PathBuf> = skip.to_vec();
    let walk = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .sort_by_file_name(|a, b| a.cmp(b))
        .filter_entry(move |e| {
            let p = e.path();
            !(e.file_name() == ".git" && p.parent() == Some(root_owned.as_path())
                || skip.iter().any(|s| p == s))
        })
        .build();
    let mut files = 0;
    for entry in walk {
        let entry = entry.context("could not walk the project")?;
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .context("walked outside the project")?;
        let name = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let mut options =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = entry
                .metadata()
                .map(|m| m.permissions().mode())
                .unwrap_or(0o644);
            options = options.unix_permissions(mode & 0o777);
        }
        writer
            .start_file(name.as_str(), options)
            .with_context(|| format!("could not add {name} to the zip"))?;
        let data = std::fs::read(entry.path())
            .with_context(|| format!("could not read {}", entry.path().display()))?;
        writer.write_all(&data)?;
        files += 1;
    }
    writer.finish().context("could not finish the zip")?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zips_what_gitignore_keeps() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join(".gitignore"), "target/\n*.log\n").unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::create_dir_all(root.join("target/debug")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("dist")).unwrap();
        std::fs::write(root.join("src/main.rs"), "fn main() {}").unwrap();
        std::fs::write(root.join("target/debug/big"), "x").unwrap();
        std::fs::write(root.join("build.log"), "x").unwrap();
        std::fs::write(root.join(".git/HEAD"), "ref").unwrap();
        std::fs::write(root.join("dist/skip-me"), "x").unwrap();
        std::fs::write(root.join(".env.example"), "A=1").unwrap();
        let out = tempfile::NamedTempFile::new().unwrap();
        let n = zip_dir(root, &[root.join("dist")], out.as_file()).unwrap();
        let mut archive = zip::ZipArchive::new(std::fs::File::open(out.path()).unwrap()).unwrap();
        let mut names: Vec<String> = (0..archive.len())
            .map(|i| archive.by_index(i).unwrap().name().to_string())
            .collect();
        names.sort();
        assert_eq!(names, vec![".env.example", ".gitignore", "src/main.rs"]);
        assert_eq!(n, 3);
    }

    #[test]
    fn version_ids_are_valid_and_differ_by_object_version() {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let a = version_id(t, Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"), None);
        let b = version_id(t, Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHZ"), None);
        assert!(
            a.starts_with("s3-20231114T221320-3HL4kqtJlcpXroDTDmJrmSpXd3dIbrH"),
            "{a}"
        );
        assert_ne!(a, b, "two uploads in the same second");
        assert!(crate::release::manifest::validate_version_id(&a).is_ok());
        let c = version_id(t, None, Some("d41d8cd98f00b204e9800998ecf8427e"));
        assert_eq!(c, "s3-20231114T221320-d41d8cd98f00b204e9800998ecf8427e");
        assert!(crate::release::manifest::validate_version_id(&c).is_ok());
    }
}
