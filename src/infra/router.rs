//! The live pointer's KeyValueStore, the placeholder version, and the viewer-request function
//! bound to the store. The function is updated and published only when its code or its store
//! association changes, so a redeploy never touches the edge for nothing.

use std::time::Duration;

use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    FunctionConfig, FunctionRuntime, FunctionStage, KeyValueStoreAssociation,
    KeyValueStoreAssociations,
};

use super::{Action, Change, InfraError, Mode, Stack, aws_err};
use crate::release::manifest::GitInfo;
use crate::release::{PublishOptions, Release, Target};

const KVS: &str = "key-value-store";
const LIVE_VERSION: &str = "live-version";
const FUNCTION: &str = "function";

/// The version id of the page served between the first deploy and the first publish.
pub const PLACEHOLDER_VERSION: &str = "placeholder";

struct Store {
    arn: String,
    etag: String,
    comment: Option<String>,
    status: Option<String>,
}

async fn describe_kvs(stack: &Stack<'_>, name: &str) -> Result<Option<Store>, InfraError> {
    match stack.cf.describe_key_value_store().name(name).send().await {
        Ok(out) => Ok(out.key_value_store().map(|k| Store {
            arn: k.arn().to_string(),
            etag: out.e_tag().unwrap_or_default().to_string(),
            comment: Some(k.comment().to_string()),
            status: k.status().map(str::to_string),
        })),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_entity_not_found()) =>
        {
            Ok(None)
        }
        Err(e) => Err(aws_err(format!("look up KeyValueStore {name}"), &e)),
    }
}

pub async fn converge_kvs(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.kvs();
    if let Some(store) = describe_kvs(stack, &name).await? {
        if !stack.owns_comment(store.comment.as_deref()) {
            return Err(InfraError::NotOwned {
                kind: "KeyValueStore",
                name,
                proof: "comment marker",
            });
        }
        stack.ids.kvs_arn = Some(store.arn);
        return Ok(Change::none(KVS, &name));
    }
    if mode == Mode::Apply {
        let out = stack
            .cf
            .create_key_value_store()
            .name(&name)
            .comment(stack.marker())
            .send()
            .await
            .map_err(|e| aws_err(format!("create KeyValueStore {name}"), &e))?;
        stack.ids.kvs_arn = out.key_value_store().map(|k| k.arn().to_string());
        wait_ready(stack, &name).await?;
    }
    Ok(Change::new(KVS, &name, Action::Create, "does not exist"))
}

/// A new store is PROVISIONING for a few seconds; writes before READY fail.
async fn wait_ready(stack: &Stack<'_>, name: &str) -> Result<(), InfraError> {
    let mut delay = Duration::from_millis(200);
    for _ in 0..40 {
        match describe_kvs(stack, name).await? {
            Some(s) if s.status.as_deref().is_none_or(|st| st == "READY") => return Ok(()),
            Some(s) if s.status.as_deref() == Some("PROVISIONING_FAILED") => {
                return Err(InfraError::Other(format!(
                    "KeyValueStore {name} could not be provisioned (PROVISIONING_FAILED)"
                )));
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(3));
    }
    Err(InfraError::Other(format!(
        "KeyValueStore {name} did not become READY; re-run deploy"
    )))
}

/// Before anything is published the store names a tiny placeholder version, so a visitor
/// sees "deployed, nothing published yet" instead of a bucket error.
pub async fn converge_placeholder(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let Some(arn) = stack.ids.kvs_arn.clone() else {
        return Ok(Change::new(
            LIVE_VERSION,
            PLACEHOLDER_VERSION,
            Action::Create,
            "nothing published yet: a placeholder page",
        ));
    };
    let release = Release::new(
        stack.aws,
        Target {
            bucket: stack.names.bucket(),
            kvs_arn: arn,
        },
    );
    if let Some(live) = release.pointer.read().await? {
        let reason = if live == PLACEHOLDER_VERSION {
            "nothing published yet"
        } else {
            "published"
        };
        return Ok(Change::new(LIVE_VERSION, &live, Action::None, reason));
    }
    if mode == Mode::Apply {
        let dir = tempfile::tempdir().map_err(|e| {
            InfraError::Other(format!("could not create a temporary directory: {e}"))
        })?;
        let page = placeholder_page(&stack.settings.name);
        for file in ["index.html", "404.html"] {
            std::fs::write(dir.path().join(file), &page).map_err(|e| {
                InfraError::Other(format!("could not write the placeholder page: {e}"))
            })?;
        }
        release
            .publish(&PublishOptions {
                dir: dir.path().to_path_buf(),
                version: PLACEHOLDER_VERSION.to_string(),
                switch: true,
                precompress: Vec::new(),
                brotli_level: stack.settings.brotli_level,
                concurrency: 2,
                multipart_threshold: stack.settings.upload.multipart_threshold,
                retention: stack.settings.retention.clone(),
                git: GitInfo::default(),
                quiet: true,
            })
            .await?;
    }
    Ok(Change::new(
        LIVE_VERSION,
        PLACEHOLDER_VERSION,
        Action::Create,
        "nothing published yet: a placeholder page",
    ))
}

fn placeholder_page(project: &str) -> String {
    let project: String = project
        .chars()
        .filter(|c| !matches!(c, '<' | '>' | '&' | '"' | '\''))
        .collect();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{project}</title></head>\n\
         <body><h1>{project} is deployed</h1><p>Nothing has been published yet. Run \
         <code>cargo cloudfront-host publish</code>.</p></body></html>\n"
    )
}

