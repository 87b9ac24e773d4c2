//! Every `[package.metadata.cloudfront]` key, defined once. Parsing, environment variable names,
//! validation, `show --settings` and the README's key table are all derived from this list.

/// What a key holds and how a value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    /// A relative or absolute path; relative paths are taken from the workspace root.
    Path,
    Bool,
    Integer {
        min: i64,
        max: i64,
    },
    /// An integer from a fixed set, where the AWS API accepts only those values.
    IntegerOneOf(&'static [i64]),
    /// A duration such as `24h`, `90m` or `7days` (humantime).
    Duration,
    /// One of a fixed set of strings.
    Enum(&'static [&'static str]),
    /// An AWS region code such as `eu-west-1`.
    Region,
    /// A DNS name (a domain to serve the site from).
    Hostname,
    StringList,
    /// A string the AWS API bounds to 1 to `chars` characters.
    BoundedString {
        chars: usize,
    },
    /// A list of strings the AWS API bounds: at most `items` entries of 1 to `chars` characters.
    BoundedStringList {
        items: usize,
        chars: usize,
    },
    /// A table of string values (`{ "X-Name" = "value" }`).
    StringMap,
}

impl Kind {
    /// The type as the README and error messages name it.
    pub fn describe(&self) -> String {
        match self {
            Kind::String => "string".into(),
            Kind::Path => "path".into(),
            Kind::Bool => "boolean".into(),
            Kind::Integer { min, max } => format!("integer ({min}–{max})"),
            Kind::IntegerOneOf(values) => format!(
                "integer, one of {}",
                values
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Kind::Duration => "duration (e.g. \"24h\")".into(),
            Kind::Enum(values) => values
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(" \\| "),
            Kind::Region => "region".into(),
            Kind::Hostname => "hostname".into(),
            Kind::StringList => "array of strings".into(),
            Kind::BoundedString { chars } => format!("string of 1–{chars} characters"),
            Kind::BoundedStringList { items, chars } => {
                format!("array of at most {items} strings of 1–{chars} characters")
            }
            Kind::StringMap => "table of strings".into(),
        }
    }
}

/// A key's default as documented. Values that depend on the project (detected build command,
/// package name, AWS config) are resolved elsewhere and only described here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultValue {
    /// A fixed default, written as TOML would parse it.
    Fixed(&'static str),
    /// Filled in from the project or environment; the text says from where.
    Derived(&'static str),
    /// No value unless given.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDef {
    /// Dotted path below `[package.metadata.cloudfront]`.
    pub key: &'static str,
    pub kind: Kind,
    pub default: DefaultValue,
    pub doc: &'static str,
}

impl KeyDef {
    /// `CARGO_CLOUDFRONT_HOST_` + the key in upper case, dots as underscores.
    pub fn env_var(&self) -> String {
        format!(
            "CARGO_CLOUDFRONT_HOST_{}",
            self.key.replace('.', "_").to_ascii_uppercase()
        )
    }
}

pub const FRAMEWORKS: &[&str] = &[
    "trunk",
    "leptos-csr",
    "yew",
    "sycamore",
    "dioxus",
    "mdbook",
    "zola",
    "static",
    "custom",
];

const fn key(key: &'static str, kind: Kind, default: DefaultValue, doc: &'static str) -> KeyDef {
    KeyDef {
        key,
        kind,
        default,
        doc,
    }
}

use DefaultValue::{Derived, Fixed, None as NoDefault};

pub const KEYS: &[KeyDef] = &[
    key(
        "name",
        Kind::String,
        Derived("the package name"),
        "Project name. Resource names and the `cloudfront-host:project` tag derive from it.",
    ),
    key(
        "region",
        Kind::Region,
        Derived("AWS_REGION / the profile's region, else us-east-1"),
        "Region of the bucket and the build pipeline. CloudFront, its function, the KeyValueStore and ACM certificates always live in us-east-1.",
    ),
    key(
        "framework",
        Kind::Enum(FRAMEWORKS),
        Derived("detected"),
        "The frontend stack; decides the build command, output directory and routing.",
    ),
    key(
        "routing",
        Kind::Enum(&["spa", "static"]),
        Derived("`spa` for Trunk, Leptos CSR, Yew, Sycamore, Dioxus; `static` otherwise"),
        "`spa`: extension-less paths serve `/index.html`. `static`: `/dir/` serves `/dir/index.html`, `/dir` redirects to `/dir/`, misses serve `404.html`.",
    ),
    key(
        "build.command",
        Kind::String,
        Derived("detected"),
        "Shell command that builds the site in release mode.",
    ),
    key(
        "build.output_dir",
        Kind::Path,
        Derived("detected"),
        "Directory the build writes the site to (relative to the workspace root).",
    ),
    key(
        "build.buildspec",
        Kind::Path,
        NoDefault,
        "A CodeBuild buildspec file of your own, used instead of the generated one.",
    ),
    key(
        "source.kind",
        Kind::Enum(&["local", "github", "s3"]),
        Fixed("\"local\""),
        "Where builds come from: `local` (this tool publishes from your machine or any CI), `github` (CodePipeline through a CodeStar connection) or `s3` (CodePipeline from a zip uploaded with `cargo cloudfront-host upload`).",
    ),
    key(
        "source.repository",
        Kind::String,
        Derived("the git remote `origin` (owner/repo)"),
        "GitHub repository `owner/repo` for `source.kind = \"github\"`.",
    ),
    key(
        "source.branch",
        // The pipeline's push trigger names it: CodePipeline's GitBranchNamePattern, 1-255.
        Kind::BoundedString { chars: 255 },
        Derived("the checked-out branch"),
        "Branch whose pushes trigger the pipeline.",
    ),
    key(
        "source.connection_arn",
        Kind::String,
        NoDefault,
        "An existing CodeStar connection to reuse instead of creating one.",
    ),
    key(
        "source.paths",
        // CodePipeline's GitFilePathFilterCriteria: 1 to 8 patterns of 1 to 255 characters.
        Kind::BoundedStringList {
            items: 8,
            chars: 255,
        },
        Fixed("[]"),
        "Glob filters: only pushes touching these paths trigger the pipeline.",
    ),
    key(
        "ci.github",
        Kind::Bool,
        Fixed("false"),
        "Let GitHub Actions publish this site: `deploy` adds the IAM OIDC provider for `token.actions.githubusercontent.com` (reused when the account has one) and roles that only this repository's `source.branch` (publish) and its pull requests (previews) can assume. `cargo cloudfront-host ci github` writes the workflow.",
    ),
    key(
        "ci.github_previews",
        Kind::Bool,
        Fixed("true"),
        "With `ci.github`: also the pull-request role and the workflow's preview jobs. A pull request's workflow runs from its own branch, so anyone who can push a branch can use that role (see README, \"Deploy from GitHub Actions\"); `false` removes it.",
    ),
    key(
        "pipeline.compute_type",
        Kind::Enum(&[
            "BUILD_GENERAL1_SMALL",
            "BUILD_GENERAL1_MEDIUM",
            "BUILD_GENERAL1_LARGE",
            "BUILD_GENERAL1_XLARGE",
            "BUILD_GENERAL1_2XLARGE",
        ]),
        Fixed("\"BUILD_GENERAL1_MEDIUM\""),
        "CodeBuild compute size for the build.",
    ),
    key(
        "pipeline.log_retention_days",
        // CloudWatch Logs PutRetentionPolicy accepts only these values (API reference).
        Kind::IntegerOneOf(&[
            1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
            2922, 3288, 3653,
        ]),
        Fixed("14"),
        "Days CloudWatch keeps build logs (the values CloudWatch Logs accepts).",
    ),
    key(
        "precompress",
        Kind::StringList,
        Fixed("[\"wasm\"]"),
        "File extensions stored with brotli and gzip siblings (CloudFront compresses other types itself, but nothing above 10 MB).",
    ),
    key(
        "brotli_level",
        Kind::Integer { min: 0, max: 11 },
        Fixed("11"),
        "Brotli quality for precompressed siblings.",
    ),
    // 256 is what s5cmd runs; 1,024 is S3's 3,500 writes/s per prefix at a 300 ms round trip.
    key(
        "upload.concurrency",
        Kind::Integer { min: 1, max: 1024 },
        Fixed("256"),
        "Most S3 requests in flight during a publish: the window starts here, halves when S3 answers 503 SlowDown and grows back by one per window of successes. Bodies above 1 MiB also share a 64 MiB budget.",
    ),
    key(
        "upload.multipart_threshold_mib",
        Kind::Integer { min: 5, max: 5120 },
        Fixed("16"),
        "Files larger than this many MiB are uploaded in parts.",
    ),
    key(
        "retention.keep",
        Kind::Integer { min: 2, max: 10000 },
        Fixed("10"),
        "Versions kept after a publish (the live and the previous one are always kept).",
    ),
    key(
        "retention.grace",
        Kind::Duration,
        Fixed("\"24h\""),
        "Versions younger than this are kept whatever `retention.keep` says; shared files no version uses, and folders of publishes that never finished, are removed only once older than this. Keep it longer than your longest publish.",
    ),
    key(
        "publish.exclude",
        Kind::StringList,
        Fixed("[]"),
        "Gitignore-style patterns (`*.map`, `drafts/`) of build-output files never to publish. Dot-files and dot-directories are always left out, except `.well-known/`.",
    ),
    key(
        "price_class",
        Kind::Enum(&["PriceClass_100", "PriceClass_200", "PriceClass_All"]),
        Fixed("\"PriceClass_100\""),
        "CloudFront price class (which edge locations serve the site).",
    ),
    key(
        "headers.cross_origin_isolation",
        Kind::Bool,
        Fixed("false"),
        "Send COOP `same-origin`, COEP `require-corp` and CORP `same-origin` (needed for WASM threads / SharedArrayBuffer).",
    ),
    key(
        "headers.csp",
        Kind::String,
        Derived(
            "`default-src 'self'; script-src 'self' 'wasm-unsafe-eval'` plus what the stack needs",
        ),
        "Content-Security-Policy sent with every response (at most 1,783 characters).",
    ),
    key(
        "headers.custom",
        Kind::StringMap,
        Fixed("{}"),
        "Extra response headers, name = value (at most 6; not the security headers, `Vary` or COOP/COEP/CORP, which the tool sets).",
    ),
    key(
        "domain.name",
        Kind::Hostname,
        NoDefault,
        "Custom domain to serve the site from (a certificate is requested in us-east-1).",
    ),
    key(
        "domain.aliases",
        Kind::StringList,
        Fixed("[]"),
        "More names for the site, e.g. the apex or `www` twin of `domain.name`.",
    ),
    key(
        "domain.hosted_zone_id",
        Kind::String,
        Derived("found by walking up `domain.name` in the account's hosted zones"),
        "Route 53 hosted zone for the validation and alias records.",
    ),
    key(
        "domain.redirect_to",
        Kind::Hostname,
        NoDefault,
        "Name every other name redirects to with a 301 (usually `domain.name`).",
    ),
    key(
        "previews.domain",
        Kind::Hostname,
        NoDefault,
        "Domain for previews: `deploy` adds `*.<domain>` to the certificate, the distribution and Route 53, and `https://<name>.<domain>/` serves the preview `<name>`. Without it, `/_preview/<name>` on the site picks a preview by cookie.",
    ),
    key(
        "previews.expire_after",
        Kind::Duration,
        Fixed("\"7days\""),
        "A preview expires this long after its last publish; expired previews are removed by the next publish or `previews prune`.",
    ),
    key(
        "access.site",
        Kind::Enum(&["open", "password"]),
        Fixed("\"open\""),
        "`password`: the live site asks for HTTP Basic authentication (any user name, the password from `CLOUDFRONT_HOST_PASSWORD` at `deploy`), checked at the edge before the cache.",
    ),
    key(
        "access.previews",
        Kind::Enum(&["open", "password"]),
        Fixed("\"open\""),
        "`password`: previews ask for the password, as `access.site` does for the live site.",
    ),
];

/// The definition of `key`, if it is one.
pub fn find(key: &str) -> Option<&'static KeyDef> {
    KEYS.iter().find(|k| k.key == key)
}

/// True when `prefix` is a table that holds keys (e.g. `build`, `retention`).
pub fn is_table(prefix: &str) -> bool {
    KEYS.iter().any(|k| {
        k.key
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.'))
    })
}

/// The closest known key, for "did you mean" hints.
pub fn suggest(key: &str) -> Option<&'static str> {
    KEYS.iter()
        .map(|k| (strsim::jaro_winkler(key, k.key), k.key))
        .filter(|(score, _)| *score > 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// The README table of keys, generated so that docs and code cannot drift apart.
pub fn markdown_table() -> String {
    let mut out = String::from("| key | type | default | meaning |\n|---|---|---|---|\n");
    for k in KEYS {
        let default = match k.default {
            DefaultValue::Fixed(v) => format!("`{}`", v.replace('|', "\\|")),
            DefaultValue::Derived(how) => how.to_string(),
            DefaultValue::None => "—".to_string(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            k.key,
            k.kind.describe(),
            default,
            k.doc
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_env_names_distinct() {
        let mut seen = std::collections::HashSet::new();
        let mut envs = std::collections::HashSet::new();
        for k in KEYS {
            assert!(seen.insert(k.key), "duplicate key {}", k.key);
            assert!(envs.insert(k.env_var()), "env clash for {}", k.key);
        }
    }

    #[test]
    fn fixed_defaults_parse_as_their_kind() {
        for k in KEYS {
            if let DefaultValue::Fixed(text) = k.default {
                let item: toml_edit::Value = text.parse().expect(k.key);
                super::super::value::from_toml(k, &toml_edit::Item::Value(item))
                    .unwrap_or_else(|e| panic!("default of {} invalid: {e}", k.key));
            }
        }
    }

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(suggest("retention.kep"), Some("retention.keep"));
        assert_eq!(suggest("build.output-dir"), Some("build.output_dir"));
        assert_eq!(suggest("zzzz"), None);
    }
}
