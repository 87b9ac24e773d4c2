//! The README documents every setting, generated from the one definition in
//! src/settings/keys.rs. Run with UPDATE_README=1 to rewrite the table after changing keys.

use cargo_cloudfront_host::settings::keys;

#[test]
fn readme_settings_table_matches_the_key_registry() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let start = readme
        .find("<!-- settings-table:start")
        .expect("start marker");
    let start = start + readme[start..].find("-->\n").expect("end of start marker") + 4;
    let end = readme
        .find("<!-- settings-table:end -->")
        .expect("end marker");
    let expected = keys::markdown_table();
    if readme[start..end] != expected {
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{}{}", &readme[..start], expected, &readme[end..]);
            std::fs::write(&path, updated).expect("write README.md");
            return;
        }
        panic!(
            "README.md's settings table is stale; run UPDATE_README=1 cargo test --test it readme"
        );
    }
    for def in keys::KEYS {
        assert!(
            readme.contains(&format!("| `{}` |", def.key)),
            "{} undocumented",
            def.key
        );
    }
}
