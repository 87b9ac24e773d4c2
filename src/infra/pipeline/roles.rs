//! The two IAM roles of the pipeline: CodeBuild's and CodePipeline's, least privilege, scoped
//! to this project's ARNs.

use serde_json::{Value, json};

use super::connection::connection_service;
use super::{Scope, SourceSpec};
use crate::infra::iam_role::{IamRole, converge_role, destroy_role, live_pointer_statement};
use crate::infra::{Change, InfraError, Mode, Stack};

/// Who may assume a role: one AWS service, only on behalf of this account.
pub fn trust_policy(service: &str, account: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}
        }]
    })
}

/// The build's permissions: write its own log streams, read the source artifact and keep the
/// cache in the artifact bucket, publish into the site bucket, and move the live pointer.
pub fn build_policy(s: &Scope) -> Value {
    let site = format!("arn:aws:s3:::{}", s.site_bucket);
    let art = format!("arn:aws:s3:::{}", s.artifact_bucket);
    let logs = s.log_group_arn();
    json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "BuildLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [logs.clone(), format!("{logs}:log-stream:*")]
            },
            {
                "Sid": "ArtifactsAndCache",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                "Resource": format!("{art}/*")
            },
            {
                "Sid": "ArtifactBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
                "Resource": art
            },
            {
                "Sid": "PublishObjects",
                "Effect": "Allow",
                "Action": [
                    "s3:AbortMultipartUpload",
                    "s3:DeleteObject",
                    "s3:GetObject",
                    "s3:ListMultipartUploadParts",
                    "s3:PutObject"
                ],
                "Resource": format!("{site}/*")
            },
            {
                "Sid": "PublishBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                "Resource": site
            },
            live_pointer_statement(&s.kvs_arn)
        ]
    })
}

