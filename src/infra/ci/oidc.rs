//! The account's IAM OIDC provider for GitHub Actions' tokens: one per account and URL, so
//! an existing one is reused and never changed, and one this project created is deleted only
//! when no other role still trusts it.

use serde_json::Value;

use super::{AUDIENCE, PROVIDER_HOST};
use crate::infra::iam_role::{decode_policy, iam_tags};
use crate::infra::resource::{self, Resource};
use crate::infra::{Change, InfraError, Mode, Stack, aws_err};

const PROVIDER: &str = "github-oidc-provider";

pub fn provider_arn(account: &str) -> String {
    format!("arn:aws:iam::{account}:oidc-provider/{PROVIDER_HOST}")
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

fn no_such_entity<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("NoSuchEntity")
}

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

/// The account's provider for GitHub's tokens. `deploy` uses whoever's it is (one per account
/// and URL); `delete` (`only_ours`) sees only one that carries this project's tags.
struct OidcProvider {
    arn: String,
    only_ours: bool,
}

impl Resource for OidcProvider {
    const NOUN: &'static str = "OIDC provider";
    const PROOF: &'static str = "tags (cloudfront-host:project and cloudfront-host:stack)";
    type Actual = Provider;

    fn kind(&self) -> &'static str {
        PROVIDER
    }

    fn name(&self) -> &str {
        PROVIDER_HOST
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<Provider>, InfraError> {
        Ok(read_provider(stack, &self.arn)
            .await?
            .filter(|p| p.owned || !self.only_ours))
    }

    /// Shared by design: whose it is only decides whether `delete` may remove it.
    async fn owned(&self, _: &Stack<'_>, _: &Provider) -> Result<bool, InfraError> {
        Ok(true)
    }

    fn adopt(&self, stack: &mut Stack<'_>, actual: &Provider) {
        stack.github_ids.provider_owned = actual.owned;
    }

    /// Adding an audience changes what the provider accepts for every role that trusts it:
    /// that is for its owner to decide, even when the owner is this project's earlier self.
    async fn differences(
        &self,
        _: &Stack<'_>,
        actual: &Provider,
    ) -> Result<Vec<String>, InfraError> {
        if actual.audiences.iter().any(|a| a == AUDIENCE) {
            return Ok(Vec::new());
        }
        let arn = &self.arn;
        Err(InfraError::Other(format!(
            "the account's OIDC provider {arn} does not list the audience {AUDIENCE}, so GitHub \
             Actions could not assume a role through it; nothing was changed. Add the audience \
             (aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn \
             {arn} --client-id {AUDIENCE}) and deploy again"
        )))
    }

    /// No thumbprint is sent: IAM verifies GitHub's certificate against its library of trusted
    /// root CAs, and the parameter has been optional since 2023.
    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        stack
            .aws
            .iam()
            .create_open_id_connect_provider()
            .url(format!("https://{PROVIDER_HOST}"))
            .client_id_list(AUDIENCE)
            .set_tags(Some(iam_tags(stack)?))
            .send()
            .await
            .map_err(|e| aws_err("create the OIDC provider for GitHub Actions", &e))?;
        stack.github_ids.provider_owned = true;
        Ok(())
    }

    async fn still_needed(
        &self,
        stack: &mut Stack<'_>,
        _: &Provider,
    ) -> Result<Option<String>, InfraError> {
        let ours = [stack.names.github_role(), stack.names.github_preview_role()];
        Ok(other_trusting_role(stack, &self.arn, &ours)
            .await?
            .map(|other| format!("role {other} still trusts it")))
    }

    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        _: Provider,
    ) -> Result<Option<String>, InfraError> {
        let arn = &self.arn;
        stack
            .aws
            .iam()
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete the OIDC provider {arn}"), &e))?;
        Ok(None)
    }
}

/// The account's provider: reused when it exists, created with this project's tags otherwise.
pub async fn converge_provider(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let arn = provider_arn(&stack.account);
    stack.github_ids.provider_arn = Some(arn.clone());
    let provider = OidcProvider {
        arn,
        only_ours: false,
    };
    resource::converge(stack, mode, &provider).await
}

/// Removes the provider only when this project created it and no other role trusts it; one
/// it did not create is not its to list, let alone remove.
pub async fn destroy_provider(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let provider = OidcProvider {
        arn: provider_arn(&stack.account),
        only_ours: true,
    };
    resource::destroy(stack, mode, &provider).await
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
