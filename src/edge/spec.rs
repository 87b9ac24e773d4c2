//! Settings → the viewer-request function's constants. `deploy` (the CloudFront function) and
//! `serve` (the local edge) both start here, so the code a visitor meets locally is the code
//! the distribution runs, redirect and previews included.

use super::function::{EdgeOptions, FunctionError, Redirect, render_full};
use crate::settings::Settings;

/// Everything the function is rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// `spa` or `static` (checked when rendering, where a bad value becomes an error).
    pub routing: String,
    /// The `precompress` extensions as the settings give them (normalised when rendering).
    pub precompress: Vec<String>,
    /// The custom domain's host redirect (`domain.redirect_to`).
    pub redirect: Option<Redirect>,
    /// Preview routing and access control.
    pub options: EdgeOptions,
}

impl FunctionSpec {
    /// The spec of a project. `redirect` comes from the normalised custom domain
    /// (`Domains::redirect`): taking it rather than `domain.*` keeps the name rules in the one
    /// place that checks them for the certificate and DNS too.
    pub fn from_settings(settings: &Settings, redirect: Option<&Redirect>) -> Self {
        FunctionSpec {
            routing: settings.routing_mode().to_string(),
            precompress: settings.precompress.clone(),
            redirect: redirect.cloned(),
            options: EdgeOptions::from_settings(settings),
        }
    }

    /// The function's code, as deployed (under CloudFront's 10 KB limit, or an error).
    pub fn render(&self) -> Result<String, FunctionError> {
        render_full(
            &self.routing,
            &self.precompress,
            self.redirect.as_ref(),
            &self.options,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::function::Access;
    use crate::settings::{Inputs, resolve};

    fn settings(metadata: &str) -> Settings {
        let inputs = Inputs {
            package: Some((
                "web/Cargo.toml".into(),
                format!("[package.metadata.cloudfront]\n{metadata}"),
            )),
            ..Default::default()
        };
        resolve(&inputs).expect("valid settings").settings()
    }

    /// What `converge_function` (the deployed function) rendered before this spec existed.
    fn as_deploy_rendered(settings: &Settings, redirect: Option<&Redirect>) -> String {
        let options = EdgeOptions::from_settings(settings);
        render_full(
            settings.routing_mode(),
            &settings.precompress,
            redirect,
            &options,
        )
        .unwrap()
    }

    #[test]
    fn renders_what_deploy_renders_for_the_same_settings() {
        let redirect = Redirect {
            from: vec!["example.com".into()],
            to: "www.example.com".into(),
        };
        for metadata in [
            "",
            "framework = \"zola\"\n",
            "routing = \"static\"\nprecompress = [\"wasm\", \".JS\"]\n",
            "previews.domain = \"Preview.Bücher.example.\"\naccess.previews = \"password\"\n",
            "access.site = \"password\"\n",
        ] {
            let s = settings(metadata);
            for r in [None, Some(&redirect)] {
                let spec = FunctionSpec::from_settings(&s, r);
                assert_eq!(
                    spec.render().unwrap(),
                    as_deploy_rendered(&s, r),
                    "{metadata:?} {r:?}"
                );
            }
        }
    }

    #[test]
    fn carries_the_settings_as_the_function_sees_them() {
        let s = settings(
            "framework = \"mdbook\"\nprecompress = [\"wasm\"]\npreviews.domain = \"Preview.Example.com.\"\naccess.site = \"password\"\n",
        );
        let spec = FunctionSpec::from_settings(&s, None);
        assert_eq!(spec.routing, "static");
        assert_eq!(spec.precompress, ["wasm"]);
        assert_eq!(spec.redirect, None);
        assert_eq!(
            spec.options.preview_domain.as_deref(),
            Some("preview.example.com")
        );
        assert_eq!(spec.options.site, Access::Password);
        assert_eq!(spec.options.previews, Access::Open);
        let code = spec.render().unwrap();
        assert!(code.contains("const ROUTING = 'static';"));
        assert!(code.contains("const ACCESS_SITE = 'password';"));
    }

    #[test]
    fn a_bad_routing_is_an_error_when_rendered() {
        let mut spec = FunctionSpec::from_settings(&settings(""), None);
        spec.routing = "mpa".into();
        assert!(matches!(spec.render(), Err(FunctionError::Routing(_))));
    }
}
