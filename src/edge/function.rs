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
        .replace("'__REDIRECT_FROM__'", &format!("'{from}'"));
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
}
