//! cf-functions/viewer-request.js with its constants filled in for one project.

/// The function's source as shipped with this tool.
pub const SOURCE: &str = include_str!("../../cf-functions/viewer-request.js");

/// CloudFront refuses function code above 10 KB.
pub const MAX_BYTES: usize = 10 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FunctionError {
    #[error("`routing` must be \"spa\" or \"static\", not {0:?}")]
    Routing(String),
    #[error("`precompress` entries must be plain file extensions like \"wasm\", not {0:?}")]
    Extension(String),
    #[error("redirect host {0:?} must be a lower-case ASCII (punycode) domain name")]
    Host(String),
    #[error("the viewer-request function is {0} bytes, over CloudFront's 10 KB limit")]
    TooLarge(usize),
    #[error("`previews.domain` {0:?} must be a lower-case ASCII (punycode) domain name")]
    PreviewDomain(String),
}

/// Who may see the live site or the previews (`access.site`, `access.previews`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Access {
    #[default]
    Open,
    /// HTTP Basic authentication against the salted hash under the KVS key `password`.
    Password,
}

impl Access {
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "open" => Some(Access::Open),
            "password" => Some(Access::Password),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Access::Open => "open",
            Access::Password => "password",
        }
    }
}

/// Preview routing and access control, from the `previews.*` and `access.*` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EdgeOptions {
    /// `previews.domain`: `<slug>.<domain>` serves the preview `<slug>`.
    pub preview_domain: Option<String>,
    pub site: Access,
    pub previews: Access,
}

impl EdgeOptions {
    pub fn from_settings(settings: &crate::settings::Settings) -> Self {
        EdgeOptions {
            // Host headers arrive in lower-case ASCII: compare with the punycode form.
            preview_domain: settings.previews.domain.as_ref().map(|d| {
                let d = d.trim_end_matches('.');
                idna::domain_to_ascii(d).unwrap_or_else(|_| d.to_ascii_lowercase())
            }),
            site: Access::parse(&settings.access.site).unwrap_or_default(),
            previews: Access::parse(&settings.access.previews).unwrap_or_default(),
        }
    }

    /// True when some visitor needs the password.
    pub fn needs_password(&self) -> bool {
        self.site == Access::Password || self.previews == Access::Password
    }
}

/// Host names answered with a 301 to `to` (custom domains with `domain.redirect_to`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Lower-case ASCII (punycode) host names.
    pub from: Vec<String>,
    pub to: String,
}

/// The code to deploy for `routing` (`spa` or `static`) and the precompressed extensions.
pub fn render(routing: &str, precompressed: &[String]) -> Result<String, FunctionError> {
    render_with(routing, precompressed, None)
}

/// [`render`], plus the host redirect of a custom domain.
pub fn render_with(
    routing: &str,
    precompressed: &[String],
    redirect: Option<&Redirect>,
) -> Result<String, FunctionError> {
    render_full(routing, precompressed, redirect, &EdgeOptions::default())
}

/// [`render_with`], plus preview routing and access control.
pub fn render_full(
    routing: &str,
    precompressed: &[String],
    redirect: Option<&Redirect>,
    options: &EdgeOptions,
) -> Result<String, FunctionError> {
    if routing != "spa" && routing != "static" {
        return Err(FunctionError::Routing(routing.to_string()));
    }
    let host_ok = |h: &str| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    };
    let (to, from) = match redirect {
        Some(r) => {
            for h in r.from.iter().chain([&r.to]) {
                if !host_ok(h) {
                    return Err(FunctionError::Host(h.clone()));
                }
            }
            (r.to.clone(), r.from.join(","))
        }
        None => (String::new(), String::new()),
    };
    let preview_domain = options.preview_domain.clone().unwrap_or_default();
    if !preview_domain.is_empty() && !host_ok(&preview_domain) {
        return Err(FunctionError::PreviewDomain(preview_domain));
    }
    let mut extensions = Vec::with_capacity(precompressed.len());
    for ext in precompressed {
        let ext = ext.trim_start_matches('.').to_ascii_lowercase();
        if ext.is_empty() || !ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(FunctionError::Extension(ext));
        }
        extensions.push(ext);
    }
    let code = SOURCE
        .replace("'__ROUTING__'", &format!("'{routing}'"))
        .replace(
            "'__PRECOMPRESSED__'",
            &format!("'{}'", extensions.join(",")),
        )
        .replace("'__REDIRECT_TO__'", &format!("'{to}'"))
        .replace("'__REDIRECT_FROM__'", &format!("'{from}'"))
        .replace("'__PREVIEW_DOMAIN__'", &format!("'{preview_domain}'"))
        .replace("'__ACCESS_SITE__'", &format!("'{}'", options.site.as_str()))
        .replace(
            "'__ACCESS_PREVIEWS__'",
            &format!("'{}'", options.previews.as_str()),
        );
    if code.len() > MAX_BYTES {
        return Err(FunctionError::TooLarge(code.len()));
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_within_the_size_limit_and_rejects_bad_constants() {
        let code = render("static", &["wasm".into(), ".JS".into()]).unwrap();
        assert!(code.contains("const ROUTING = 'static';"));
        assert!(code.contains("'wasm,js'.split"));
        assert!(!code.contains("__"), "every placeholder filled");
        assert!(code.len() < MAX_BYTES);
        assert!(render("mpa", &[]).is_err());
        assert!(render("spa", &["wa'sm".into()]).is_err());
        let r = Redirect {
            from: vec!["example.com".into()],
            to: "www.example.com".into(),
        };
        let code = render_with("spa", &[], Some(&r)).unwrap();
        assert!(code.contains("const REDIRECT_TO = 'www.example.com';"));
        assert!(code.contains("'example.com'.split"));
        let bad = Redirect {
            from: vec!["ex'ample.com".into()],
            to: "www.example.com".into(),
        };
        assert!(render_with("spa", &[], Some(&bad)).is_err());
    }

    #[test]
    fn renders_preview_and_access_constants_within_the_limit() {
        let options = EdgeOptions {
            preview_domain: Some("preview.example.com".into()),
            site: Access::Open,
            previews: Access::Password,
        };
        let r = Redirect {
            from: vec!["example.com".into(), "www.example.org".into()],
            to: "www.example.com".into(),
        };
        let code = render_full("static", &["wasm".into()], Some(&r), &options).unwrap();
        assert!(code.contains("const PREVIEW_DOMAIN = 'preview.example.com';"));
        assert!(code.contains("const ACCESS_SITE = 'open';"));
        assert!(code.contains("const ACCESS_PREVIEWS = 'password';"));
        assert!(!code.contains("'__"), "every placeholder filled");
        assert!(code.len() < MAX_BYTES, "{} bytes", code.len());
        let bad = EdgeOptions {
            preview_domain: Some("pre'view.example.com".into()),
            ..EdgeOptions::default()
        };
        assert!(render_full("spa", &[], None, &bad).is_err());
    }
}
