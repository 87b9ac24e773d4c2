//! Leptos apps rendered on a server (SSR, hydrate, islands; usually built with cargo-leptos).
//! They need a server, so detection refuses them with directions to the client-side setup.

use super::{DetectError, Member, Scan};

/// Refuses a member that is a server-rendered Leptos app; `Ok(())` for anything else.
pub fn check(scan: &Scan, member: &Member) -> Result<(), DetectError> {
    let mut found = Vec::new();
    if member.metadata("leptos").is_some() {
        found.push("[package.metadata.leptos] (a cargo-leptos project)".to_string());
    }
    let uses_leptos = member.dependency("leptos").is_some();
    if uses_leptos {
        for (feature, why) in member.features_of("leptos") {
            if matches!(feature.as_str(), "ssr" | "hydrate" | "islands") {
                found.push(format!("leptos feature `{feature}` ({why})"));
            }
        }
        if workspace_leptos(scan, member.name()) {
            found.push(format!(
                "[[workspace.metadata.leptos]] in the workspace Cargo.toml names `{}`",
                member.name()
            ));
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    Err(DetectError::CannotHostStatically {
        package: member.name().to_string(),
        what: format!(
            "package `{}` is a server-rendered Leptos app (SSR/hydrate/islands)",
            member.name()
        ),
        found,
        advice: "To host it here, make it a client-side (CSR) app: depend on leptos with the `csr` feature only, add an index.html with <link data-trunk rel=\"rust\" /> and build with Trunk (`trunk build --release`, output dist/), then run `cargo cloudfront-host init` again. An SSR app needs a server (e.g. cargo-leptos's binary in a container or on Lambda)."
            .to_string(),
    })
}

/// Whether the root manifest's `[[workspace.metadata.leptos]]` entries name this package.
fn workspace_leptos(scan: &Scan, package: &str) -> bool {
    let Some(text) = scan.root_manifest.as_deref() else {
        return false;
    };
    if !text.contains("leptos") {
        return false;
    }
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        return false;
    };
    let Some(entries) = doc
        .get("workspace")
        .and_then(|w| w.get("metadata"))
        .and_then(|m| m.get("leptos"))
        .and_then(|l| l.as_array_of_tables())
    else {
        return false;
    };
    entries.iter().any(|entry| {
        ["name", "bin-package", "lib-package"]
            .iter()
            .any(|k| entry.get(k).and_then(|v| v.as_str()) == Some(package))
    })
}