fn function_config(comment: &str, kvs_arn: &str) -> Result<FunctionConfig, InfraError> {
    let err = |e: aws_sdk_cloudfront::error::BuildError| InfraError::Other(e.to_string());
    FunctionConfig::builder()
        .comment(comment)
        .runtime(FunctionRuntime::CloudfrontJs20)
        .key_value_store_associations(
            KeyValueStoreAssociations::builder()
                .quantity(1)
                .items(
                    KeyValueStoreAssociation::builder()
                        .key_value_store_arn(kvs_arn)
                        .build()
                        .map_err(err)?,
                )
                .build()
                .map_err(err)?,
        )
        .build()
        .map_err(err)
}

fn associated_store(config: Option<&FunctionConfig>) -> Option<&str> {
    config?
        .key_value_store_associations()?
        .items()
        .first()
        .map(|a| a.key_value_store_arn())
}

struct Function {
    arn: String,
    dev_etag: String,
    dev_config: Option<FunctionConfig>,
    dev_code: Vec<u8>,
    live: Option<(Option<FunctionConfig>, Vec<u8>)>,
}

async fn read_function(stack: &Stack<'_>, name: &str) -> Result<Option<Function>, InfraError> {
    let dev = match stack
        .cf
        .describe_function()
        .name(name)
        .stage(FunctionStage::Development)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_function_exists()) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(aws_err(format!("describe function {name}"), &e)),
    };
    let summary = dev.function_summary();
    let arn = summary
        .and_then(|s| s.function_metadata())
        .map(|m| m.function_arn().to_string())
        .unwrap_or_default();
    let code = |stage: FunctionStage| async move {
        match stack.cf.get_function().name(name).stage(stage).send().await {
            Ok(out) => Ok(Some(
                out.function_code()
                    .map(|b| b.as_ref().to_vec())
                    .unwrap_or_default(),
            )),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_function_exists()) =>
            {
                Ok(None)
            }
            Err(e) => Err(aws_err(format!("read the code of function {name}"), &e)),
        }
    };
    let dev_code = code(FunctionStage::Development).await?.unwrap_or_default();
    let live = match code(FunctionStage::Live).await? {
        Some(c) => {
            let config = stack
                .cf
                .describe_function()
                .name(name)
                .stage(FunctionStage::Live)
                .send()
                .await
                .map_err(|e| aws_err(format!("describe the live stage of function {name}"), &e))?
                .function_summary()
                .and_then(|s| s.function_config())
                .cloned();
            Some((config, c))
        }
        None => None,
    };
    Ok(Some(Function {
        arn,
        dev_etag: dev.e_tag().unwrap_or_default().to_string(),
        dev_config: summary.and_then(|s| s.function_config()).cloned(),
        dev_code,
        live,
    }))
}

