//! The origin access control: the distribution signs its requests to the bucket with it
//! (SigV4, always), so the bucket needs no public access. Ownership is the marker in its
//! description (the service has no tags).

use aws_sdk_cloudfront::types::{
    OriginAccessControlConfig, OriginAccessControlOriginTypes, OriginAccessControlSigningBehaviors,
    OriginAccessControlSigningProtocols,
};

use crate::infra::resource::{self, Resource};
use crate::infra::{Change, InfraError, Mode, Stack, aws_err};

const OAC: &str = "origin-access-control";

fn build_err(e: impl std::fmt::Display) -> InfraError {
    InfraError::Other(format!("invalid origin access control configuration: {e}"))
}

struct AccessControl {
    id: String,
    etag: String,
    config: OriginAccessControlConfig,
}

fn oac_config(name: &str, description: &str) -> Result<OriginAccessControlConfig, InfraError> {
    OriginAccessControlConfig::builder()
        .name(name)
        .description(description)
        .signing_protocol(OriginAccessControlSigningProtocols::Sigv4)
        .signing_behavior(OriginAccessControlSigningBehaviors::Always)
        .origin_access_control_origin_type(OriginAccessControlOriginTypes::S3)
        .build()
        .map_err(build_err)
}

async fn find_oac(stack: &Stack<'_>, name: &str) -> Result<Option<AccessControl>, InfraError> {
    let mut marker = None;
    loop {
        let page = stack
            .cf
            .list_origin_access_controls()
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| aws_err("list origin access controls", &e))?;
        let Some(list) = page.origin_access_control_list() else {
            return Ok(None);
        };
        if let Some(summary) = list.items().iter().find(|s| s.name() == name) {
            let got = stack
                .cf
                .get_origin_access_control()
                .id(summary.id())
                .send()
                .await
                .map_err(|e| aws_err(format!("read origin access control {name}"), &e))?;
            let config = got
                .origin_access_control()
                .and_then(|o| o.origin_access_control_config())
                .cloned()
                .ok_or_else(|| InfraError::Other(format!("{name} has no configuration")))?;
            return Ok(Some(AccessControl {
                id: summary.id().to_string(),
                etag: got.e_tag().unwrap_or_default().to_string(),
                config,
            }));
        }
        match list.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => return Ok(None),
        }
    }
}

/// The origin access control: signs the distribution's requests to the bucket (SigV4,
/// always). Ownership is the marker in its description.
struct AccessControlResource {
    name: String,
    desired: OriginAccessControlConfig,
}

impl AccessControlResource {
    fn new(stack: &Stack<'_>) -> Result<Self, InfraError> {
        let name = stack.names.origin_access_control();
        let desired = oac_config(&name, &stack.marker())?;
        Ok(AccessControlResource { name, desired })
    }
}

impl Resource for AccessControlResource {
    const NOUN: &'static str = "origin access control";
    const PROOF: &'static str = "description marker";
    type Actual = AccessControl;

    fn kind(&self) -> &'static str {
        OAC
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<AccessControl>, InfraError> {
        find_oac(stack, &self.name).await
    }

    async fn owned(&self, stack: &Stack<'_>, actual: &AccessControl) -> Result<bool, InfraError> {
        Ok(stack.owns_comment(actual.config.description()))
    }

    fn adopt(&self, stack: &mut Stack<'_>, actual: &AccessControl) {
        stack.ids.origin_access_control = Some(actual.id.clone());
    }

    async fn differences(
        &self,
        _stack: &Stack<'_>,
        actual: &AccessControl,
    ) -> Result<Vec<String>, InfraError> {
        let (desired, actual) = (&self.desired, &actual.config);
        let mut differences = Vec::new();
        if actual.signing_behavior() != desired.signing_behavior()
            || actual.signing_protocol() != desired.signing_protocol()
        {
            differences.push("signing (SigV4, always)".to_string());
        }
        if actual.origin_access_control_origin_type() != desired.origin_access_control_origin_type()
        {
            differences.push("origin type".to_string());
        }
        Ok(differences)
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        let out = stack
            .cf
            .create_origin_access_control()
            .origin_access_control_config(self.desired.clone())
            .send()
            .await
            .map_err(|e| aws_err(format!("create origin access control {}", self.name), &e))?;
        stack.ids.origin_access_control = out.origin_access_control().map(|o| o.id().to_string());
        Ok(())
    }

    async fn update(&self, stack: &mut Stack<'_>, actual: AccessControl) -> Result<(), InfraError> {
        stack
            .cf
            .update_origin_access_control()
            .id(&actual.id)
            .if_match(&actual.etag)
            .origin_access_control_config(self.desired.clone())
            .send()
            .await
            .map_err(|e| aws_err(format!("update origin access control {}", self.name), &e))?;
        Ok(())
    }

    async fn delete(
        &self,
        stack: &mut Stack<'_>,
        actual: AccessControl,
    ) -> Result<Option<String>, InfraError> {
        crate::infra::retry_while_in_use(
            stack,
            &format!("origin access control {}", self.name),
            || {
                stack
                    .cf
                    .delete_origin_access_control()
                    .id(&actual.id)
                    .if_match(&actual.etag)
                    .send()
            },
            |e| {
                e.as_service_error()
                    .is_some_and(|s| s.is_origin_access_control_in_use())
            },
        )
        .await?;
        Ok(None)
    }
}

pub async fn converge(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let oac = AccessControlResource::new(stack)?;
    resource::converge(stack, mode, &oac).await
}

pub async fn destroy(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let oac = AccessControlResource::new(stack)?;
    resource::destroy(stack, mode, &oac).await
}
