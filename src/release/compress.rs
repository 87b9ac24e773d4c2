//! Brotli and gzip siblings for the file types CloudFront will not compress well itself (wasm
//! above 10 MB above all), written to temporary files so memory stays flat.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::ReleaseError;
use super::scan::{Digests, Encoding, SiteFile, digest_file};

/// A folder for siblings compressed at upload time; it lives until the uploads read them.
pub fn scratch_dir() -> Result<tempfile::TempDir, ReleaseError> {
    tempfile::tempdir().map_err(|e| io_error(&std::env::temp_dir(), e))
}

/// The bytes of `file`'s `encoding` sibling: the build's own, else compressed now into
/// `scratch` (off the async threads).
pub async fn sibling(
    file: &SiteFile,
    encoding: Encoding,
    brotli_level: u32,
    scratch: &Path,
) -> Result<(PathBuf, Digests), ReleaseError> {
    if let Some((path, digests)) = file.prebuilt.get(&encoding) {
        return Ok((path.clone(), digests.clone()));
    }
    let source = file.abs.clone();
    let out = scratch.to_path_buf();
    tokio::task::spawn_blocking(move || compress(&source, encoding, brotli_level, &out))
        .await
        .map_err(|e| ReleaseError::Unreadable {
            path: file.abs.clone(),
            message: e.to_string(),
        })?
}

pub fn compress(
    source: &Path,
    encoding: Encoding,
    brotli_level: u32,
    out_dir: &Path,
) -> Result<(PathBuf, Digests), ReleaseError> {
    let name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    // Several files may share a name in different folders; a unique temp file avoids clashes.
    let out = tempfile::Builder::new()
        .prefix(&name)
        .suffix(encoding.suffix())
        .tempfile_in(out_dir)
        .map_err(|e| io_error(out_dir, e))?;
    let (file, path) = out.keep().map_err(|e| io_error(out_dir, e.error))?;
    let input = std::fs::File::open(source).map_err(|e| io_error(source, e))?;
    let mut reader = BufReader::new(input);
    let mut writer = BufWriter::new(file);
    match encoding {
        Encoding::Br => {
            let params = brotli::enc::BrotliEncoderParams {
                quality: brotli_level.min(11) as i32,
                lgwin: 24,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut reader, &mut writer, &params)
                .map_err(|e| io_error(source, e))?;
        }
        Encoding::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(&mut writer, flate2::Compression::best());
            std::io::copy(&mut reader, &mut gz).map_err(|e| io_error(source, e))?;
            gz.finish().map_err(|e| io_error(source, e))?;
        }
    }
    writer.flush().map_err(|e| io_error(&path, e))?;
    drop(writer);
    let digests = digest_file(&path)?;
    Ok((path, digests))
}

fn io_error(path: &Path, e: std::io::Error) -> ReleaseError {
    ReleaseError::Unreadable {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("app.wasm");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let (br, d) = compress(&src, Encoding::Br, 5, tmp.path()).unwrap();
        assert!(d.size < data.len() as u64);
        let mut back = Vec::new();
        brotli::Decompressor::new(std::fs::File::open(&br).unwrap(), 4096)
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        let (gz, _) = compress(&src, Encoding::Gzip, 5, tmp.path()).unwrap();
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&gz).unwrap())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
    }
}
