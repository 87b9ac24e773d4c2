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
//!
//! [`oidc`] holds the provider, [`roles`] the two roles (over the IAM role module shared with
//! the pipeline, [`crate::infra::iam_role`]).

pub mod oidc;
pub mod roles;

use serde::Serialize;

use super::{InfraError, Stack};
use crate::settings::Settings;
use crate::workspace::GitFacts;

pub use super::iam_role::{POLICY_NAME, decode_policy, role_arn};
pub use oidc::{converge_provider, destroy_provider, provider_arn, trusts};
pub use roles::{
    converge_preview_role, converge_publish_role, destroy_preview_role, destroy_publish_role,
    permissions_policy, trust_policy,
};

/// The issuer of GitHub Actions' OIDC tokens.
pub const PROVIDER_HOST: &str = "token.actions.githubusercontent.com";
/// The audience `aws-actions/configure-aws-credentials` asks for by default.
pub const AUDIENCE: &str = "sts.amazonaws.com";

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

fn spec<'s>(stack: &'s Stack<'_>) -> Result<&'s GithubSpec, InfraError> {
    stack
        .github
        .as_ref()
        .ok_or_else(|| InfraError::Other("ci.github: the repository was not prepared".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn spec() -> GithubSpec {
        GithubSpec {
            repository: "octo/site".into(),
            branch: "main".into(),
            previews: true,
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
}
