//! Detection of every fixture in `fixtures/`: stack, package, output directory, build command,
//! pinned versions, and the refusals and ambiguities a user can meet.

use crate::support;

use std::path::Path;

use cargo_cloudfront_host::detect::{self, DetectError, Detection, Input};
use cargo_cloudfront_host::workspace::Workspace;

fn detect_in(dir: &Path, package: Option<&str>) -> Result<Detection, DetectError> {
    let ws = if dir.join("Cargo.toml").is_file() {
        Workspace::discover(Some(&dir.join("Cargo.toml")), package).expect("cargo metadata")
    } else {
        None
    };
    let root = ws.as_ref().map_or(dir.to_path_buf(), |w| w.root.clone());
    detect::detect(&Input {
        root: &root,
        workspace: ws.as_ref(),
        framework: None,
    })
}

struct Expected {
    fixture: &'static str,
    framework: &'static str,
    package: Option<&'static str>,
    output_dir: &'static str,
    build_command: Option<&'static str>,
    tools: &'static [(&'static str, &'static str)],
}

const EXPECTED: &[Expected] = &[
    Expected {
        fixture: "trunk-leptos-csr",
        framework: "leptos-csr",
        package: Some("leptos-csr-app"),
        output_dir: "dist",
        build_command: Some("trunk build --release"),
        tools: &[
            ("trunk", "0.21.14"),
            ("wasm-bindgen", "0.2.100"),
            ("rust", "stable"),
        ],
    },
    Expected {
        fixture: "trunk-yew",
        framework: "yew",
        package: Some("yew-app"),
        output_dir: "dist",
        build_command: Some("trunk build --release"),
        tools: &[("wasm-bindgen", "0.2.95"), ("rust", "1.85.0")],
    },
    Expected {
        fixture: "trunk-sycamore",
        framework: "sycamore",
        package: Some("sycamore-app"),
        output_dir: "www",
        build_command: Some("trunk build --release"),
        tools: &[
            ("trunk", "0.20.3"),
            ("wasm-bindgen", "0.2.99"),
            ("rust", "1.86.0"),
        ],
    },
    Expected {
        fixture: "trunk-custom-dist",
        framework: "trunk",
        package: Some("plain-trunk"),
        output_dir: "public/site",
        build_command: Some("trunk build --release"),
        tools: &[("wasm-bindgen", "0.2.100")],
    },
    Expected {
        fixture: "workspace-frontend-member",
        framework: "yew",
        package: Some("web"),
        output_dir: "target/web-dist",
        build_command: Some("cd crates/web && trunk build --release"),
        tools: &[("wasm-bindgen", "0.2.100"), ("rust", "1.84.1")],
    },
    Expected {
        fixture: "dioxus-05",
        framework: "dioxus",
        package: Some("dx-five"),
        output_dir: "dist",
        build_command: Some("dx build --release"),
        tools: &[("dioxus-cli", "0.5.6"), ("wasm-bindgen", "0.2.92")],
    },
    Expected {
        fixture: "dioxus-06",
        framework: "dioxus",
        package: Some("dx-six"),
        output_dir: "target/dx/dx-six/release/web/public",
        build_command: Some("dx bundle --platform web --release"),
        tools: &[("dioxus-cli", "0.6.3"), ("wasm-bindgen", "0.2.100")],
    },
    Expected {
        fixture: "mdbook",
        framework: "mdbook",
        package: None,
        output_dir: "out/book",
        build_command: Some("mdbook build"),
        tools: &[("mdbook", "0.4.52")],
    },
    Expected {
        fixture: "zola",
        framework: "zola",
        package: None,
        output_dir: "public",
        build_command: Some("zola build"),
        tools: &[("zola", "0.20.0")],
    },
    Expected {
        fixture: "static-plain",
        framework: "static",
        package: None,
        output_dir: "public",
        build_command: None,
        tools: &[],
    },
];

#[test]
fn every_fixture_is_detected_with_reasons() {
    for e in EXPECTED {
        let (_tmp, dir) = support::fixture(e.fixture);
        let d = detect_in(&dir, None).unwrap_or_else(|err| panic!("{}: {err}", e.fixture));
        assert_eq!(d.framework, e.framework, "{}", e.fixture);
        assert_eq!(d.package.as_deref(), e.package, "{}", e.fixture);
        assert_eq!(d.output_dir, e.output_dir, "{}", e.fixture);
        assert_eq!(d.build_command.as_deref(), e.build_command, "{}", e.fixture);
        for (tool, version) in e.tools {
            assert_eq!(
                d.tool_versions.get(*tool).map(String::as_str),
                Some(*version),
                "{}: {tool} in {:?}",
                e.fixture,
                d.tool_versions
            );
        }
        assert!(!d.reasons.is_empty(), "{}", e.fixture);
        assert!(
            d.reasons.iter().any(|r| r.contains(&d.output_dir)),
            "{}: no reason explains the output dir: {:?}",
            e.fixture,
            d.reasons
        );
        let expected_routing = if matches!(e.framework, "mdbook" | "zola" | "static") {
            "static"
        } else {
            "spa"
        };
        assert_eq!(d.routing, expected_routing, "{}", e.fixture);
    }
}

#[test]
fn server_rendered_apps_are_refused_with_what_was_found() {
    for (fixture, found, advice) in [
        ("leptos-ssr", "[package.metadata.leptos]", "`csr` feature"),
        ("dioxus-fullstack", "`fullstack`", "`web` feature alone"),
    ] {
        let (_tmp, dir) = support::fixture(fixture);
        match detect_in(&dir, None) {
            Err(e @ DetectError::CannotHostStatically { .. }) => {
                let text = e.to_string();
                assert!(text.contains("needs a server"), "{text}");
                assert!(text.contains(found), "{fixture}: {text}");
                assert!(text.contains(advice), "{fixture}: {text}");
            }
            other => panic!("{fixture}: expected a refusal, got {other:?}"),
        }
    }
}

