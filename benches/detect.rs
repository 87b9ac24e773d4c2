//! How long detection takes in a generated 50-member workspace (one Trunk + Yew frontend, 49
//! libraries, a 400-package Cargo.lock). Prints figures; asserts nothing about time.
//!
//! cargo bench --bench detect

use std::path::Path;
use std::time::{Duration, Instant};

use cargo_cloudfront_host::detect::{self, Input};
use cargo_cloudfront_host::workspace::Workspace;

const MEMBERS: usize = 50;
const RUNS: usize = 20;

fn write(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create dir");
    }
    std::fs::write(path, text).expect("write file");
}

fn generate(root: &Path) {
    let members: Vec<String> = (0..MEMBERS).map(|i| format!("\"crates/m{i}\"")).collect();
    write(
        &root.join("Cargo.toml"),
        &format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    );
    let mut lock = String::from("version = 4\n");
    for i in 0..400 {
        lock.push_str(&format!(
            "\n[[package]]\nname = \"dep{i}\"\nversion = \"1.{i}.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        ));
    }
    lock.push_str("\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.100\"\n");
    write(&root.join("Cargo.lock"), &lock);
    for i in 0..MEMBERS {
        let dir = root.join(format!("crates/m{i}"));
        let frontend = i == 17;
        let deps = if frontend {
            "yew = { version = \"0.21\", features = [\"csr\"] }\n"
        } else {
            "serde = \"1\"\n"
        };
        write(
            &dir.join("Cargo.toml"),
            &format!(
                "[package]\nname = \"m{i}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{deps}"
            ),
        );
        write(&dir.join("src/lib.rs"), "");
        if frontend {
            write(
                &dir.join("index.html"),
                "<!doctype html><html><head><link data-trunk rel=\"rust\" /></head></html>\n",
            );
        }
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("ws");
    generate(&root);
    let manifest = root.join("Cargo.toml");

    let mut metadata_times = Vec::new();
    let mut detect_times = Vec::new();
    let mut result = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let ws = Workspace::discover(Some(&manifest), None)
            .expect("cargo metadata")
            .expect("a workspace");
        metadata_times.push(start.elapsed());
        let start = Instant::now();
        let found = detect::detect(&Input {
            root: &ws.root,
            workspace: Some(&ws),
            framework: None,
        });
        detect_times.push(start.elapsed());
        result = Some(found.map(|d| (d.framework, d.package, d.output_dir)));
    }
    println!("detected: {result:?}");
    let detect = median(detect_times);
    let metadata = median(metadata_times);
    println!(
        "{MEMBERS}-member workspace, median of {RUNS}: detection {:.2} ms; with `cargo metadata --no-deps` {:.1} ms",
        detect.as_secs_f64() * 1e3,
        (detect + metadata).as_secs_f64() * 1e3
    );
}
