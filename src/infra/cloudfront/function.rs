//! The viewer-request CloudFront Function, bound to the KeyValueStore. It is updated and
//! published only when its code or its store association changes, so a redeploy never
//! touches the edge for nothing.

use aws_sdk_cloudfront::primitives::Blob;
use aws_sdk_cloudfront::types::{
    FunctionConfig, FunctionRuntime, FunctionStage, KeyValueStoreAssociation,
    KeyValueStoreAssociations,
};

use crate::infra::resource::{self, Resource, unless_missing};
use crate::infra::{Change, InfraError, Mode, Stack, aws_err};

const FUNCTION: &str = "function";

/// The function's code as the settings want it (routing, precompression, the domain redirect,
/// the edge options).
fn code(stack: &Stack<'_>) -> Result<String, InfraError> {
    let redirect = stack.domains.as_ref().and_then(|d| d.redirect.as_ref());
    Ok(crate::edge::spec::FunctionSpec::from_settings(stack.settings, redirect).render()?)
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

struct Actual {
    arn: String,
    dev_etag: String,
    dev_config: Option<FunctionConfig>,
    dev_code: Vec<u8>,
    live: Option<(Option<FunctionConfig>, Vec<u8>)>,
}

async fn read(stack: &Stack<'_>, name: &str) -> Result<Option<Actual>, InfraError> {
    let dev = stack
        .cf
        .describe_function()
        .name(name)
        .stage(FunctionStage::Development)
        .send()
        .await;
    let Some(dev) = unless_missing(
        dev,
        |e| e.is_no_such_function_exists(),
        || format!("describe function {name}"),
    )?
    else {
        return Ok(None);
    };
    let summary = dev.function_summary();
    let arn = summary
        .and_then(|s| s.function_metadata())
        .map(|m| m.function_arn().to_string())
        .unwrap_or_default();
    let code = |stage: FunctionStage| async move {
        let got = stack.cf.get_function().name(name).stage(stage).send().await;
        let got = unless_missing(
            got,
            |e| e.is_no_such_function_exists(),
            || format!("read the code of function {name}"),
        )?;
        Ok::<_, InfraError>(got.map(|out| {
            out.function_code()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default()
        }))
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
    Ok(Some(Actual {
        arn,
        dev_etag: dev.e_tag().unwrap_or_default().to_string(),
        dev_config: summary.and_then(|s| s.function_config()).cloned(),
        dev_code,
        live,
    }))
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

struct Function {
    name: String,
    /// The rendered code; `None` when only deleting.
    code: Option<String>,
    kvs_arn: Option<String>,
}

impl Function {
    fn kvs_arn(&self) -> Result<&str, InfraError> {
        self.kvs_arn.as_deref().ok_or_else(|| {
            InfraError::Other("the KeyValueStore must exist before the function".into())
        })
    }

    fn code(&self) -> &str {
        self.code.as_deref().unwrap_or_default()
    }
}

impl Resource for Function {
    const NOUN: &'static str = "function";
    const PROOF: &'static str = "comment marker";
    type Actual = Actual;

    fn kind(&self) -> &'static str {
        FUNCTION
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<Actual>, InfraError> {
        read(stack, &self.name).await
    }

    async fn owned(&self, stack: &Stack<'_>, actual: &Actual) -> Result<bool, InfraError> {
        Ok(stack.owns_comment(actual.dev_config.as_ref().map(|c| c.comment())))
    }

    fn adopt(&self, stack: &mut Stack<'_>, actual: &Actual) {
        stack.ids.function_arn = Some(actual.arn.clone());
    }

    async fn differences(
        &self,
        stack: &Stack<'_>,
        actual: &Actual,
    ) -> Result<Vec<String>, InfraError> {
        let code = self.code();
        let mut differences = Vec::new();
        match &actual.live {
            None => differences.push("never published".to_string()),
            Some((config, live_code)) => {
                if live_code.as_slice() != code.as_bytes() {
                    differences.push(format!(
                        "code changed ({} → {} bytes; routing {})",
                        live_code.len(),
                        code.len(),
                        stack.settings.routing_mode()
                    ));
                }
                if associated_store(config.as_ref()) != self.kvs_arn.as_deref() {
                    differences.push("key-value store association".to_string());
                }
            }
        }
        Ok(differences)
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        let name = &self.name;
        let created = stack
            .cf
            .create_function()
            .name(name)
            .function_config(function_config(&stack.marker(), self.kvs_arn()?)?)
            .function_code(Blob::new(self.code().as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| aws_err(format!("create function {name}"), &e))?;
        let etag = created.e_tag().unwrap_or_default().to_string();
        publish(stack, name, &etag).await?;
        stack.ids.function_arn = created
            .function_summary()
            .and_then(|s| s.function_metadata())
            .map(|m| m.function_arn().to_string());
        Ok(())
    }

    /// The development stage is written only when it differs too (a publish that failed
    /// after an update leaves it ahead of the live stage); then it is published.
    async fn update(&self, stack: &mut Stack<'_>, actual: Actual) -> Result<(), InfraError> {
        let name = &self.name;
        let (code, arn) = (self.code(), self.kvs_arn()?);
        let mut etag = actual.dev_etag;
        let dev_matches = actual.dev_code.as_slice() == code.as_bytes()
            && associated_store(actual.dev_config.as_ref()) == Some(arn);
        if !dev_matches {
            let updated = stack
                .cf
                .update_function()
                .name(name)
                .if_match(&etag)
                .function_config(function_config(&stack.marker(), arn)?)
                .function_code(Blob::new(code.as_bytes().to_vec()))
                .send()
                .await
                .map_err(|e| aws_err(format!("update function {name}"), &e))?;
            etag = updated.e_tag().unwrap_or_default().to_string();
        }
        publish(stack, name, &etag).await
    }

    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        actual: Actual,
    ) -> Result<Option<String>, InfraError> {
        let name = &self.name;
        crate::infra::retry_while_in_use(
            stack,
            &format!("function {name}"),
            || {
                stack
                    .cf
                    .delete_function()
                    .name(name)
                    .if_match(&actual.dev_etag)
                    .send()
            },
            |e| e.as_service_error().is_some_and(|s| s.is_function_in_use()),
        )
        .await?;
        Ok(None)
    }
}

pub async fn converge(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let function = Function {
        name: stack.names.function(),
        code: Some(code(stack)?),
        kvs_arn: stack.ids.kvs_arn.clone(),
    };
    resource::converge(stack, mode, &function).await
}

pub async fn destroy(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let function = Function {
        name: stack.names.function(),
        code: None,
        kvs_arn: None,
    };
    resource::destroy(stack, mode, &function).await
}
