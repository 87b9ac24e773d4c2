//! What the cache policy and the response-headers policy have in common: both are shared by
//! every stack of the account whose settings agree (named after a hash of their content,
//! because each kind is capped at 20 custom policies per account), proven ours by
//! [`SHARED_MARKER`] in their comment, and deleted only when no other distribution uses them.
//! [`PolicyApi`] holds the few SDK calls that differ; [`SharedPolicy`] is the resource.

use crate::infra::resource::Resource;
use crate::infra::{Ids, InfraError, Stack};

/// Where a shared policy says whose it is: every stack of the account that needs the same
/// content uses one policy, and `delete` removes it only when no distribution uses it.
pub const SHARED_MARKER: &str = "cloudfront-host shared policy, kept while a distribution uses it";

pub(super) fn build_err(e: impl std::fmt::Display) -> InfraError {
    InfraError::Other(format!("invalid policy configuration: {e}"))
}

/// A short hash of a policy's content: equal content, equal name, one policy per account.
pub(super) fn content_hash(content: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(content.as_bytes()))[..16].to_string()
}

pub(super) fn is_shared(comment: Option<&str>) -> bool {
    comment.is_some_and(|c| c.starts_with(SHARED_MARKER))
}

/// How a create ended when it did not fail outright.
pub(super) enum Created {
    /// Made now, with its ID.
    Id(Option<String>),
    /// Another stack of the account created it a moment ago.
    AlreadyExists,
    /// The account's quota of this kind is used up.
    TooMany,
}

/// One kind of shared policy: its SDK calls and how its configuration compares.
pub(super) trait PolicyApi {
    const KIND: &'static str;
    const NOUN: &'static str;
    /// The error code CloudFront answers when the quota is used up.
    const QUOTA_CODE: &'static str;
    /// What the user can do about the quota.
    const QUOTA_ADVICE: &'static str;
    /// The plan's reason for a create.
    const CREATE_REASON: &'static str;
    type Config: Clone;

    fn config_name(config: &Self::Config) -> &str;
    fn comment(config: &Self::Config) -> Option<&str>;
    fn differences(desired: &Self::Config, actual: &Self::Config) -> Vec<String>;
    /// Where the stack records the policy's ID.
    fn id_slot(ids: &mut Ids) -> &mut Option<String>;

