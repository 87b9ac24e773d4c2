//! Custom domains: the ACM certificate in us-east-1 (found or
//! requested with DNS validation), its validation records, and the Route 53 alias records.
//!
//! A name that already points somewhere else is reported, never overwritten without
//! `--force`. Records and certificates are removed by `delete` only when they are provably
//! this project's: alias records that point at this distribution, certificates with its tags.
//!
//! [`certificate`] holds ACM, [`dns`] Route 53; the names themselves are normalised in
//! [`crate::settings::domain`].

pub mod certificate;
pub mod dns;

use super::{Action, Change, InfraError};

pub use crate::settings::domain::{Domains, MAX_CERTIFICATE_NAMES, domains, with_previews};
pub use certificate::{converge_certificate, covers, destroy_certificate};
pub use dns::{CLOUDFRONT_ZONE, Pointing, converge_dns, destroy_dns, dns_status};

impl From<crate::settings::domain::DomainError> for InfraError {
    fn from(e: crate::settings::domain::DomainError) -> Self {
        InfraError::InvalidDomain {
            key: e.key,
            message: e.message,
        }
    }
}

/// What a domain step reports when `domain.name` is not set.
fn no_custom_domain(resource: &'static str) -> Change {
    Change::new(
        resource,
        "(no custom domain)",
        Action::None,
        "`domain.name` is not set",
    )
}
