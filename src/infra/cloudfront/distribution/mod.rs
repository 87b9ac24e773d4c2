//! The distribution: HTTP/2 and HTTP/3, IPv6, HTTPS only, compression, the cache and headers
//! policies, the viewer-request function, the bucket as the only origin (signed requests
//! through origin access control). The one resource not findable by name: its ID is recorded
//! in the stack's state, and found again by the comment marker and its tags when the record is
//! missing.

mod compare;
mod config;

use std::time::{Duration, Instant};

use aws_sdk_cloudfront::types::{DistributionConfig, DistributionConfigWithTags, Tag, Tags};

pub use compare::differences;
pub use config::{CACHING_DISABLED_POLICY, ORIGIN_ID, error_page_path};
use config::{Refs, build_err, desired_config};

use crate::infra::resource::{self, Resource, unless_missing};
use crate::infra::{Action, Change, InfraError, Mode, Stack, WaitOptions, aws_err};

const DISTRIBUTION: &str = "distribution";

struct Found {
    id: String,
    arn: String,
    domain: String,
    etag: String,
    config: DistributionConfig,
    status: String,
}

async fn get(stack: &Stack<'_>, id: &str) -> Result<Option<Found>, InfraError> {
    let out = stack.cf.get_distribution().id(id).send().await;
    let out = unless_missing(
        out,
        |e| e.is_no_such_distribution(),
        || format!("read distribution {id}"),
    )?;
    let Some(out) = out else {
        return Ok(None);
    };
    let Some(d) = out.distribution() else {
        return Ok(None);
    };
    let config = d
        .distribution_config()
        .cloned()
        .ok_or_else(|| InfraError::Other(format!("distribution {id} has no configuration")))?;
    Ok(Some(Found {
        id: d.id().to_string(),
        arn: d.arn().to_string(),
        domain: d.domain_name().to_string(),
        etag: out.e_tag().unwrap_or_default().to_string(),
        config,
        status: d.status().to_string(),
    }))
}