pub async fn converge_function(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.function();
    let routing = stack.settings.routing_mode();
    let redirect = stack.domains.as_ref().and_then(|d| d.redirect.as_ref());
    let options = crate::edge::function::EdgeOptions::from_settings(stack.settings);
    let code = crate::edge::function::render_full(
        routing,
        &stack.settings.precompress,
        redirect,
        &options,
    )?;
    let kvs_arn = stack.ids.kvs_arn.clone();
    let Some(actual) = read_function(stack, &name).await? else {
        if mode == Mode::Apply {
            let arn = kvs_arn.ok_or_else(|| {
                InfraError::Other("the KeyValueStore must exist before the function".into())
            })?;
            let created = stack
                .cf
                .create_function()
                .name(&name)
                .function_config(function_config(&stack.marker(), &arn)?)
                .function_code(Blob::new(code.into_bytes()))
                .send()
                .await
                .map_err(|e| aws_err(format!("create function {name}"), &e))?;
            let etag = created.e_tag().unwrap_or_default().to_string();
            publish(stack, &name, &etag).await?;
            stack.ids.function_arn = created
                .function_summary()
                .and_then(|s| s.function_metadata())
                .map(|m| m.function_arn().to_string());
        }
        return Ok(Change::new(
            FUNCTION,
            &name,
            Action::Create,
            "does not exist",
        ));
    };
    let owned_by_comment = stack.owns_comment(actual.dev_config.as_ref().map(|c| c.comment()));
    if !owned_by_comment {
        return Err(InfraError::NotOwned {
            kind: "function",
            name,
            proof: "comment marker",
        });
    }
    stack.ids.function_arn = Some(actual.arn.clone());
    let mut differences = Vec::new();
    match &actual.live {
        None => differences.push("never published".to_string()),
        Some((config, live_code)) => {
            if live_code.as_slice() != code.as_bytes() {
                differences.push(format!(
                    "code changed ({} → {} bytes; routing {routing})",
                    live_code.len(),
                    code.len()
                ));
            }
            if associated_store(config.as_ref()) != kvs_arn.as_deref() {
                differences.push("key-value store association".to_string());
            }
        }
    }
    let change = Change::from_differences(FUNCTION, &name, &differences);
    if mode == Mode::Apply && change.action == Action::Update {
        let arn = kvs_arn.ok_or_else(|| {
            InfraError::Other("the KeyValueStore must exist before the function".into())
        })?;
        let mut etag = actual.dev_etag.clone();
        let dev_matches = actual.dev_code.as_slice() == code.as_bytes()
            && associated_store(actual.dev_config.as_ref()) == Some(arn.as_str());
        if !dev_matches {
            let updated = stack
                .cf
                .update_function()
                .name(&name)
                .if_match(&etag)
                .function_config(function_config(&stack.marker(), &arn)?)
                .function_code(Blob::new(code.into_bytes()))
                .send()
                .await
                .map_err(|e| aws_err(format!("update function {name}"), &e))?;
            etag = updated.e_tag().unwrap_or_default().to_string();
        }
        publish(stack, &name, &etag).await?;
    }
    Ok(change)
}

async fn publish(stack: &Stack<'_>, name: &str, etag: &str) -> Result<(), InfraError> {
    stack
        .cf
        .publish_function()
        .name(name)
        .if_match(etag)
        .send()
        .await
        .map_err(|e| aws_err(format!("publish function {name}"), &e))?;
    Ok(())
}

pub async fn destroy_function(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.function();
    let Some(actual) = read_function(stack, &name).await? else {
        return Ok(Change::gone(FUNCTION, &name));
    };
    if !stack.owns_comment(actual.dev_config.as_ref().map(|c| c.comment())) {
        return Ok(Change::left_alone(FUNCTION, &name, "not this project's"));
    }
    if mode == Mode::Apply {
        super::retry_while_in_use(
            stack,
            &format!("function {name}"),
            || {
                stack
                    .cf
                    .delete_function()
                    .name(&name)
                    .if_match(&actual.dev_etag)
                    .send()
            },
            |e| e.as_service_error().is_some_and(|s| s.is_function_in_use()),
        )
        .await?;
    }
    Ok(Change::removed(FUNCTION, &name))
}

pub async fn destroy_kvs(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.kvs();
    let Some(store) = describe_kvs(stack, &name).await? else {
        return Ok(Change::gone(KVS, &name));
    };
    if !stack.owns_comment(store.comment.as_deref()) {
        return Ok(Change::left_alone(KVS, &name, "not this project's"));
    }
    if mode == Mode::Apply {
        stack
            .cf
            .delete_key_value_store()
            .name(&name)
            .if_match(&store.etag)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete KeyValueStore {name}"), &e))?;
    }
    Ok(Change::new(
        KVS,
        &name,
        Action::Delete,
        "owned by this project; the live pointer goes with it",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_page_cannot_inject_markup_from_the_project_name() {
        let page = placeholder_page("<script>x</script>");
        assert!(!page.contains("<script>"));
        assert!(page.contains("scriptx/script is deployed"));
    }
}
