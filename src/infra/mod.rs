//! Provisioning: for each resource a desired state (from the settings), the actual state (read
//! from AWS every time), the difference as a [`Change`], and the calls that close it.
//!
//! One function per resource decides *and* (when asked) applies, so `plan` and `deploy` can
//! never disagree about what a change is. Resources are visited in dependency order; `delete`
//! visits them in reverse and touches only what proves to be this project's (tags where the
//! service has them, an ownership marker in the comment where it does not).

pub mod bucket;
pub mod ci;
pub mod cloudfront;
pub mod domain;
pub mod iam_role;
pub mod pipeline;
pub mod placeholder;
pub mod resource;
mod retry;
pub mod state;

use std::time::Duration;

use serde::Serialize;

use crate::aws::Aws;
use crate::names::Names;
use crate::settings::Settings;

pub(crate) use retry::{retry_while_in_use, retry_while_role_propagates};
pub use state::Ids;

#[derive(Debug, thiserror::Error)]
pub enum InfraError {
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
    #[error(
        "{kind} {name} exists but does not carry this project's ownership {proof}; refusing to \
         change it. Delete or rename it, or deploy under another project name (`name` setting)"
    )]
    NotOwned {
        kind: &'static str,
        name: String,
        proof: &'static str,
    },
    #[error(
        "distribution {id} is still deploying after {waited:?} (status {status}); nothing is wrong \
         yet. Re-run the same command later: it continues where it stopped"
    )]
    Timeout {
        id: String,
        waited: Duration,
        status: String,
    },
    #[error("the viewer-request function could not be rendered")]
    Function(#[from] crate::edge::function::FunctionError),
    #[error("the placeholder version could not be published")]
    Placeholder(#[from] crate::release::ReleaseError),
    #[error("{key}: {message}")]
    InvalidDomain { key: String, message: String },
    #[error("{0}")]
    Other(String),
}

pub(crate) fn aws_err<E, R>(
    action: impl Into<String>,
    err: &aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> InfraError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    InfraError::Aws(crate::aws::AwsError::from_sdk(action.into(), err))
}

/// The HTTP status of a failed call, when the service answered at all.
pub(crate) fn http_status<E>(
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::http::Response,
    >,
) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

const LEFT_ALONE: &str = ": left alone";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    None,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::None => "none",
            Action::Delete => "delete",
        }
    }
}

/// One line of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub resource: &'static str,
    pub name: String,
    pub action: Action,
    pub reason: String,
}

impl Change {
    fn new(resource: &'static str, name: &str, action: Action, reason: impl Into<String>) -> Self {
        Change {
            resource,
            name: name.to_string(),
            action,
            reason: reason.into(),
        }
    }
    fn none(resource: &'static str, name: &str) -> Self {
        Change::new(resource, name, Action::None, "up to date")
    }
    /// `delete` found nothing of that name.
    fn gone(resource: &'static str, name: &str) -> Self {
        Change::new(resource, name, Action::None, "already gone")
    }
    /// `delete` found a resource of that name without this project's marks (`why` says which).
    fn left_alone(resource: &'static str, name: &str, why: &str) -> Self {
        Change::new(resource, name, Action::None, format!("{why}{LEFT_ALONE}"))
    }
    /// Made by [`Change::left_alone`].
    fn is_left_alone(&self) -> bool {
        self.action == Action::None && self.reason.ends_with(LEFT_ALONE)
    }
    /// `update` with the differences as the reason, or `none` when there are none.
    fn from_differences(resource: &'static str, name: &str, differences: &[String]) -> Self {
        if differences.is_empty() {
            Change::none(resource, name)
        } else {
            Change::new(resource, name, Action::Update, differences.join("; "))
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
}

impl Plan {
    /// Adds a step's change, and reports it when it was applied.
    fn record(&mut self, mode: Mode, progress: Progress<'_>, change: Change) {
        if mode == Mode::Apply {
            progress(&change);
        }
        self.changes.push(change);
    }

    pub fn is_empty(&self) -> bool {
        self.changes.iter().all(|c| c.action == Action::None)
    }

    /// The plan as aligned text lines.
    pub fn render(&self) -> String {
        let width = self
            .changes
            .iter()
            .map(|c| c.resource.len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for c in &self.changes {
            let sign = match c.action {
                Action::Create => "+",
                Action::Update => "~",
                Action::Delete => "-",
                Action::None => " ",
            };
            out.push_str(&format!(
                "{sign} {:<6} {:<width$}  {}  ({})\n",
                c.action.as_str(),
                c.resource,
                c.name,
                c.reason
            ));
        }
        out
    }
}

/// Whether a step only looks or also changes things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plan,
    Apply,
}

/// Called after each applied step (for a status line per resource).
pub type Progress<'a> = &'a (dyn Fn(&Change) + Sync);

/// Everything the steps share: clients, names, settings and the IDs found or created so far.
pub struct Stack<'a> {
    pub aws: &'a Aws,
    pub cf: aws_sdk_cloudfront::Client,
    pub s3: aws_sdk_s3::Client,
    pub names: &'a Names,
    pub settings: &'a Settings,
    pub account: String,
    pub ids: Ids,
    pub options: StackOptions,
    /// The custom domain's names, when `domain.name` is set (validated by `converge`).
    pub domains: Option<domain::Domains>,
    /// The pipeline's source and buildspec; `None` when `source.kind` is `local` (no pipeline).
    pub pipeline: Option<pipeline::PipelineSpec>,
    pub pipeline_ids: pipeline::PipelineIds,
    /// The repository and branch GitHub Actions publishes from; `None` unless `ci.github`.
    pub github: Option<ci::GithubSpec>,
    pub github_ids: ci::GithubIds,
    /// Whether the bucket exists (state can only be read or written then).
    bucket_exists: bool,
}

/// How `deploy` treats what it cannot decide alone.
#[derive(Clone)]
pub struct StackOptions {
    /// Point names that already point elsewhere at this site.
    pub force: bool,
    /// Do not wait for certificate validation.
    pub no_wait: bool,
    /// How long to wait for a certificate.
    pub timeout: Duration,
    /// Instructions for the user (DNS records to create, and the like).
    pub on_notice: Option<OnWait>,
    /// Progress while waiting.
    pub on_wait: Option<OnWait>,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            force: false,
            no_wait: false,
            timeout: Duration::from_secs(30 * 60),
            on_notice: None,
            on_wait: None,
        }
    }
}

