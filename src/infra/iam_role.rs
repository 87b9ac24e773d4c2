//! IAM roles this tool owns (the pipeline's two and the GitHub Actions ones): one trust
//! policy and one inline policy each, tagged as the project's, compared as IAM reads them.

use serde_json::{Value, json};

use super::resource::{self, Resource};
use super::{Change, InfraError, Mode, Stack, aws_err};

/// The name of every role's one inline policy.
pub const POLICY_NAME: &str = "cloudfront-host";

/// A policy document in a canonical form, so that two documents IAM treats alike compare
/// equal: a lone string and a one-element list are the same, the order of actions, resources,
/// principals and statements does not matter (IAM evaluates them as sets).
pub fn canonical_policy(doc: &Value) -> Value {
    fn as_sorted_list(v: &Value) -> Value {
        let mut items: Vec<Value> = match v {
            Value::Array(a) => a.iter().map(canonical_policy).collect(),
            other => vec![canonical_policy(other)],
        };
        items.sort_by_key(|i| i.to_string());
        items.dedup();
        Value::Array(items)
    }
    match doc {
        Value::Object(map) => {
            // Keys in sorted order, so that the text the lists are sorted by does not depend
            // on serde_json's map ordering.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                let v = &map[k];
                let v = match k.as_str() {
                    "Action" | "NotAction" | "Resource" | "NotResource" | "Statement"
                    | "Service" | "AWS" | "Federated" => as_sorted_list(v),
                    _ => canonical_policy(v),
                };
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical_policy).collect()),
        other => other.clone(),
    }
}

/// IAM returns policy documents URL-encoded (RFC 3986: a space is `%20`, and a `+` is a `+`);
/// accept the plain form too.
pub fn decode_policy(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok().or_else(|| {
        let decoded = percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .ok()?;
        serde_json::from_str(&decoded).ok()
    })
}

/// The ARN IAM gives role `name` in `account` (roles live under `/`).
pub fn role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

/// The store the policies name: the one `deploy` found or created, else (a plan before the
/// first deploy) its name-derived stand-in.
pub(crate) fn policy_kvs_arn(stack: &Stack<'_>) -> String {
    stack.ids.kvs_arn.clone().unwrap_or_else(|| {
        format!(
            "arn:aws:cloudfront::{}:key-value-store/{}",
            stack.account,
            stack.names.kvs()
        )
    })
}

/// What `publish` does to the live pointer, wherever it runs (CodeBuild, GitHub Actions).
pub fn live_pointer_statement(kvs_arn: &str) -> Value {
    json!({
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
    })
}

