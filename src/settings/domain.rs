//! Custom domain names as AWS wants them: lower-case ASCII, punycode for IDNs, no trailing
//! dot, no wildcard (except the previews' own `*.<previews.domain>`), at most as many as one
//! ACM certificate covers. Pure: deploy, plan, serve and show all see the same names.

use crate::edge::function::Redirect;
use crate::settings::DomainSettings;

/// Names one ACM certificate may cover by default.
pub const MAX_CERTIFICATE_NAMES: usize = 10;

/// A domain setting that AWS could not take, with the key it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct DomainError {
    pub key: String,
    pub message: String,
}

/// The site's names, normalised: lower-case ASCII, punycode for IDNs, no trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domains {
    /// `domain.name` first, then `domain.aliases`.
    pub names: Vec<String>,
    pub redirect: Option<Redirect>,
    pub hosted_zone_id: Option<String>,
}

impl Domains {
    pub fn main(&self) -> &str {
        &self.names[0]
    }
}

fn invalid(key: &str, message: String) -> DomainError {
    DomainError {
        key: key.to_string(),
        message,
    }
}

/// One name as AWS wants it.
pub fn normalize(key: &str, raw: &str) -> Result<String, DomainError> {
    let trimmed = raw.trim().trim_end_matches('.');
    if trimmed.contains('*') {
        return Err(invalid(
            key,
            format!(
                "`{raw}` is a wildcard; CloudFront serves this site under concrete names, so list each one (e.g. `www.example.com`)"
            ),
        ));
    }
    let ascii = idna::domain_to_ascii(trimmed)
        .map_err(|_| invalid(key, format!("`{raw}` is not a valid domain name")))?;
    crate::settings::value::check_hostname(&ascii)
        .map_err(|p| invalid(key, format!("`{raw}`: {p}")))?;
    Ok(ascii)
}

pub fn domains(settings: &DomainSettings) -> Result<Domains, DomainError> {
    let mut names = vec![normalize("domain.name", &settings.name)?];
    for alias in &settings.aliases {
        let n = normalize("domain.aliases", alias)?;
        if !names.contains(&n) {
            names.push(n);
        }
    }
    // ACM's default quota is 10 names per certificate (adjustable; CloudFront itself takes 100
    // aliases): past it RequestCertificate fails only after the bucket and distribution exist.
    if names.len() > MAX_CERTIFICATE_NAMES {
        return Err(invalid(
            "domain.aliases",
            format!(
                "{} names with `domain.name`; an ACM certificate covers at most {MAX_CERTIFICATE_NAMES} by default (ACM quota \"Domain names per ACM certificate\")",
                names.len()
            ),
        ));
    }
    let redirect = match &settings.redirect_to {
        None => None,
        Some(to) => {
            let to = normalize("domain.redirect_to", to)?;
            if !names.contains(&to) {
                return Err(invalid(
                    "domain.redirect_to",
                    format!("`{to}` is neither `domain.name` nor one of `domain.aliases`"),
                ));
            }
            Some(Redirect {
                from: names.iter().filter(|n| **n != to).cloned().collect(),
                to,
            })
        }
    };
    Ok(Domains {
        names,
        redirect,
        hosted_zone_id: settings.hosted_zone_id.clone(),
    })
}

/// With `previews.domain`: `*.<previews.domain>` joins the names (certificate, aliases, DNS),
/// after the redirect is settled, so preview hosts are never redirected. Without
/// `domain.name` the wildcard is the only name.
pub fn with_previews(
    domains: Option<Domains>,
    preview_domain: Option<&str>,
) -> Result<Option<Domains>, DomainError> {
    let Some(raw) = preview_domain else {
        return Ok(domains);
    };
    let wildcard = format!("*.{}", normalize("previews.domain", raw)?);
    let mut domains = domains.unwrap_or(Domains {
        names: Vec::new(),
        redirect: None,
        hosted_zone_id: None,
    });
    if !domains.names.contains(&wildcard) {
        domains.names.push(wildcard);
    }
    Ok(Some(domains))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(name: &str, aliases: &[&str], redirect: Option<&str>) -> DomainSettings {
        DomainSettings {
            name: name.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            hosted_zone_id: None,
            redirect_to: redirect.map(str::to_string),
        }
    }

    #[test]
    fn names_become_punycode_and_long_tlds_are_fine() {
        let d = domains(&settings(
            "Bücher.Example.photography.",
            &["www.bücher.example.photography"],
            None,
        ))
        .unwrap();
        assert_eq!(
            d.names,
            vec![
                "xn--bcher-kva.example.photography".to_string(),
                "www.xn--bcher-kva.example.photography".to_string(),
            ]
        );
    }

    #[test]
    fn wildcards_and_foreign_redirect_targets_are_refused_with_the_key() {
        let e = domains(&settings("*.example.com", &[], None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("domain.name") && e.contains("wildcard"), "{e}");
        let e = domains(&settings("example.com", &[], Some("other.com")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("domain.redirect_to"), "{e}");
        let e = domains(&settings("example.com", &["bad_name..com"], None))
            .unwrap_err()
            .to_string();
        assert!(e.contains("domain.aliases"), "{e}");
    }

    #[test]
    fn more_names_than_one_certificate_covers_are_refused_with_the_key() {
        let aliases: Vec<String> = (0..10).map(|i| format!("a{i}.example.com")).collect();
        let refs: Vec<&str> = aliases.iter().map(String::as_str).collect();
        let e = domains(&settings("example.com", &refs, None))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("domain.aliases") && e.contains("at most 10"),
            "{e}"
        );
        assert!(domains(&settings("example.com", &refs[..9], None)).is_ok());
    }

    #[test]
    fn redirect_sends_every_other_name_to_the_target() {
        let d = domains(&settings(
            "example.com",
            &["www.example.com"],
            Some("www.example.com"),
        ))
        .unwrap();
        let r = d.redirect.unwrap();
        assert_eq!(
            (r.from, r.to.as_str()),
            (vec!["example.com".to_string()], "www.example.com")
        );
    }

    #[test]
    fn trailing_dots_case_and_spaces_do_not_make_another_name() {
        assert_eq!(
            normalize("domain.name", " WWW.Example.COM. ").unwrap(),
            "www.example.com"
        );
        assert_eq!(
            normalize("domain.name", "www.example.com").unwrap(),
            "www.example.com"
        );
        let d = domains(&settings(
            "example.com",
            &["Example.com.", "www.example.com"],
            None,
        ))
        .unwrap();
        assert_eq!(d.names, vec!["example.com", "www.example.com"]);
        assert_eq!(d.main(), "example.com");
    }

    #[test]
    fn previews_add_one_wildcard_after_the_redirect_is_settled() {
        let d = domains(&settings(
            "example.com",
            &["www.example.com"],
            Some("www.example.com"),
        ))
        .unwrap();
        let with = with_previews(Some(d), Some("Preview.Example.com."))
            .unwrap()
            .unwrap();
        assert_eq!(
            with.names,
            vec!["example.com", "www.example.com", "*.preview.example.com"]
        );
        assert_eq!(with.redirect.unwrap().from, vec!["example.com".to_string()]);
        let only = with_previews(None, Some("pr.example.com"))
            .unwrap()
            .unwrap();
        assert_eq!(only.names, vec!["*.pr.example.com"]);
        assert_eq!(with_previews(None, None).unwrap(), None);
        let e = with_previews(None, Some("*.x.com")).unwrap_err();
        assert_eq!(e.key, "previews.domain");
    }
}