    /// One page of the account's custom policies: (id, name) pairs and the next marker.
    async fn list(
        stack: &Stack<'_>,
        marker: Option<String>,
    ) -> Result<(Vec<(String, String)>, Option<String>), InfraError>;
    /// The policy's ETag and configuration; `None` when no such policy exists.
    async fn get(stack: &Stack<'_>, id: &str)
    -> Result<Option<(String, Self::Config)>, InfraError>;
    async fn create(stack: &Stack<'_>, config: Self::Config) -> Result<Created, InfraError>;
    async fn update(
        stack: &Stack<'_>,
        id: &str,
        etag: &str,
        config: Self::Config,
    ) -> Result<(), InfraError>;
    /// Deletes it, waiting out CloudFront's in-use lag after the distribution is gone.
    async fn delete(stack: &Stack<'_>, name: &str, id: &str, etag: &str) -> Result<(), InfraError>;
    /// The IDs of the distributions that use the policy.
    async fn users(stack: &Stack<'_>, id: &str) -> Result<Vec<String>, InfraError>;
}

pub(super) struct Policy<C> {
    pub id: String,
    pub etag: String,
    pub config: C,
}

/// Finds a custom policy by name.
pub(super) async fn find<P: PolicyApi>(
    stack: &Stack<'_>,
    name: &str,
) -> Result<Option<Policy<P::Config>>, InfraError> {
    let mut marker = None;
    loop {
        let (items, next) = P::list(stack, marker).await?;
        if let Some((id, _)) = items.iter().find(|(_, n)| n == name) {
            return get::<P>(stack, id).await;
        }
        match next {
            Some(m) if !m.is_empty() => marker = Some(m),
            _ => return Ok(None),
        }
    }
}

pub(super) async fn get<P: PolicyApi>(
    stack: &Stack<'_>,
    id: &str,
) -> Result<Option<Policy<P::Config>>, InfraError> {
    Ok(P::get(stack, id).await?.map(|(etag, config)| Policy {
        id: id.to_string(),
        etag,
        config,
    }))
}

/// A shared policy as a resource. `converge` finds it by its content-derived name; `destroy`
/// by the ID the deleted distribution used (`recorded`), else by name.
pub(super) struct SharedPolicy<P: PolicyApi> {
    pub name: String,
    pub desired: Option<P::Config>,
    pub recorded: Option<String>,
}

impl<P: PolicyApi> Resource for SharedPolicy<P> {
    const NOUN: &'static str = P::NOUN;
    const PROOF: &'static str = "shared-policy comment";
    const NOT_OURS: &'static str = "not made by this tool";
    type Actual = Policy<P::Config>;

    fn kind(&self) -> &'static str {
        P::KIND
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<Self::Actual>, InfraError> {
        match &self.recorded {
            Some(id) => get::<P>(stack, id).await,
            None => find::<P>(stack, &self.name).await,
        }
    }

    async fn owned(&self, _stack: &Stack<'_>, actual: &Self::Actual) -> Result<bool, InfraError> {
        Ok(is_shared(P::comment(&actual.config)))
    }

    fn label(&self, actual: &Self::Actual) -> String {
        P::config_name(&actual.config).to_string()
    }

    fn adopt(&self, stack: &mut Stack<'_>, actual: &Self::Actual) {
        *P::id_slot(&mut stack.ids) = Some(actual.id.clone());
    }

    async fn differences(
        &self,
        _stack: &Stack<'_>,
        actual: &Self::Actual,
    ) -> Result<Vec<String>, InfraError> {
        Ok(self
            .desired
            .as_ref()
            .map(|d| P::differences(d, &actual.config))
            .unwrap_or_default())
    }

    fn create_reason(&self) -> String {
        P::CREATE_REASON.to_string()
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        let desired = self.desired()?;
        let id = match P::create(stack, desired.clone()).await? {
            Created::Id(id) => id,
            Created::AlreadyExists => find::<P>(stack, &self.name).await?.map(|p| p.id),
            Created::TooMany => {
                return Err(InfraError::Other(format!(
                    "the account has reached its quota of custom {noun} objects ({code}; 20 by \
                     default). This tool shares one {noun} among every stack whose settings \
                     agree, so each site does not need its own. {advice}",
                    noun = P::NOUN,
                    code = P::QUOTA_CODE,
                    advice = P::QUOTA_ADVICE,
                )));
            }
        };
        *P::id_slot(&mut stack.ids) = id;
        Ok(())
    }

    async fn update(&self, stack: &mut Stack<'_>, actual: Self::Actual) -> Result<(), InfraError> {
        P::update(stack, &actual.id, &actual.etag, self.desired()?.clone()).await
    }

    async fn still_needed(
        &self,
        stack: &mut Stack<'_>,
        actual: &Self::Actual,
    ) -> Result<Option<String>, InfraError> {
        let users = P::users(stack, &actual.id).await?;
        let ours = stack.ids.distribution_id.as_deref();
        let others = users.iter().filter(|u| Some(u.as_str()) != ours).count();
        Ok((others > 0).then(|| format!("shared, still used by {others} other distribution(s)")))
    }

    fn delete_reason(&self) -> String {
        "shared, no other distribution uses it".to_string()
    }

    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        actual: Self::Actual,
    ) -> Result<Option<String>, InfraError> {
        let name = P::config_name(&actual.config);
        P::delete(stack, name, &actual.id, &actual.etag).await?;
        Ok(None)
    }
}

impl<P: PolicyApi> SharedPolicy<P> {
    fn desired(&self) -> Result<&P::Config, InfraError> {
        self.desired
            .as_ref()
            .ok_or_else(|| InfraError::Other(format!("no desired {} to write", P::NOUN)))
    }
}
