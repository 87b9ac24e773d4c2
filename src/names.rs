//! Deterministic resource names, within each service's limits, and the tags that prove a
//! resource belongs to a project.
//!
//! Every name is `cfh-<slug>-<hash>[-<suffix>]`: the slug keeps names readable, the hash (of
//! account, region, repository and project) keeps forks, regions and long names that share a
//! prefix from colliding. Slugs are cut, never the hash.

use sha2::{Digest, Sha256};

pub const TAG_PROJECT: &str = "cloudfront-host:project";
pub const TAG_STACK: &str = "cloudfront-host:stack";

/// What makes one deployment distinct from another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope<'a> {
    pub account: &'a str,
    pub region: &'a str,
    /// `owner/repo`, or `None` for a project published from a plain directory.
    pub repository: Option<&'a str>,
    pub project: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    project: String,
    slug: String,
    hash: String,
}

/// Per-service limits: maximum length and the allowed characters.
struct Rule {
    max: usize,
    lowercase: bool,
    /// Characters allowed besides ASCII letters and digits.
    extra: &'static str,
}

const BUCKET: Rule = Rule {
    max: 63,
    lowercase: true,
    extra: "-",
};
const CLOUDFRONT: Rule = Rule {
    max: 64,
    lowercase: false,
    extra: "-_",
};
const POLICY: Rule = Rule {
    max: 128,
    lowercase: false,
    extra: "-_",
};
const PIPELINE: Rule = Rule {
    max: 100,
    lowercase: false,
    extra: "-_.@",
};
const CODEBUILD: Rule = Rule {
    max: 255,
    lowercase: false,
    extra: "-_",
};
const IAM_ROLE: Rule = Rule {
    max: 64,
    lowercase: false,
    extra: "-_+=,.@",
};
const CONNECTION: Rule = Rule {
    max: 32,
    lowercase: false,
    extra: "-_",
};
const LOG_GROUP: Rule = Rule {
    max: 512,
    lowercase: false,
    extra: "-_/.#",
};

impl Names {
    pub fn new(scope: &Scope<'_>) -> Self {
        let mut hasher = Sha256::new();
        for part in [
            scope.account,
            scope.region,
            scope.repository.unwrap_or("-"),
            scope.project,
        ] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let hash = hex::encode(&hasher.finalize()[..4]);
        Names {
            project: scope.project.to_string(),
            slug: slug(scope.project),
            hash,
        }
    }

    /// The project name as given (tags and ownership markers carry it).
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The short hash that tells this deployment apart (also the `cloudfront-host:stack` tag).
    pub fn stack_id(&self) -> &str {
        &self.hash
    }

    fn make(&self, rule: &Rule, suffix: &str) -> String {
        let fixed = "cfh-".len()
            + 1
            + self.hash.len()
            + if suffix.is_empty() {
                0
            } else {
                suffix.len() + 1
            };
        let room = rule.max.saturating_sub(fixed);
        let slug: String = self.slug.chars().take(room).collect();
        let slug = slug.trim_end_matches('-');
        let mut name = if slug.is_empty() {
            format!("cfh-{}", self.hash)
        } else {
            format!("cfh-{slug}-{}", self.hash)
        };
        if !suffix.is_empty() {
            name.push('-');
            name.push_str(suffix);
        }
        debug_assert!(
            name.len() <= rule.max && name.chars().all(|c| allowed(rule, c)),
            "{name}"
        );
        if rule.lowercase {
            name.to_ascii_lowercase()
        } else {
            name
        }
    }

    /// The site bucket (global namespace: the hash includes the account).
    pub fn bucket(&self) -> String {
        self.make(&BUCKET, "")
    }
    /// The pipeline's artifact bucket (only with a pipeline).
    pub fn artifact_bucket(&self) -> String {
        self.make(&BUCKET, "art")
    }
    pub fn kvs(&self) -> String {
        self.make(&CLOUDFRONT, "live")
    }
    pub fn function(&self) -> String {
        self.make(&CLOUDFRONT, "router")
    }
    pub fn origin_access_control(&self) -> String {
        self.make(&CLOUDFRONT, "oac")
    }
    pub fn cache_policy(&self) -> String {
        self.make(&POLICY, "cache")
    }
    pub fn headers_policy(&self) -> String {
        self.make(&POLICY, "headers")
    }
    pub fn pipeline(&self) -> String {
        self.make(&PIPELINE, "")
    }
    pub fn codebuild_project(&self) -> String {
        self.make(&CODEBUILD, "build")
    }
    pub fn build_role(&self) -> String {
        self.make(&IAM_ROLE, "build")
    }
    pub fn pipeline_role(&self) -> String {
        self.make(&IAM_ROLE, "pipeline")
    }
    /// The role GitHub Actions assumes on pushes to the production branch (`ci.github`).
    pub fn github_role(&self) -> String {
        self.make(&IAM_ROLE, "gh")
    }
    /// The role GitHub Actions assumes in pull requests (previews only).
    pub fn github_preview_role(&self) -> String {
        self.make(&IAM_ROLE, "gh-pr")
    }
    pub fn connection(&self) -> String {
        self.make(&CONNECTION, "gh")
    }
    pub fn log_group(&self) -> String {
        format!("/aws/codebuild/{}", self.make(&LOG_GROUP, "build"))
    }