/// The project's tags in IAM's shape (roles and OIDC providers).
pub(crate) fn iam_tags(stack: &Stack<'_>) -> Result<Vec<aws_sdk_iam::types::Tag>, InfraError> {
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

/// A role as wanted: its plan line, name, trust policy and one inline policy. The ARN of the
/// role found or created is kept for the caller (`show` prints GitHub's).
pub struct IamRole {
    pub resource: &'static str,
    pub name: String,
    pub trust: Value,
    pub policy: Value,
    arn: std::sync::OnceLock<String>,
}

/// A role as IAM has it; the documents in canonical form.
pub struct Role {
    arn: String,
    trust: Option<Value>,
    policy: Option<Value>,
    owned: bool,
}

impl IamRole {
    pub fn new(resource: &'static str, name: String, trust: Value, policy: Value) -> Self {
        IamRole {
            resource,
            name,
            trust,
            policy,
            arn: std::sync::OnceLock::new(),
        }
    }

    /// A role only to be removed (the documents are not compared).
    pub fn named(resource: &'static str, name: String) -> Self {
        IamRole::new(resource, name, Value::Null, Value::Null)
    }

    fn trust_differs(&self, actual: &Role) -> bool {
        actual.trust.as_ref() != Some(&canonical_policy(&self.trust))
    }

    fn policy_differs(&self, actual: &Role) -> bool {
        actual.policy.as_ref() != Some(&canonical_policy(&self.policy))
    }

    async fn put_policy(&self, stack: &Stack<'_>) -> Result<(), InfraError> {
        let role = &self.name;
        stack
            .aws
            .iam()
            .put_role_policy()
            .role_name(role)
            .policy_name(POLICY_NAME)
            .policy_document(self.policy.to_string())
            .send()
            .await
            .map_err(|e| aws_err(format!("set the policy of role {role}"), &e))?;
        Ok(())
    }
}

impl Resource for IamRole {
    const NOUN: &'static str = "IAM role";
    const PROOF: &'static str = "tags (cloudfront-host:project and cloudfront-host:stack)";
    const NOT_OURS: &'static str = "not tagged as this project's";
    type Actual = Role;

    fn kind(&self) -> &'static str {
        self.resource
    }

    fn name(&self) -> &str {
        &self.name
    }

    async fn read(&self, stack: &Stack<'_>) -> Result<Option<Role>, InfraError> {
        let name = &self.name;
        let iam = stack.aws.iam();
        let role = match iam.get_role().role_name(name).send().await {
            Ok(out) => out.role().cloned(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(aws_err(format!("look up role {name}"), &e)),
        };
        let Some(role) = role else { return Ok(None) };
        let tags = iam
            .list_role_tags()
            .role_name(name)
            .send()
            .await
            .map_err(|e| aws_err(format!("read the tags of role {name}"), &e))?;
        let owned = stack
            .names
            .owns(tags.tags().iter().map(|t| (t.key(), t.value())));
        let policy = match iam
            .get_role_policy()
            .role_name(name)
            .policy_name(POLICY_NAME)
            .send()
            .await
        {
            Ok(out) => decode_policy(out.policy_document()).map(|p| canonical_policy(&p)),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                None
            }
            Err(e) => return Err(aws_err(format!("read the policy of role {name}"), &e)),
        };
        Ok(Some(Role {
            arn: role.arn().to_string(),
            trust: role
                .assume_role_policy_document()
                .and_then(decode_policy)
                .map(|p| canonical_policy(&p)),
            policy,
            owned,
        }))
    }

    async fn owned(&self, _: &Stack<'_>, actual: &Role) -> Result<bool, InfraError> {
        Ok(actual.owned)
    }

    fn adopt(&self, _: &mut Stack<'_>, actual: &Role) {
        let _ = self.arn.set(actual.arn.clone());
    }

    /// Compared canonically: IAM's URL-encoding, key order and one-element lists are not
    /// differences.
    async fn differences(&self, _: &Stack<'_>, actual: &Role) -> Result<Vec<String>, InfraError> {
        let mut differences = Vec::new();
        if self.trust_differs(actual) {
            differences.push("trust policy".to_string());
        }
        if self.policy_differs(actual) {
            differences.push(match &actual.policy {
                None => "inline policy missing".to_string(),
                Some(_) => "inline policy differs from least privilege".to_string(),
            });
        }
        Ok(differences)
    }

    async fn create(&self, stack: &mut Stack<'_>) -> Result<(), InfraError> {
        let name = &self.name;
        stack
            .aws
            .iam()
            .create_role()
            .role_name(name)
            .description(stack.marker())
            .assume_role_policy_document(self.trust.to_string())
            .set_tags(Some(iam_tags(stack)?))
            .send()
            .await
            .map_err(|e| aws_err(format!("create role {name}"), &e))?;
        self.put_policy(stack).await
    }

    async fn update(&self, stack: &mut Stack<'_>, actual: Role) -> Result<(), InfraError> {
        let name = &self.name;
        if self.trust_differs(&actual) {
            stack
                .aws
                .iam()
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(self.trust.to_string())
                .send()
                .await
                .map_err(|e| aws_err(format!("update the trust policy of role {name}"), &e))?;
        }
        if self.policy_differs(&actual) {
            self.put_policy(stack).await?;
        }
        Ok(())
    }

    /// With its inline and any attached managed policies (IAM refuses to delete a role that
    /// still has them).
    async fn delete(&self, stack: &mut Stack<'_>, _: Role) -> Result<Option<String>, InfraError> {
        let name = &self.name;
        let iam = stack.aws.iam();
        let inline = iam
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| aws_err(format!("list the policies of role {name}"), &e))?;
        for policy in inline.policy_names() {
            iam.delete_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .map_err(|e| aws_err(format!("delete policy {policy} of role {name}"), &e))?;
        }
        let attached = iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .map_err(|e| aws_err(format!("list the managed policies of role {name}"), &e))?;
        for p in attached.attached_policies() {
            if let Some(arn) = p.policy_arn() {
                iam.detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| aws_err(format!("detach {arn} from role {name}"), &e))?;
            }
        }
        iam.delete_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete role {name}"), &e))?;
        Ok(None)
    }
}

/// Creates the role, or brings its trust and inline policy back to the wanted ones. Returns
/// the change and the role's ARN (the one IAM gives a new role, for a plan).
pub async fn converge_role(
    stack: &mut Stack<'_>,
    mode: Mode,
    role: IamRole,
) -> Result<(Change, String), InfraError> {
    let change = resource::converge(stack, mode, &role).await?;
    let arn = match role.arn.get() {
        Some(found) => found.clone(),
        None => role_arn(&stack.account, &role.name),
    };
    Ok((change, arn))
}

/// Removes a role this project owns, with its inline and any attached managed policies.
pub async fn destroy_role(
    stack: &mut Stack<'_>,
    mode: Mode,
    resource: &'static str,
    name: String,
) -> Result<Change, InfraError> {
    resource::destroy(stack, mode, &IamRole::named(resource, name)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_policies_decode() {
        let doc = json!({"Version": "2012-10-17", "Statement": [{"Sid": "a b"}]});
        let encoded: String = percent_encoding::utf8_percent_encode(
            &doc.to_string(),
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        assert_eq!(decode_policy(&encoded), Some(doc.clone()));
        assert_eq!(decode_policy(&doc.to_string()), Some(doc));
        // RFC 3986 (IAM's encoding): a literal `+` stays a plus, it is not a space.
        let plus = json!({"Version": "2012-10-17", "Statement": [{"Sid": "a+b c"}]});
        let encoded = plus.to_string().replace(' ', "%20").replace('"', "%22");
        assert_eq!(decode_policy(&encoded), Some(plus));
    }
}
