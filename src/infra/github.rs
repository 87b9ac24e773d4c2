//! Publishing from GitHub Actions without a stored key (`ci.github`): the account's IAM OIDC
//! provider for `token.actions.githubusercontent.com` and two roles that trust it.
//!
//! - the *publish* role: only pushes to this repository's production branch can assume it
//!   (`sub` = `repo:OWNER/REPO:ref:refs/heads/BRANCH`); it can do what `publish`, `rollback`
//!   and retention need on this project's bucket and KeyValueStore, nothing else;
//! - the *preview* role: only this repository's pull requests can assume it
//!   (`sub` = `repo:OWNER/REPO:pull_request`); the same minus deleting objects, so nothing a
//!   pull request runs can remove a published version.
//!
//! Two roles rather than one role with two subjects: on `pull_request` events GitHub runs the
//! workflow file *from the pull request*, so whatever the preview role allows, anyone who can
//! push a branch can do. The provider is one per account and URL: an existing one is reused
//! and never changed; one this project created carries its tags and is deleted only when no
//! other role in the account still trusts it.

use serde::Serialize;
use serde_json::{Value, json};

use super::{Action, Change, InfraError, Mode, Stack, aws_err};
use crate::settings::Settings;
use crate::workspace::GitFacts;

/// The issuer of GitHub Actions' OIDC tokens.
pub const PROVIDER_HOST: &str = "token.actions.githubusercontent.com";
/// The audience `aws-actions/configure-aws-credentials` asks for by default.
pub const AUDIENCE: &str = "sts.amazonaws.com";
/// The inline policy each role carries.
pub use super::role::{POLICY_NAME, decode_policy, role_arn};
use super::role::{converge_role, destroy_role};

const PROVIDER: &str = "github-oidc-provider";
const PUBLISH_ROLE: &str = "github-role";
const PREVIEW_ROLE: &str = "github-preview-role";

/// Which repository and branch may publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GithubSpec {
    /// `owner/repo`.
    pub repository: String,
    /// The production branch: pushes to it publish live.
    pub branch: String,
    /// Whether pull requests get a role of their own (`ci.github_previews`).
    pub previews: bool,
}

impl GithubSpec {
    /// `None` unless `ci.github` is set. The repository is `source.repository`, else the git
    /// remote `origin`; the branch is `source.branch`, else the checked-out branch.
    pub fn of(settings: &Settings, git: &GitFacts) -> Result<Option<Self>, InfraError> {
        if !settings.ci.github {
            return Ok(None);
        }
        let repository = settings
            .source
            .repository
            .clone()
            .or_else(|| git.github.clone())
            .ok_or_else(|| {
                InfraError::Other(
                    "ci.github = true needs the GitHub repository: set `source.repository` \
                     (owner/repo) or add a GitHub `origin` remote"
                        .into(),
                )
            })?;
        let valid = |part: &str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        match repository.split_once('/') {
            Some((owner, repo)) if valid(owner) && valid(repo) => {}
            _ => {
                return Err(InfraError::Other(format!(
                    "source.repository: `{repository}` is not `owner/repo` (ci.github needs it \
                     for the role's trust policy)"
                )));
            }
        }
        let branch = settings
            .source
            .branch
            .clone()
            .or_else(|| git.branch.clone())
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| {
                InfraError::Other(
                    "ci.github = true needs the production branch: set `source.branch`, or run \
                     from a checked-out branch"
                        .into(),
                )
            })?;
        // A trust condition compares `sub` literally; these characters would make a branch
        // the workflow can never match (git refuses them in branch names anyway).
        if branch.contains(['*', '?', ' ', '~', '^', ':', '\\']) {
            return Err(InfraError::Other(format!(
                "source.branch: `{branch}` is not a branch name GitHub can push"
            )));
        }
        Ok(Some(GithubSpec {
            repository,
            branch,
            previews: settings.ci.github_previews,
        }))
    }

    /// The `sub` claim of a run on a push to the production branch.
    pub fn branch_subject(&self) -> String {
        format!("repo:{}:ref:refs/heads/{}", self.repository, self.branch)
    }

    /// The `sub` claim of a run for any pull request of the repository.
    pub fn pull_request_subject(&self) -> String {
        format!("repo:{}:pull_request", self.repository)
    }
}