    /// Tags put on everything that takes tags; `delete` touches only what carries both.
    pub fn tags(&self) -> Vec<(String, String)> {
        // Tag values are at most 256 characters.
        let project: String = self.project.chars().take(256).collect();
        vec![
            (TAG_PROJECT.to_string(), project),
            (TAG_STACK.to_string(), self.hash.clone()),
        ]
    }

    /// True when `tags` prove the resource belongs to this deployment.
    pub fn owns<'a>(&self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        let expected = self.tags();
        let tags: Vec<(&str, &str)> = tags.into_iter().collect();
        expected
            .iter()
            .all(|(k, v)| tags.iter().any(|(tk, tv)| tk == k && tv == v))
    }
}

fn allowed(rule: &Rule, c: char) -> bool {
    c.is_ascii_alphanumeric() || rule.extra.contains(c)
}

/// Lower-case ASCII letters, digits and single hyphens; anything else becomes a hyphen.
fn slug(project: &str) -> String {
    let mut out = String::new();
    for c in project.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(project: &str) -> Names {
        Names::new(&Scope {
            account: "123456789012",
            region: "eu-west-1",
            repository: Some("octo/site"),
            project,
        })
    }

    fn all(n: &Names) -> Vec<(String, &'static Rule)> {
        vec![
            (n.bucket(), &BUCKET),
            (n.artifact_bucket(), &BUCKET),
            (n.kvs(), &CLOUDFRONT),
            (n.function(), &CLOUDFRONT),
            (n.origin_access_control(), &CLOUDFRONT),
            (n.cache_policy(), &POLICY),
            (n.headers_policy(), &POLICY),
            (n.pipeline(), &PIPELINE),
            (n.codebuild_project(), &CODEBUILD),
            (n.build_role(), &IAM_ROLE),
            (n.pipeline_role(), &IAM_ROLE),
            (n.github_role(), &IAM_ROLE),
            (n.github_preview_role(), &IAM_ROLE),
            (n.connection(), &CONNECTION),
        ]
    }

    #[test]
    fn every_name_fits_its_service_for_odd_projects() {
        let long = "x".repeat(200);
        let unicode = "Tōkyō Café ☕ ".repeat(20);
        for project in [
            "web",
            "my.site.example.com",
            "",
            "---",
            "UPPER_case",
            &long,
            &unicode,
            "日本語",
        ] {
            let n = names(project);
            for (name, rule) in all(&n) {
                assert!(
                    name.len() <= rule.max,
                    "{project:?}: {name} longer than {}",
                    rule.max
                );
                assert!(
                    name.chars().all(|c| allowed(rule, c)),
                    "{project:?}: {name}"
                );
                assert!(
                    !name.ends_with('-') && !name.contains("--"),
                    "{project:?}: {name}"
                );
                assert!(
                    name.contains(n.stack_id()),
                    "hash must survive truncation: {name}"
                );
            }
            let bucket = n.bucket();
            assert!(bucket.len() >= 3 && bucket == bucket.to_ascii_lowercase());
            assert!(bucket.starts_with(|c: char| c.is_ascii_alphanumeric()));
            let log = n.log_group();
            assert!(
                log.len() <= 512 && log.chars().all(|c| allowed(&LOG_GROUP, c)),
                "{log}"
            );
        }
    }

    #[test]
    fn names_are_deterministic_and_distinct_across_scopes() {
        assert_eq!(names("web").bucket(), names("web").bucket());
        let fork = Names::new(&Scope {
            account: "123456789012",
            region: "eu-west-1",
            repository: Some("someone/site"),
            project: "web",
        });
        assert_ne!(fork.bucket(), names("web").bucket());
        let other_region = Names::new(&Scope {
            account: "123456789012",
            region: "us-west-2",
            repository: Some("octo/site"),
            project: "web",
        });
        assert_ne!(other_region.kvs(), names("web").kvs());
        // Two long names sharing a 60-character prefix still differ.
        let a = names(&format!("{}a", "p".repeat(80)));
        let b = names(&format!("{}b", "p".repeat(80)));
        assert_ne!(a.bucket(), b.bucket());
    }

    #[test]
    fn ownership_needs_both_tags() {
        let n = names("web");
        let tags = n.tags();
        let pairs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert!(n.owns(pairs.clone()));
        assert!(!n.owns(pairs[..1].to_vec()));
        assert!(!names("other").owns(pairs));
    }
}