/// The pipeline's permissions: the artifact bucket (also the S3 source), its own CodeBuild
/// project, and (GitHub) the connection.
pub fn pipeline_policy(s: &Scope, connection_arn: Option<&str>) -> Value {
    let art = format!("arn:aws:s3:::{}", s.artifact_bucket);
    let mut statements = vec![
        json!({
            "Sid": "Artifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
            "Resource": format!("{art}/*")
        }),
        json!({
            "Sid": "ArtifactBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket"],
            "Resource": art
        }),
        json!({
            "Sid": "Build",
            "Effect": "Allow",
            "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"],
            "Resource": s.project_arn()
        }),
    ];
    if let Some(arn) = connection_arn {
        statements.push(json!({
            "Sid": "Connection",
            "Effect": "Allow",
            "Action": format!("{}:UseConnection", connection_service(arn)),
            "Resource": arn
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

pub async fn converge_build_role(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let scope = Scope::of(stack);
    let name = stack.names.build_role();
    let trust = trust_policy("codebuild.amazonaws.com", &stack.account);
    let role = IamRole::new("build-role", name, trust, build_policy(&scope));
    converge_role(stack, mode, role)
        .await
        .map(|(change, _)| change)
}

fn connection_for_policy(stack: &Stack<'_>) -> Option<String> {
    match &stack.pipeline.as_ref()?.source {
        SourceSpec::S3 => None,
        SourceSpec::Github { .. } => Some(
            stack
                .pipeline_ids
                .connection_arn
                .clone()
                .unwrap_or_else(|| {
                    format!(
                        "arn:aws:codestar-connections:{}:{}:connection/(created by this deploy)",
                        stack.settings.region, stack.account
                    )
                }),
        ),
    }
}

pub async fn converge_pipeline_role(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let scope = Scope::of(stack);
    let name = stack.names.pipeline_role();
    let trust = trust_policy("codepipeline.amazonaws.com", &stack.account);
    let connection = connection_for_policy(stack);
    let policy = pipeline_policy(&scope, connection.as_deref());
    converge_role(
        stack,
        mode,
        IamRole::new("pipeline-role", name, trust, policy),
    )
    .await
    .map(|(change, _)| change)
}

pub async fn destroy_build_role(stack: &mut Stack<'_>, mode: Mode) -> Result<Change, InfraError> {
    let name = stack.names.build_role();
    destroy_role(stack, mode, "build-role", name).await
}

pub async fn destroy_pipeline_role(
    stack: &mut Stack<'_>,
    mode: Mode,
) -> Result<Change, InfraError> {
    let name = stack.names.pipeline_role();
    destroy_role(stack, mode, "pipeline-role", name).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::iam_role::canonical_policy;
    use crate::infra::pipeline::connection_console_url;

    fn scope() -> Scope {
        Scope {
            region: "eu-west-1".into(),
            account: "123456789012".into(),
            site_bucket: "cfh-web-abcd1234".into(),
            artifact_bucket: "cfh-web-abcd1234-art".into(),
            kvs_arn: "arn:aws:cloudfront::123456789012:key-value-store/k1".into(),
            log_group: "/aws/codebuild/cfh-web-abcd1234-build".into(),
            project: "cfh-web-abcd1234-build".into(),
        }
    }

    fn statements(doc: &Value) -> Vec<Value> {
        doc["Statement"].as_array().unwrap().clone()
    }

    fn resources(s: &Value) -> Vec<String> {
        match &s["Resource"] {
            Value::String(r) => vec![r.clone()],
            Value::Array(a) => a.iter().map(|r| r.as_str().unwrap().to_string()).collect(),
            other => panic!("resource {other}"),
        }
    }

    fn actions(s: &Value) -> Vec<String> {
        match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|r| r.as_str().unwrap().to_string()).collect(),
            other => panic!("action {other}"),
        }
    }

    #[test]
    fn build_policy_is_scoped_to_this_project_statement_by_statement() {
        let s = scope();
        let doc = build_policy(&s);
        let st = statements(&doc);
        assert_eq!(st.len(), 6);
        for statement in &st {
            assert_eq!(statement["Effect"], "Allow");
            for r in resources(statement) {
                assert!(r != "*" && !r.starts_with("*"), "{r}");
            }
            for a in actions(statement) {
                assert!(!a.contains('*'), "wildcard action {a}");
            }
        }
        assert_eq!(
            resources(&st[0]),
            vec![
                "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/cfh-web-abcd1234-build",
                "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/codebuild/cfh-web-abcd1234-build:log-stream:*"
            ]
        );
        assert_eq!(
            resources(&st[1]),
            vec!["arn:aws:s3:::cfh-web-abcd1234-art/*"]
        );
        assert!(!actions(&st[1]).contains(&"s3:DeleteObject".to_string()));
        assert_eq!(resources(&st[2]), vec!["arn:aws:s3:::cfh-web-abcd1234-art"]);
        assert_eq!(resources(&st[3]), vec!["arn:aws:s3:::cfh-web-abcd1234/*"]);
        assert!(actions(&st[3]).contains(&"s3:DeleteObject".to_string()));
        assert_eq!(resources(&st[4]), vec!["arn:aws:s3:::cfh-web-abcd1234"]);
        assert_eq!(resources(&st[5]), vec![s.kvs_arn.clone()]);
        assert!(
            actions(&st[5])
                .iter()
                .all(|a| a.starts_with("cloudfront-keyvaluestore:"))
        );
        // Nothing about IAM, CloudFront distributions or other buckets.
        let text = doc.to_string();
        assert!(
            !text.contains("iam:") && !text.contains("\"cloudfront:"),
            "{text}"
        );
    }

    #[test]
    fn pipeline_policy_names_its_project_and_only_its_connection() {
        let s = scope();
        let conn = "arn:aws:codestar-connections:eu-west-1:123456789012:connection/c1";
        let doc = pipeline_policy(&s, Some(conn));
        let st = statements(&doc);
        assert_eq!(st.len(), 4);
        assert_eq!(
            resources(&st[0]),
            vec!["arn:aws:s3:::cfh-web-abcd1234-art/*"]
        );
        assert_eq!(resources(&st[1]), vec!["arn:aws:s3:::cfh-web-abcd1234-art"]);
        assert_eq!(
            resources(&st[2]),
            vec!["arn:aws:codebuild:eu-west-1:123456789012:project/cfh-web-abcd1234-build"]
        );
        assert_eq!(actions(&st[3]), vec!["codestar-connections:UseConnection"]);
        assert_eq!(resources(&st[3]), vec![conn]);
        // The S3 source needs no connection statement.
        let s3 = pipeline_policy(&s, None);
        assert_eq!(statements(&s3).len(), 3);
        assert!(!s3.to_string().contains("codestar"));
        assert!(
            !doc.to_string().contains("cfh-web-abcd1234/"),
            "no site bucket access"
        );
    }

    #[test]
    fn a_codeconnections_arn_is_granted_the_action_of_its_own_prefix() {
        let s = scope();
        let new = "arn:aws:codeconnections:eu-west-1:123456789012:connection/c2";
        let old = "arn:aws:codestar-connections:eu-west-1:123456789012:connection/c1";
        assert_eq!(connection_service(new), "codeconnections");
        assert_eq!(connection_service(old), "codestar-connections");
        let st = statements(&pipeline_policy(&s, Some(new)));
        assert_eq!(actions(&st[3]), vec!["codeconnections:UseConnection"]);
        assert_eq!(resources(&st[3]), vec![new]);
        assert!(
            connection_console_url("eu-west-1", new).contains("/codeconnections/connections/c2")
        );
    }
    #[test]
    fn trust_policies_name_one_service_and_the_account() {
        let t = trust_policy("codebuild.amazonaws.com", "123456789012");
        let st = statements(&t);
        assert_eq!(st.len(), 1);
        assert_eq!(st[0]["Principal"]["Service"], "codebuild.amazonaws.com");
        assert_eq!(st[0]["Action"], "sts:AssumeRole");
        assert_eq!(
            st[0]["Condition"]["StringEquals"]["aws:SourceAccount"],
            "123456789012"
        );
    }

    #[test]
    fn policies_compare_as_iam_reads_them() {
        let a = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "B", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::b/*"},
            {"Sid": "A", "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]});
        let b = json!({"Statement": [
            {"Effect": "Allow", "Sid": "A", "Principal": {"Service": ["codebuild.amazonaws.com"]}, "Action": ["sts:AssumeRole"]},
            {"Resource": ["arn:aws:s3:::b/*"], "Action": ["s3:GetObject", "s3:PutObject"], "Effect": "Allow", "Sid": "B"}
        ], "Version": "2012-10-17"});
        assert_eq!(canonical_policy(&a), canonical_policy(&b));
        let c = json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "B", "Effect": "Allow", "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": "arn:aws:s3:::b/*"},
            {"Sid": "A", "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]});
        assert_ne!(canonical_policy(&a), canonical_policy(&c));
        // The product's own policies are stable under it.
        let s = scope();
        assert_eq!(
            canonical_policy(&build_policy(&s)),
            canonical_policy(&canonical_policy(&build_policy(&s)))
        );
    }
}
