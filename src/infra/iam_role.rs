//! IAM roles this tool owns (the pipeline's two and the GitHub Actions ones): one trust
//! policy and one inline policy each, tagged as the project's, compared as IAM reads them.

use serde_json::Value;

use super::{Action, Change, InfraError, Mode, Stack, aws_err};

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

struct Role {
    arn: String,
    trust: Option<Value>,
    policy: Option<Value>,
    owned: bool,
}

async fn read_role(stack: &Stack<'_>, name: &str) -> Result<Option<Role>, InfraError> {
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

async fn put_policy(stack: &Stack<'_>, role: &str, policy: &Value) -> Result<(), InfraError> {
    stack
        .aws
        .iam()
        .put_role_policy()
        .role_name(role)
        .policy_name(POLICY_NAME)
        .policy_document(policy.to_string())
        .send()
        .await
        .map_err(|e| aws_err(format!("set the policy of role {role}"), &e))?;
    Ok(())
}

/// Creates the role, or brings its trust and inline policy back to `trust` and `policy`
/// (compared canonically: IAM's URL-encoding, key order and one-element lists are not
/// differences). Returns the change and the role's ARN.
pub async fn converge_role(
    stack: &mut Stack<'_>,
    mode: Mode,
    resource: &'static str,
    name: &str,
    trust: Value,
    policy: Value,
) -> Result<(Change, String), InfraError> {
    let iam = stack.aws.iam();
    let Some(actual) = read_role(stack, name).await? else {
        if mode == Mode::Apply {
            let tags = iam_tags(stack)?;
            iam.create_role()
                .role_name(name)
                .description(stack.marker())
                .assume_role_policy_document(trust.to_string())
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| aws_err(format!("create role {name}"), &e))?;
            put_policy(stack, name, &policy).await?;
        }
        let change = Change::new(resource, name, Action::Create, "does not exist");
        return Ok((change, role_arn(&stack.account, name)));
    };
    if !actual.owned {
        return Err(InfraError::NotOwned {
            kind: "IAM role",
            name: name.to_string(),
            proof: "tags (cloudfront-host:project and cloudfront-host:stack)",
        });
    }
    let trust_differs = actual.trust.as_ref() != Some(&canonical_policy(&trust));
    let policy_differs = actual.policy.as_ref() != Some(&canonical_policy(&policy));
    let mut differences = Vec::new();
    if trust_differs {
        differences.push("trust policy".to_string());
    }
    if policy_differs {
        differences.push(match &actual.policy {
            None => "inline policy missing".to_string(),
            Some(_) => "inline policy differs from least privilege".to_string(),
        });
    }
    if mode == Mode::Apply {
        if trust_differs {
            iam.update_assume_role_policy()
                .role_name(name)
                .policy_document(trust.to_string())
                .send()
                .await
                .map_err(|e| aws_err(format!("update the trust policy of role {name}"), &e))?;
        }
        if policy_differs {
            put_policy(stack, name, &policy).await?;
        }
    }
    Ok((
        Change::from_differences(resource, name, &differences),
        actual.arn,
    ))
}

/// Removes a role this project owns, with its inline and any attached managed policies.
pub async fn destroy_role(
    stack: &mut Stack<'_>,
    mode: Mode,
    resource: &'static str,
    name: String,
) -> Result<Change, InfraError> {
    let Some(actual) = read_role(stack, &name).await? else {
        return Ok(Change::gone(resource, &name));
    };
    if !actual.owned {
        return Ok(Change::left_alone(
            resource,
            &name,
            "not tagged as this project's",
        ));
    }
    if mode == Mode::Apply {
        let iam = stack.aws.iam();
        let inline = iam
            .list_role_policies()
            .role_name(&name)
            .send()
            .await
            .map_err(|e| aws_err(format!("list the policies of role {name}"), &e))?;
        for policy in inline.policy_names() {
            iam.delete_role_policy()
                .role_name(&name)
                .policy_name(policy)
                .send()
                .await
                .map_err(|e| aws_err(format!("delete policy {policy} of role {name}"), &e))?;
        }
        let attached = iam
            .list_attached_role_policies()
            .role_name(&name)
            .send()
            .await
            .map_err(|e| aws_err(format!("list the managed policies of role {name}"), &e))?;
        for p in attached.attached_policies() {
            if let Some(arn) = p.policy_arn() {
                iam.detach_role_policy()
                    .role_name(&name)
                    .policy_arn(arn)
                    .send()
                    .await
                    .map_err(|e| aws_err(format!("detach {arn} from role {name}"), &e))?;
            }
        }
        iam.delete_role()
            .role_name(&name)
            .send()
            .await
            .map_err(|e| aws_err(format!("delete role {name}"), &e))?;
    }
    Ok(Change::removed(resource, &name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
