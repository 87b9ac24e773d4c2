//! The two roles GitHub Actions assumes: *publish* (pushes to the production branch) and
//! *preview* (the repository's pull requests, which cannot delete a published file).

use serde_json::{Value, json};

use super::oidc::provider_arn;
use super::{AUDIENCE, PROVIDER_HOST, spec};
use crate::infra::iam_role::{
    IamRole, converge_role, destroy_role, live_pointer_statement, policy_kvs_arn,
};
use crate::infra::{Change, InfraError, Mode, Stack};

const PUBLISH_ROLE: &str = "github-role";
const PREVIEW_ROLE: &str = "github-preview-role";

/// Who may assume a role: GitHub's tokens for the STS audience with exactly this `sub`.
pub fn trust_policy(provider_arn: &str, subject: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider_arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    format!("{PROVIDER_HOST}:aud"): AUDIENCE,
                    format!("{PROVIDER_HOST}:sub"): subject
                }
            }
        }]
    })
}

/// What `publish` needs: find the bucket (HeadBucket is `s3:ListBucket`) and the store
/// (`cloudfront:DescribeKeyValueStore`), list, read, write and copy objects (CopyObject is
/// `GetObject` on the source plus `PutObject` on the target; multipart uploads are
/// `PutObject` plus abort/list-parts), and read and move keys in the store. With
/// `delete_objects`, also remove objects (retention, `DeleteObjects`); without it, only the
/// previews' own records under `_cloudfront-host/previews/` (`previews delete`, and the expired
/// previews a preview publish prunes), never a published file.
pub fn permissions_policy(bucket: &str, kvs_arn: &str, delete_objects: bool) -> Value {
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    let mut object_actions = vec![
        "s3:AbortMultipartUpload",
        "s3:GetObject",
        "s3:ListMultipartUploadParts",
        "s3:PutObject",
    ];
    if delete_objects {
        object_actions.insert(1, "s3:DeleteObject");
    }
    let mut policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SiteBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                "Resource": bucket_arn
            },
            {
                "Sid": "SiteObjects",
                "Effect": "Allow",
                "Action": object_actions,
                "Resource": format!("{bucket_arn}/*")
            },
            {
                "Sid": "FindStore",
                "Effect": "Allow",
                "Action": "cloudfront:DescribeKeyValueStore",
                "Resource": kvs_arn
            },
            live_pointer_statement(kvs_arn)
        ]
    });
    if !delete_objects && let Some(statements) = policy["Statement"].as_array_mut() {
        statements.push(json!({
            "Sid": "PreviewRecords",
            "Effect": "Allow",
            "Action": "s3:DeleteObject",
            "Resource": format!(
                "{bucket_arn}/{}*",
                crate::release::previews::METADATA_PREFIX
            )
        }));
    }
    policy
}

pub async fn converge_publish_role(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let subject = spec(stack)?.branch_subject();
    let trust = trust_policy(&provider_arn(&stack.account), &subject);
    let policy = permissions_policy(&stack.names.bucket(), &policy_kvs_arn(stack), true);
    let name = stack.names.github_role();
    let role = IamRole::new(PUBLISH_ROLE, name, trust, policy);
    let (change, arn) = converge_role(stack, mode, role).await?;
    stack.github_ids.role_arn = Some(arn);
    Ok(change)
}

/// The pull-request role, or (with `ci.github_previews = false`) its removal.
pub async fn converge_preview_role(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    if !spec(stack)?.previews {
        return destroy_preview_role(stack, mode).await;
    }
    let subject = spec(stack)?.pull_request_subject();
    let trust = trust_policy(&provider_arn(&stack.account), &subject);
    let policy = permissions_policy(&stack.names.bucket(), &policy_kvs_arn(stack), false);
    let name = stack.names.github_preview_role();
    let role = IamRole::new(PREVIEW_ROLE, name, trust, policy);
    let (change, arn) = converge_role(stack, mode, role).await?;
    stack.github_ids.preview_role_arn = Some(arn);
    Ok(change)
}

pub async fn destroy_publish_role(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.github_role();
    destroy_role(stack, mode, PUBLISH_ROLE, name).await
}

pub async fn destroy_preview_role(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.github_preview_role();
    destroy_role(stack, mode, PREVIEW_ROLE, name).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::ci::tests::spec;
    use crate::infra::ci::{decode_policy, trusts};

    #[test]
    fn trust_accepts_one_subject_and_the_sts_audience_only() {
        let arn = provider_arn("123456789012");
        let t = trust_policy(&arn, &spec().branch_subject());
        let s = &t["Statement"][0];
        assert_eq!(t["Statement"].as_array().unwrap().len(), 1);
        assert_eq!(s["Action"], "sts:AssumeRoleWithWebIdentity");
        assert_eq!(
            s["Principal"]["Federated"],
            "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
        );
        let eq = s["Condition"]["StringEquals"].as_object().unwrap();
        assert_eq!(eq.len(), 2);
        assert_eq!(
            eq["token.actions.githubusercontent.com:aud"],
            "sts.amazonaws.com"
        );
        assert_eq!(
            eq["token.actions.githubusercontent.com:sub"],
            "repo:octo/site:ref:refs/heads/main"
        );
        // No StringLike anywhere: a wildcard would let other branches or forks in.
        assert!(s["Condition"].get("StringLike").is_none());
        assert_eq!(spec().pull_request_subject(), "repo:octo/site:pull_request");
        assert!(trusts(&t, &arn));
        assert!(!trusts(&t, "arn:aws:iam::1:oidc-provider/other"));
    }

    #[test]
    fn permissions_name_only_the_bucket_and_the_store() {
        let kvs = "arn:aws:cloudfront::123456789012:key-value-store/abc";
        for delete in [true, false] {
            let p = permissions_policy("cfh-site-1234", kvs, delete);
            let mut resources = std::collections::BTreeSet::new();
            for s in p["Statement"].as_array().unwrap() {
                assert_eq!(s["Effect"], "Allow");
                resources.insert(s["Resource"].as_str().unwrap().to_string());
                let actions: Vec<String> = match &s["Action"] {
                    Value::String(a) => vec![a.clone()],
                    Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().into()).collect(),
                    _ => panic!(),
                };
                for a in &actions {
                    assert!(!a.contains('*'), "{a}");
                    assert!(
                        a.starts_with("s3:")
                            || a.starts_with("cloudfront-keyvaluestore:")
                            || a == "cloudfront:DescribeKeyValueStore",
                        "{a}"
                    );
                }
            }
            let mut expected: std::collections::BTreeSet<String> = [
                "arn:aws:s3:::cfh-site-1234",
                "arn:aws:s3:::cfh-site-1234/*",
                kvs,
            ]
            .into_iter()
            .map(String::from)
            .collect();
            if !delete {
                expected.insert("arn:aws:s3:::cfh-site-1234/_cloudfront-host/previews/*".into());
            }
            assert_eq!(resources, expected);
            let deletes_files = p["Statement"].as_array().unwrap().iter().any(|s| {
                s["Resource"] == "arn:aws:s3:::cfh-site-1234/*"
                    && s.to_string().contains("s3:DeleteObject")
            });
            assert_eq!(deletes_files, delete);
        }
    }

    #[test]
    fn url_encoded_documents_decode() {
        let doc = trust_policy("arn:x", "repo:a/b:pull_request");
        let encoded: String = percent_encoding::utf8_percent_encode(
            &doc.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        assert_eq!(decode_policy(&encoded), Some(doc.clone()));
        assert_eq!(decode_policy(&doc.to_string()), Some(doc));
    }
}
