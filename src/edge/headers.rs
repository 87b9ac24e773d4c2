//! The response headers every visitor gets: one definition, used by the distribution's
//! response-headers policy (`deploy`) and by the local edge (`serve`), so both send the same.

use crate::settings::Settings;

/// HSTS for two years, subdomains included (the preload list's minimum is one year).
pub const HSTS_MAX_AGE: i32 = 63_072_000;
pub const REFERRER_POLICY: &str = "strict-origin-when-cross-origin";
/// Sent with every response: caches between the edge and the browser must key on encoding.
pub const VARY: [&str; 2] = ["vary", "Accept-Encoding"];
/// Response headers this tool sets itself; `headers.custom` may not name them.
pub const MANAGED: [&str; 9] = [
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "content-security-policy",
    "cross-origin-opener-policy",
    "cross-origin-embedder-policy",
    "cross-origin-resource-policy",
    "vary",
];
/// CloudFront takes at most 10 custom headers in a response-headers policy; this tool uses up
/// to 4 of them (Vary, and COOP/COEP/CORP with `headers.cross_origin_isolation`).
pub const MAX_CUSTOM_HEADERS: usize = 6;
/// The longest Content-Security-Policy a response-headers policy accepts (CloudFront quotas:
/// "Length of the content security policy value in a response headers policy").
pub const MAX_CSP_CHARS: usize = 1783;

/// The security headers of a site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityHeaders {
    pub content_security_policy: String,
    /// Cross-origin isolation (COOP `same-origin`, COEP `require-corp`, CORP `same-origin`):
    /// what `SharedArrayBuffer` and threaded WASM need.
    pub cross_origin_isolation: bool,
    /// From the `headers.custom` setting, in name order.
    pub custom: Vec<(String, String)>,
}

impl SecurityHeaders {
    pub fn from_settings(settings: &Settings) -> Self {
        SecurityHeaders {
            content_security_policy: settings
                .headers
                .csp
                .clone()
                .unwrap_or_else(|| default_csp(settings.framework.as_deref())),
            cross_origin_isolation: settings.headers.cross_origin_isolation,
            custom: settings
                .headers
                .custom
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Every header as the distribution sends it, lower-case names, in a fixed order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        let mut out = vec![
            (
                "strict-transport-security".to_string(),
                format!("max-age={HSTS_MAX_AGE}; includeSubDomains"),
            ),
            ("x-content-type-options".into(), "nosniff".into()),
            ("x-frame-options".into(), "DENY".into()),
            ("referrer-policy".into(), REFERRER_POLICY.into()),
            (
                "content-security-policy".into(),
                self.content_security_policy.clone(),
            ),
        ];
        if self.cross_origin_isolation {
            out.push(("cross-origin-opener-policy".into(), "same-origin".into()));
            out.push(("cross-origin-embedder-policy".into(), "require-corp".into()));
            out.push(("cross-origin-resource-policy".into(), "same-origin".into()));
        }
        // The function picks a `.br` or `.gz` sibling by Accept-Encoding (and CloudFront
        // compresses by it), so one URL has several bodies; S3 cannot store a Vary header.
        out.push((VARY[0].to_string(), VARY[1].to_string()));
        for (name, value) in &self.custom {
            out.push((name.to_ascii_lowercase(), value.clone()));
        }
        out
    }
}

/// A CSP that lets the detected stack run and little else.
///
/// `'wasm-unsafe-eval'` allows compiling WebAssembly without allowing `eval`. Trunk, Dioxus
/// and mdBook put an inline bootstrap script into every page (and its text changes with each
/// build), so their pages need `'unsafe-inline'` for scripts; a hand-written static site does
/// not. Inline styles are common to every generator here (Leptos/Dioxus `style=` attributes,
/// mdBook's theme), so styles allow them. Override the whole policy with `headers.csp`.
pub fn default_csp(framework: Option<&str>) -> String {
    let inline_scripts = !matches!(framework, Some("static" | "custom" | "zola"));
    let script = if inline_scripts {
        "script-src 'self' 'wasm-unsafe-eval' 'unsafe-inline'"
    } else {
        "script-src 'self' 'wasm-unsafe-eval'"
    };
    [
        "default-src 'self'",
        script,
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
    .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_may_compile_everywhere_inline_scripts_only_where_generators_need_them() {
        for fw in [Some("trunk"), Some("dioxus"), Some("mdbook"), None] {
            let csp = default_csp(fw);
            assert!(csp.contains("'wasm-unsafe-eval'"), "{fw:?}: {csp}");
            assert!(csp.contains("'unsafe-inline'"), "{fw:?}: {csp}");
        }
        let plain = default_csp(Some("static"));
        let script = plain
            .split("; ")
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert_eq!(script, "script-src 'self' 'wasm-unsafe-eval'");
        assert!(!plain.contains("unsafe-eval'") || plain.contains("wasm-unsafe-eval"));
    }

    #[test]
    fn isolation_and_custom_headers_are_added_after_the_fixed_ones() {
        let h = SecurityHeaders {
            content_security_policy: "default-src 'self'".into(),
            cross_origin_isolation: true,
            custom: vec![("X-Robots-Tag".into(), "noindex".into())],
        };
        let pairs = h.pairs();
        let names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names[0], "strict-transport-security");
        assert!(names.contains(&"cross-origin-embedder-policy"));
        assert_eq!(names.last(), Some(&"x-robots-tag"));
        let off = SecurityHeaders {
            cross_origin_isolation: false,
            ..h
        };
        assert!(
            !off.pairs()
                .iter()
                .any(|(n, _)| n.starts_with("cross-origin"))
        );
    }
}