/// What the GitHub steps found or created (`show` prints the role ARNs).
#[derive(Debug, Clone, Default, Serialize)]
pub struct GithubIds {
    pub provider_arn: Option<String>,
    /// True when the provider carries this project's tags (so `delete` may remove it).
    pub provider_owned: bool,
    pub role_arn: Option<String>,
    pub preview_role_arn: Option<String>,
}

pub fn provider_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:oidc-provider/{PROVIDER_HOST}")
}

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
            {
                "Sid": "LivePointer",
                "Effect": "Allow",
                "Action": [
                    "cloudfront-keyvaluestore:DeleteKey",
                    "cloudfront-keyvaluestore:DescribeKeyValueStore",
                    "cloudfront-keyvaluestore:GetKey",
                    "cloudfront-keyvaluestore:ListKeys",
                    "cloudfront-keyvaluestore:PutKey",
                    "cloudfront-keyvaluestore:UpdateKeys"
                ],
                "Resource": kvs_arn
            }
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

/// True when some statement of `trust` names `provider` as its federated principal.
pub fn trusts(trust: &Value, provider: &str) -> bool {
    let statements = match &trust["Statement"] {
        Value::Array(list) => list.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        _ => Vec::new(),
    };
    statements
        .iter()
        .any(|s| match &s["Principal"]["Federated"] {
            Value::String(p) => p == provider,
            Value::Array(list) => list.iter().any(|p| p.as_str() == Some(provider)),
            _ => false,
        })
}

fn spec<'s>(stack: &'s Stack<'_>) -> Result<&'s GithubSpec, InfraError> {
    stack
        .github
        .as_ref()
        .ok_or_else(|| InfraError::Other("ci.github: the repository was not prepared".into()))
}

fn tags(stack: &Stack<'_>) -> Result<Vec<aws_sdk_iam::types::Tag>, InfraError> {
    stack
        .names
        .tags()
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| InfraError::Other(e.to_string()))
        })
        .collect()
}

fn no_such_entity<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("NoSuchEntity")
}

// ---------------------------------------------------------------------------------------------
// the OIDC provider
// ---------------------------------------------------------------------------------------------

struct Provider {
    audiences: Vec<String>,
    owned: bool,
}

async fn read_provider(stack: &Stack<'_>, arn: &str) -> Result<Option<Provider>, InfraError> {
    let iam = stack.aws.iam();
    let found = match iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.as_service_error().is_some_and(no_such_entity) => return Ok(None),
        Err(e) => return Err(aws_err(format!("look up the OIDC provider {arn}"), &e)),
    };
    let tags = iam
        .list_open_id_connect_provider_tags()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .map_err(|e| aws_err(format!("read the tags of the OIDC provider {arn}"), &e))?;
    Ok(Some(Provider {
        audiences: found.client_id_list().to_vec(),
        owned: stack
            .names
            .owns(tags.tags().iter().map(|t| (t.key(), t.value()))),
    }))
}

/// The account's provider for GitHub's tokens: reused when it exists (one per account and
/// URL), created with this project's tags otherwise. No thumbprint is sent: IAM verifies
/// GitHub's certificate against its library of trusted root CAs, and the parameter has been
/// optional since 2023.
pub async fn converge_provider(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let arn = provider_arn(&stack.account);
    stack.github_ids.provider_arn = Some(arn.clone());
    let Some(actual) = read_provider(stack, &arn).await? else {
        if mode == Mode::Apply {
            stack
                .aws
                .iam()
                .create_open_id_connect_provider()
                .url(format!("https://{PROVIDER_HOST}"))
                .client_id_list(AUDIENCE)
                .set_tags(Some(tags(stack)?))
                .send()
                .await
                .map_err(|e| aws_err("create the OIDC provider for GitHub Actions", &e))?;
            stack.github_ids.provider_owned = true;
        }
        return Ok(Change::new(
            PROVIDER,
            PROVIDER_HOST,
            Action::Create,
            "does not exist",
        ));
    };
    stack.github_ids.provider_owned = actual.owned;
    if actual.audiences.iter().any(|a| a == AUDIENCE) {
        return Ok(Change::none(PROVIDER, PROVIDER_HOST));
    }
    // Adding an audience changes what the provider accepts for every role that trusts it:
    // that is for its owner to decide, even when the owner is this project's earlier self.
    Err(InfraError::Other(format!(
        "the account's OIDC provider {arn} does not list the audience {AUDIENCE}, so GitHub \
         Actions could not assume a role through it; nothing was changed. Add the audience \
         (aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn \
         {arn} --client-id {AUDIENCE}) and deploy again"
    )))
}

