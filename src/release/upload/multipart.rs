//! Files above the multipart threshold: sent in parts (S3 allows 10,000 of at least 5 MiB),
//! completed, then checked, since a multipart ETag is not a content hash.

use std::path::Path;

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use futures::{StreamExt, TryStreamExt};

use super::{Counters, ObjectMeta, Session};
use crate::release::ReleaseError;

/// Parts of one multipart upload queued at once (the byte budget decides how many are in flight).
const PARTS_QUEUED: usize = 16;

impl Session<'_> {
    pub(super) async fn put_multipart(
        &self,
        source: &Path,
        key: &str,
        meta: &ObjectMeta<'_>,
    ) -> Result<(), ReleaseError> {
        let created = self
            .send(
                0,
                || format!("start a multipart upload of {key}"),
                |watch| {
                    Counters::add(&self.counters.multipart, 1);
                    self.s3
                        .create_multipart_upload()
                        .bucket(self.bucket)
                        .key(key)
                        .content_type(meta.content_type)
                        .cache_control(meta.cache_control)
                        .set_content_encoding(meta.content_encoding.map(String::from))
                        .metadata("sha256", &meta.digests.sha256)
                        .customize()
                        .interceptor(watch)
                        .send()
                },
            )
            .await?;
        let upload_id = created.upload_id().unwrap_or_default().to_string();
        // S3 allows 10,000 parts of at least 5 MiB.
        let size = meta.digests.size;
        let part_size = self
            .multipart_threshold
            .max(5 << 20)
            .max(size.div_ceil(10_000));
        let parts: Vec<(i32, u64, u64)> = (0..size.div_ceil(part_size))
            .map(|i| {
                let offset = i * part_size;
                ((i + 1) as i32, offset, part_size.min(size - offset))
            })
            .collect();
        let result: Result<Vec<CompletedPart>, ReleaseError> = futures::stream::iter(parts)
            .map(|(number, offset, length)| {
                self.put_part(source, key, &upload_id, number, offset, length)
            })
            .buffer_unordered(PARTS_QUEUED)
            .try_collect()
            .await;
        let mut parts = match result {
            Ok(parts) => parts,
            Err(e) => {
                // Unfinished parts cost storage until aborted.
                let _ = self
                    .s3
                    .abort_multipart_upload()
                    .bucket(self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                return Err(e);
            }
        };
        parts.sort_by_key(|p| p.part_number());
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(parts))
            .build();
        self.send(
            0,
            || format!("complete the multipart upload of {key}"),
            |watch| {
                self.s3
                    .complete_multipart_upload()
                    .bucket(self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .multipart_upload(completed.clone())
                    .customize()
                    .interceptor(watch)
                    .send()
            },
        )
        .await?;
        // A multipart ETag is not a content hash: verify size and our own hash on the object.
        let head = self
            .send(
                0,
                || format!("verify {key}"),
                |watch| {
                    Counters::add(&self.counters.head, 1);
                    self.s3
                        .head_object()
                        .bucket(self.bucket)
                        .key(key)
                        .customize()
                        .interceptor(watch)
                        .send()
                },
            )
            .await?;
        let stored_sha = head
            .metadata()
            .and_then(|m| m.get("sha256"))
            .map(String::as_str);
        if head.content_length() != Some(size as i64)
            || stored_sha != Some(meta.digests.sha256.as_str())
        {
            return Err(ReleaseError::Verification {
                key: key.to_string(),
            });
        }
        Ok(())
    }

    async fn put_part(
        &self,
        source: &Path,
        key: &str,
        upload_id: &str,
        number: i32,
        offset: u64,
        length: u64,
    ) -> Result<CompletedPart, ReleaseError> {
        let part = self
            .send_file(
                source,
                Some((offset, length)),
                length,
                || format!("upload part {number} of {key}"),
                |body, watch| {
                    Counters::add(&self.counters.parts, 1);
                    self.s3
                        .upload_part()
                        .bucket(self.bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .part_number(number)
                        .content_length(length as i64)
                        .body(body)
                        .customize()
                        .interceptor(watch)
                        .send()
                },
            )
            .await?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(part.e_tag().map(String::from))
            .build())
    }
}