impl<'a> Stack<'a> {
    pub fn new(aws: &'a Aws, names: &'a Names, settings: &'a Settings, account: &str) -> Self {
        Stack {
            aws,
            cf: aws.cloudfront(),
            s3: aws.s3(),
            names,
            settings,
            account: account.to_string(),
            ids: Ids::default(),
            options: StackOptions::default(),
            domains: None,
            pipeline: None,
            pipeline_ids: pipeline::PipelineIds::default(),
            github: None,
            github_ids: ci::GithubIds::default(),
            bucket_exists: false,
        }
    }

    fn notify(&self, message: &str) {
        if let Some(f) = &self.options.on_notice {
            f(message);
        }
    }

    fn wait_line(&self, message: &str) {
        if let Some(f) = &self.options.on_wait {
            f(message);
        }
    }

    fn load_domains(&mut self) -> Result<(), InfraError> {
        self.domains = self
            .settings
            .domain
            .as_ref()
            .map(domain::domains)
            .transpose()?;
        self.domains = domain::with_previews(
            self.domains.take(),
            self.settings.previews.domain.as_deref(),
        )?;
        Ok(())
    }

    /// The comment/description marker that proves ownership where a service has no tags.
    pub fn marker(&self) -> String {
        ownership_marker(self.names)
    }

    pub fn owns_comment(&self, comment: Option<&str>) -> bool {
        comment.is_some_and(|c| c.starts_with(&marker_prefix(self.names)))
    }

    /// Reads (and with `Mode::Apply` creates or updates) every resource, in dependency order.
    pub async fn converge(
        &mut self,
        mode: Mode,
        progress: Progress<'_>,
    ) -> Result<Plan, InfraError> {
        self.load_domains()?;
        let mut plan = Plan::default();
        macro_rules! step {
            ($f:expr) => {
                plan.record(mode, progress, $f.await?)
            };
        }
        step!(bucket::converge(self, mode));
        if self.bucket_exists {
            self.ids.merge_recorded(state::read(self).await?);
        }
        step!(cloudfront::oac::converge(self, mode));
        step!(cloudfront::cache_policy::converge(self, mode));
        step!(cloudfront::headers_policy::converge(self, mode));
        step!(cloudfront::kvs::converge(self, mode));
        step!(placeholder::converge(self, mode));
        step!(cloudfront::function::converge(self, mode));
        if self.domains.is_some() {
            step!(domain::converge_certificate(self, mode));
        }
        step!(cloudfront::distribution::converge(self, mode));
        if let Some(change) = cloudfront::headers_policy::converge_retired(self, mode).await? {
            plan.record(mode, progress, change);
        }
        step!(bucket::converge_policy(self, mode));
        if self.domains.is_some() {
            step!(domain::converge_dns(self, mode));
        }
        if self.github.is_some() {
            step!(ci::converge_provider(self, mode));
            step!(ci::converge_publish_role(self, mode));
            step!(ci::converge_preview_role(self, mode));
        }
        if self.pipeline.is_some() {
            step!(pipeline::converge_connection(self, mode));
            step!(pipeline::converge_artifact_bucket(self, mode));
            step!(pipeline::converge_log_group(self, mode));
            step!(pipeline::converge_build_role(self, mode));
            step!(pipeline::converge_pipeline_role(self, mode));
            step!(pipeline::converge_project(self, mode));
            step!(pipeline::converge_pipeline(self, mode));
        }
        if mode == Mode::Apply {
            state::write(self).await?;
        }
        Ok(plan)
    }