/// Removes the provider only when this project created it and no other role trusts it.
pub async fn destroy_provider(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let arn = provider_arn(&stack.account);
    let Some(actual) = read_provider(stack, &arn).await? else {
        return Ok(Change::gone(PROVIDER, PROVIDER_HOST));
    };
    if !actual.owned {
        // The account's own (or another project's): not ours to list, let alone remove.
        return Ok(Change::new(
            PROVIDER,
            PROVIDER_HOST,
            Action::None,
            "not created by this project",
        ));
    }
    let ours = [stack.names.github_role(), stack.names.github_preview_role()];
    if let Some(other) = other_trusting_role(stack, &arn, &ours).await? {
        return Ok(Change::left_alone(
            PROVIDER,
            PROVIDER_HOST,
            &format!("role {other} still trusts it"),
        ));
    }
    if mode == Mode::Apply {
        stack
            .aws
            .iam()
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete the OIDC provider {arn}"), &e))?;
    }
    Ok(Change::removed(PROVIDER, PROVIDER_HOST))
}

/// The first role outside `ours` whose trust policy names `provider` (ListRoles, all pages).
async fn other_trusting_role(
    stack: &Stack<'_>,
    provider: &str,
    ours: &[String],
) -> Result<Option<String>, InfraError> {
    let mut pages = stack.aws.iam().list_roles().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_err("list the account's roles", &e))?;
        for role in page.roles() {
            if ours.iter().any(|o| o == role.role_name()) {
                continue;
            }
            if role
                .assume_role_policy_document()
                .and_then(decode_policy)
                .is_some_and(|t| trusts(&t, provider))
            {
                return Ok(Some(role.role_name().to_string()));
            }
        }
    }
    Ok(None)
}

// ---------------------------------------------------------------------------------------------
// the roles
// ---------------------------------------------------------------------------------------------

/// The store the policies name: the one `deploy` found or created, else (a plan before the
/// first deploy) its name-derived stand-in.
fn kvs_arn(stack: &Stack<'_>) -> String {
    stack.ids.kvs_arn.clone().unwrap_or_else(|| {
        format!(
            "arn:aws:cloudfront::{}:key-value-store/{}",
            stack.account,
            stack.names.kvs()
        )
    })
}

pub async fn converge_publish_role(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let subject = spec(stack)?.branch_subject();
    let trust = trust_policy(&provider_arn(&stack.account), &subject);
    let policy = permissions_policy(&stack.names.bucket(), &kvs_arn(stack), true);
    let name = stack.names.github_role();
    let (change, arn) = converge_role(stack, mode, PUBLISH_ROLE, &name, trust, policy).await?;
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
    let policy = permissions_policy(&stack.names.bucket(), &kvs_arn(stack), false);
    let name = stack.names.github_preview_role();
    let (change, arn) = converge_role(stack, mode, PREVIEW_ROLE, &name, trust, policy).await?;
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

    fn spec() -> GithubSpec {
        GithubSpec {
            repository: "octo/site".into(),
            branch: "main".into(),
            previews: true,
        }
    }

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
    fn spec_comes_from_settings_then_git_and_refuses_bad_names() {
        let mut settings = crate::settings::resolve(&Default::default())
            .unwrap()
            .settings();
        let git = GitFacts {
            github: Some("octo/site".into()),
            branch: Some("main".into()),
            ..Default::default()
        };
        assert_eq!(GithubSpec::of(&settings, &git).unwrap(), None);
        settings.ci.github = true;
        assert_eq!(GithubSpec::of(&settings, &git).unwrap(), Some(spec()));
        settings.source.branch = Some("release".into());
        assert_eq!(
            GithubSpec::of(&settings, &git).unwrap().unwrap().branch,
            "release"
        );
        settings.source.branch = Some("rel*".into());
        assert!(GithubSpec::of(&settings, &git).is_err());
        settings.source.branch = None;
        let err = GithubSpec::of(&settings, &GitFacts::default()).unwrap_err();
        assert!(err.to_string().contains("source.repository"), "{err}");
        settings.source.repository = Some("not-a-repo".into());
        assert!(GithubSpec::of(&settings, &git).is_err());
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