#[test]
fn sites_without_any_cargo_toml() {
    for (fixture, framework) in [
        ("mdbook", "mdbook"),
        ("zola", "zola"),
        ("static-plain", "static"),
    ] {
        let (_tmp, dir) = support::fixture(fixture);
        std::fs::remove_file(dir.join("Cargo.toml")).unwrap();
        let d = detect_in(&dir, None).unwrap();
        assert_eq!(d.framework, framework);
        assert_eq!(d.package, None);
    }
}

/// The workspace fixture with a second Trunk member, `admin`.
fn two_frontends() -> (tempfile::TempDir, std::path::PathBuf) {
    let (tmp, dir) = support::fixture("workspace-frontend-member");
    support::copy_dir_to(&dir.join("crates/web"), &dir.join("crates/admin"));
    let manifest = dir.join("crates/admin/Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("name = \"web\"", "name = \"admin\""),
    )
    .unwrap();
    let root = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&root).unwrap();
    std::fs::write(
        &root,
        text.replace("\"crates/api\"]", "\"crates/api\", \"crates/admin\"]"),
    )
    .unwrap();
    (tmp, dir)
}

#[test]
fn several_frontends_are_listed_and_p_picks_one() {
    let (_tmp, dir) = two_frontends();
    match detect_in(&dir, None) {
        Err(DetectError::Several { candidates, .. }) => {
            assert_eq!(candidates.len(), 2, "{candidates:?}");
            assert!(
                candidates.iter().any(|c| c.starts_with("web ")),
                "{candidates:?}"
            );
            assert!(
                candidates.iter().any(|c| c.starts_with("admin ")),
                "{candidates:?}"
            );
        }
        other => panic!("expected several candidates, got {other:?}"),
    }
    let d = detect_in(&dir, Some("admin")).unwrap();
    assert_eq!(d.package.as_deref(), Some("admin"));
    assert_eq!(
        d.build_command.as_deref(),
        Some("cd crates/admin && trunk build --release")
    );
}

#[test]
fn dioxus_toml_is_found_above_the_crate_and_its_settings_used() {
    let (_tmp, dir) = support::fixture("workspace-frontend-member");
    // Turn the web member into a Dioxus 0.6 app with the Dioxus.toml at the workspace root.
    std::fs::remove_file(dir.join("crates/web/index.html")).unwrap();
    std::fs::remove_file(dir.join("crates/web/Trunk.toml")).unwrap();
    std::fs::write(
        dir.join("crates/web/Cargo.toml"),
        "[package]\nname = \"web\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\ndioxus = { version = \"0.6\", features = [\"web\"] }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("Dioxus.toml"),
        "[application]\nname = \"web\"\n\n[web.app]\nbase_path = \"docs\"\n",
    )
    .unwrap();
    let lock = std::fs::read_to_string(dir.join("Cargo.lock")).unwrap();
    std::fs::write(
        dir.join("Cargo.lock"),
        format!("{lock}\n[[package]]\nname = \"dioxus\"\nversion = \"0.6.1\"\n"),
    )
    .unwrap();
    let d = detect_in(&dir, None).unwrap();
    assert_eq!(d.framework, "dioxus");
    assert_eq!(d.base_path.as_deref(), Some("docs"));
    assert_eq!(d.output_dir, "target/dx/web/release/web/public");
    assert_eq!(
        d.build_command.as_deref(),
        Some("cd crates/web && dx bundle --platform web --release")
    );
    assert_eq!(d.tool_versions["dioxus-cli"], "0.6.1");
    assert!(
        d.reasons.iter().any(|r| r.contains("Dioxus.toml")),
        "{:?}",
        d.reasons
    );
}

#[test]
fn nothing_found_says_what_was_looked_for() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("Cargo.toml"), "[workspace]\n").unwrap();
    let err = detect_in(tmp.path(), None).unwrap_err();
    assert!(matches!(err, DetectError::NothingFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("book.toml") && text.contains("--framework custom"),
        "{text}"
    );
}

#[test]
fn the_layer_feeds_settings_below_metadata() {
    let (_tmp, dir) = support::fixture("trunk-yew");
    let d = detect_in(&dir, None).unwrap();
    let layer = detect::layer(&d);
    let keys: Vec<&str> = layer.iter().map(|(k, _, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["framework", "routing", "build.output_dir", "build.command"]
    );
    assert!(layer.iter().all(|(_, _, why)| !why.is_empty()));
}

#[test]
fn workspace_leptos_metadata_marks_members_as_server_rendered() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(
        root.join("Cargo.toml"),
        "[workspace]\nmembers = [\"front\"]\n\n[[workspace.metadata.leptos]]\nname = \"app\"\nbin-package = \"server\"\nlib-package = \"front\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("front/src")).unwrap();
    std::fs::write(root.join("front/src/lib.rs"), "").unwrap();
    std::fs::write(
        root.join("front/Cargo.toml"),
        "[package]\nname = \"front\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nleptos = \"0.7\"\n",
    )
    .unwrap();
    // Looks like a Trunk app too: the refusal must still win.
    std::fs::write(
        root.join("front/index.html"),
        "<link data-trunk rel=\"rust\">",
    )
    .unwrap();
    match detect_in(root, None) {
        Err(DetectError::CannotHostStatically { found, .. }) => {
            assert!(
                found
                    .iter()
                    .any(|f| f.contains("[[workspace.metadata.leptos]]")),
                "{found:?}"
            );
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}