    /// Removes every resource this project owns, in reverse order. With `Mode::Plan` it only
    /// says what it would remove.
    pub async fn destroy(
        &mut self,
        mode: Mode,
        wait: &WaitOptions,
        progress: Progress<'_>,
    ) -> Result<Plan, InfraError> {
        self.load_domains()?;
        // The in-use retries after the distribution is gone share the command's bound.
        self.options.timeout = wait.timeout;
        if self.options.on_wait.is_none() {
            self.options.on_wait = wait.on_wait.clone();
        }
        let mut plan = Plan::default();
        if bucket::exists(self).await? && bucket::owned(self).await? {
            self.bucket_exists = true;
            self.ids.merge_recorded(state::read(self).await?);
        }
        macro_rules! step {
            ($f:expr) => {
                plan.record(mode, progress, $f.await?)
            };
        }
        // The pipeline first: nothing may publish into what is being removed. Its resources
        // are optional (only with a pipeline source), so absent ones are not listed.
        macro_rules! optional_step {
            ($f:expr) => {{
                let change = $f.await?;
                if change.action != Action::None || change.is_left_alone() {
                    plan.record(mode, progress, change);
                }
            }};
        }
        optional_step!(pipeline::destroy_pipeline(self, mode));
        optional_step!(pipeline::destroy_project(self, mode));
        optional_step!(pipeline::destroy_pipeline_role(self, mode));
        optional_step!(pipeline::destroy_build_role(self, mode));
        optional_step!(pipeline::destroy_log_group(self, mode));
        optional_step!(pipeline::destroy_artifact_bucket(self, mode));
        optional_step!(pipeline::destroy_connection(self, mode));
        // GitHub Actions' roles before the provider they trust.
        optional_step!(ci::destroy_preview_role(self, mode));
        optional_step!(ci::destroy_publish_role(self, mode));
        optional_step!(ci::destroy_provider(self, mode));
        if self.domains.is_some() {
            cloudfront::distribution::locate(self).await?;
            step!(domain::destroy_dns(self, mode));
        }
        step!(cloudfront::distribution::destroy(self, mode, wait));
        if self.domains.is_some() {
            step!(domain::destroy_certificate(self, mode));
        }
        step!(cloudfront::function::destroy(self, mode));
        step!(cloudfront::headers_policy::destroy(self, mode));
        step!(cloudfront::cache_policy::destroy(self, mode));
        step!(cloudfront::kvs::destroy(self, mode));
        step!(cloudfront::oac::destroy(self, mode));
        step!(bucket::destroy(self, mode));
        Ok(plan)
    }

    /// Waits until the distribution reports `Deployed`.
    pub async fn wait_deployed(&self, options: &WaitOptions) -> Result<(), InfraError> {
        match &self.ids.distribution_id {
            Some(id) => cloudfront::distribution::wait_deployed(&self.cf, id, options).await,
            None => Ok(()),
        }
    }

    /// The site's CloudFront URL, once the distribution exists.
    pub fn url(&self) -> Option<String> {
        self.ids
            .distribution_domain
            .as_ref()
            .map(|d| format!("https://{d}/"))
    }
}

/// Receives a line of progress while CloudFront works.
pub type OnWait = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// How long and how often to poll CloudFront while a distribution deploys.
#[derive(Clone)]
pub struct WaitOptions {
    pub timeout: Duration,
    /// Shown while waiting (a spinner in a terminal).
    pub on_wait: Option<OnWait>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(30 * 60),
            on_wait: None,
        }
    }
}

fn marker_prefix(names: &Names) -> String {
    format!("cloudfront-host stack {}", names.stack_id())
}

/// `cloudfront-host stack <hash>: <project>`, at most 100 characters (comments allow 128).
pub fn ownership_marker(names: &Names) -> String {
    let full = format!("{}: {}", marker_prefix(names), names.project());
    full.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_fit_every_comment_and_prove_only_their_own_stack() {
        let scope = |project| crate::names::Scope {
            account: "123456789012",
            region: "eu-west-1",
            repository: None,
            project,
        };
        let long = "é".repeat(300);
        let a = Names::new(&scope(&long));
        let b = Names::new(&scope("other"));
        let marker = ownership_marker(&a);
        assert!(marker.chars().count() <= 100 && marker.len() <= 128 * 2);
        assert!(marker.starts_with(&marker_prefix(&a)));
        assert!(!marker.starts_with(&marker_prefix(&b)));
    }

    #[test]
    fn plan_renders_one_line_per_change_and_knows_when_it_is_empty() {
        let plan = Plan {
            changes: vec![
                Change::none("bucket", "b"),
                Change::new("distribution", "d", Action::Update, "price class"),
            ],
        };
        assert!(!plan.is_empty());
        let text = plan.render();
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().nth(1).unwrap().starts_with("~ update"));
        assert!(
            Plan {
                changes: vec![Change::none("bucket", "b")]
            }
            .is_empty()
        );
    }
}