async fn owned(stack: &Stack<'_>, arn: &str) -> Result<bool, InfraError> {
    let tags = stack
        .cf
        .list_tags_for_resource()
        .resource(arn)
        .send()
        .await
        .map_err(|e| aws_err(format!("read the tags of {arn}"), &e))?;
    let pairs: Vec<(String, String)> = tags
        .tags()
        .map(|t| {
            t.items()
                .iter()
                .map(|t| {
                    (
                        t.key().to_string(),
                        t.value().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(stack
        .names
        .owns(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))))
}

/// The project's distribution: the recorded ID if it still exists, else the one whose comment
/// carries the marker and whose tags prove ownership (a deploy that failed before recording).
async fn find(stack: &Stack<'_>) -> Result<Option<Found>, InfraError> {
    if let Some(id) = &stack.ids.distribution_id
        && let Some(found) = get(stack, id).await?
        && owned(stack, &found.arn).await?
    {
        return Ok(Some(found));
    }
    let mut marker = None;
    loop {
        let page = stack
            .cf
            .list_distributions()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_err("list distributions", &e))?;
        let Some(list) = page.distribution_list() else {
            return Ok(None);
        };
        for summary in list.items() {
            if stack.owns_comment(Some(summary.comment())) && owned(stack, summary.arn()).await? {
                return get(stack, summary.id()).await;
            }
        }
        match list.next_marker() {
            Some(m) if list.is_truncated() && !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(None),
        }
    }
}

/// Fills in the distribution's IDs, when it exists (for steps that need its domain name).
pub async fn locate(stack: &mut Stack<'_>) -> Result<(), InfraError> {
    if let Some(found) = find(stack).await? {
        remember(stack, &found.id, &found.arn, &found.domain);
    }
    Ok(())
}

fn refs(stack: &Stack<'_>) -> Refs {
    let bucket = stack.names.bucket();
    Refs {
        bucket_domain: format!("{bucket}.s3.{}.amazonaws.com", stack.aws.region()),
        oac: stack.ids.origin_access_control.clone(),
        cache_policy: stack.ids.cache_policy.clone(),
        headers_policy: stack.ids.headers_policy.clone(),
        function_arn: stack.ids.function_arn.clone().unwrap_or_else(|| {
            format!(
                "arn:aws:cloudfront::{}:function/{}",
                stack.account,
                stack.names.function()
            )
        }),
    }
}

fn remember(stack: &mut Stack<'_>, id: &str, arn: &str, domain: &str) {
    stack.ids.distribution_id = Some(id.to_string());
    stack.ids.distribution_arn = Some(arn.to_string());
    stack.ids.distribution_domain = Some(domain.to_string());
}

/// The distribution as a resource. `converge` lays the desired configuration over the current
/// one; `destroy` disables it, waits until that is deployed, and deletes it.
struct Distribution {
    /// The plan's name before there is an ID.
    name: &'static str,
    refs: Refs,
    wait: WaitOptions,
}

impl Distribution {
    fn new(stack: &Stack<'_>, name: &'static str, wait: WaitOptions) -> Self {
        Distribution {
            name,
            refs: refs(stack),
            wait,
        }
    }
}

/// The headers policy a configuration's default behaviour uses.
fn headers_policy(c: &DistributionConfig) -> Option<String> {
    c.default_cache_behavior()
        .and_then(|b| b.response_headers_policy_id())
        .filter(|id| !id.is_empty())
        .map(str::to_string)
}

impl Resource for Distribution {
    const NOUN: &'static str = "distribution";
    const PROOF: &'static str = "comment marker and tags";
    type Actual = Found;

    fn kind(&self) -> &'static str {
        DISTRIBUTION
    }

    fn name(&self) -> &str {
        self.name
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<Found>, InfraError> {
        find(stack).await
    }

    /// `find` only returns a distribution that proved ours.
    async fn owned(&self, _stack: &Stack<'_>, _actual: &Found) -> Result<bool, InfraError> {
        Ok(true)
    }

    fn label(&self, actual: &Found) -> String {
        actual.id.clone()
    }

    fn adopt(&self, stack: &mut Stack<'_>, actual: &Found) {
        remember(stack, &actual.id, &actual.arn, &actual.domain);
    }

    async fn differences(
        &self,
        stack: &Stack<'_>,
        actual: &Found,
    ) -> Result<Vec<String>, InfraError> {
        let caller_reference = actual.config.caller_reference();
        let desired = desired_config(stack, &self.refs, caller_reference, Some(&actual.config))?;
        Ok(differences(&desired, &actual.config))
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        let caller_reference = format!(
            "{}-{}",
            stack.names.bucket(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        );
        let config = desired_config(stack, &self.refs, &caller_reference, None)?;
        let tags = stack
            .names
            .tags()
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build().map_err(build_err))
            .collect::<Result<Vec<_>, _>>()?;
        let out = stack
            .cf
            .create_distribution_with_tags()
            .distribution_config_with_tags(
                DistributionConfigWithTags::builder()
                    .distribution_config(config)
                    .tags(Tags::builder().set_items(Some(tags)).build())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| aws_err("create the distribution", &e))?;
        let d = out
            .distribution()
            .ok_or_else(|| InfraError::Other("CreateDistribution returned nothing".into()))?;
        remember(stack, d.id(), d.arn(), d.domain_name());
        // Record it at once: the distribution is the one resource not findable by name.
        crate::infra::state::write(stack).await
    }

    async fn update(&self, stack: &mut Stack<'_>, actual: Found) -> Result<(), InfraError> {
        let caller_reference = actual.config.caller_reference();
        let desired = desired_config(stack, &self.refs, caller_reference, Some(&actual.config))?;
        // A shared headers policy this distribution stops using is deleted once nothing uses it.
        if let Some(old) = headers_policy(&actual.config)
            && headers_policy(&desired).as_ref() != Some(&old)
            && !stack.ids.retired_headers_policies.contains(&old)
        {
            stack.ids.retired_headers_policies.push(old);
        }
        stack
            .cf
            .update_distribution()
            .id(&actual.id)
            .if_match(&actual.etag)
            .distribution_config(desired)
            .send()
            .await
            .map_err(|e| aws_err(format!("update distribution {}", actual.id), &e))?;
        Ok(())
    }

    /// Never needed by anything else; records the shared policies it used, which `delete`
    /// removes afterwards when no other distribution uses them.
    async fn still_needed(
        &self,
        stack: &mut Stack<'_>,
        actual: &Found,
    ) -> Result<Option<String>, InfraError> {
        if let Some(b) = actual.config.default_cache_behavior() {
            stack.ids.cache_policy = b.cache_policy_id().map(str::to_string);
            stack.ids.headers_policy = b.response_headers_policy_id().map(str::to_string);
        }
        Ok(None)
    }

    fn delete_reason(&self) -> String {
        "disable, wait until deployed, delete".to_string()
    }

    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        found: Found,
    ) -> Result<Option<String>, InfraError> {
        let mut etag = found.etag.clone();
        if found.config.enabled() {
            let mut disabled = found.config.clone();
            disabled.enabled = false;
            let out = stack
                .cf
                .update_distribution()
                .id(&found.id)
                .if_match(&etag)
                .distribution_config(disabled)
                .send()
                .await
                .map_err(|e| aws_err(format!("disable distribution {}", found.id), &e))?;
            etag = out.e_tag().unwrap_or_default().to_string();
        }
        if found.config.enabled() || found.status != "Deployed" {
            wait_deployed(&stack.cf, &found.id, &self.wait).await?;
            if let Some(now) = get(stack, &found.id).await? {
                etag = now.etag;
            }
        }
        stack
            .cf
            .delete_distribution()
            .id(&found.id)
            .if_match(&etag)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete distribution {}", found.id), &e))?;
        stack.ids.distribution_id = None;
        Ok(Some("disabled, deployed, deleted".to_string()))
    }
}

pub async fn converge(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let distribution = Distribution::new(stack, "(new)", WaitOptions::default());
    let mut change = resource::converge(stack, mode, &distribution).await?;
    // A new distribution's plan line names it by the ID it got.
    if mode == Mode::Apply
        && change.action == Action::Create
        && let Some(id) = &stack.ids.distribution_id
    {
        change.name = id.clone();
    }
    Ok(change)
}

/// Disables the distribution, waits until that is deployed, and deletes it.
pub async fn destroy(
    stack: &mut Stack<'_>,
    mode: Mode,
    wait: &WaitOptions,
) -> Result<Change, InfraError> {
    let distribution = Distribution::new(stack, "(none)", wait.clone());
    resource::destroy(stack, mode, &distribution).await
}

/// Polls until the distribution is `Deployed` (first at once, then backing off to 10 s).
pub async fn wait_deployed(
    cf: &aws_sdk_cloudfront::Client,
    id: &str,
    options: &WaitOptions,
) -> Result<(), InfraError> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        let out = cf
            .get_distribution()
            .id(id)
            .send()
            .await
            .map_err(|e| aws_err(format!("read distribution {id}"), &e))?;
        let status = out
            .distribution()
            .map(|d| d.status().to_string())
            .unwrap_or_default();
        if status == "Deployed" {
            return Ok(());
        }
        let waited = started.elapsed();
        if waited >= options.timeout {
            return Err(InfraError::Timeout {
                id: id.to_string(),
                waited: Duration::from_secs(waited.as_secs()),
                status,
            });
        }
        if let Some(f) = &options.on_wait {
            f(&format!(
                "distribution {id} is {status} ({}s)",
                waited.as_secs()
            ));
        }
        tokio::time::sleep(delay.min(options.timeout.saturating_sub(waited))).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}
