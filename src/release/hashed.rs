//! The rule that decides whether a file name carries a content hash. Such files are stored
//! once under `_immutable/` and cached forever; the edge function routes them there by the same
//! rule (cf-functions/viewer-request.js implements it again in JavaScript, and a shared table
//! of names in the tests keeps the two equal).
//!
//! What counts as a hash:
//! - Trunk: `name-<hex>.ext` and `name-<hex>_bg.wasm`, where `<hex>` is a u64 printed without
//!   zero padding (12 to 16 digits: fewer than 12 happens once in 65,536 builds, and a shorter
//!   run of hex letters is too easily a word, like `logo-cafe.png`);
//! - wasm-bindgen: anything under `snippets/<crate>-<16 hex>/`;
//! - Dioxus: `name-dxh<hex>.ext`.

/// True when `path` (relative, `/`-separated) names a content-hashed file.
pub fn is_content_hashed(path: &str) -> bool {
    let components: Vec<&str> = path.split('/').collect();
    if let Some(i) = components.iter().position(|c| *c == "snippets")
        && components.len() > i + 2
        && hex_suffix(components[i + 1], 16, 16)
    {
        return true;
    }
    let Some(file) = components.last() else {
        return false;
    };
    // The stem is everything before the first dot: `app-1a2b.js`, `app-1a2b_bg.wasm`,
    // `app-1a2b.js.map` all have stem `app-1a2b` (or `app-1a2b_bg`).
    let stem = file.split('.').next().unwrap_or("");
    if file.len() == stem.len() {
        return false;
    }
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    if let Some((_, after)) = stem.rsplit_once("-dxh") {
        return !after.is_empty() && after.bytes().all(|b| b.is_ascii_hexdigit());
    }
    hex_suffix(stem, 12, 16)
}

/// `name-<hex>` with `min..=max` lower-case hex digits after the last hyphen.
fn hex_suffix(s: &str, min: usize, max: usize) -> bool {
    match s.rsplit_once('-') {
        Some((name, hex)) => {
            !name.is_empty()
                && (min..=max).contains(&hex.len())
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        }
        None => false,
    }
}

/// Names and whether they are content-hashed; shared with the edge function's tests.
pub const EXAMPLES: &[(&str, bool)] = &[
    ("index.html", false),
    ("app-9f3c2a1b4d5e6f70.js", true),
    ("app-9f3c2a1b4d5e6f70_bg.wasm", true),
    ("app-f3c2a1b4d5e6f70_bg.wasm", true),
    ("app-3c2a1b4d5e6f_bg.wasm", true),
    ("assets/style-0123456789abcdef.css", true),
    ("app-9f3c2a1b4d5e6f70.js.map", true),
    ("snippets/my-crate-0123456789abcdef/inline0.js", true),
    ("snippets/my-crate/inline0.js", false),
    ("assets/logo-dxh4f2a9c.png", true),
    ("main-dxhe3b0c44298fc1c14.js", true),
    ("logo-cafe.png", false),
    ("logo-deadbeef.png", false),
    ("app-9F3C2A1B4D5E6F70.js", false),
    ("app-9f3c2a1b4d5e6f7012.js", false),
    ("app-9f3c2a1b4d5e6f70", false),
    ("favicon.ico", false),
    ("docs/release-notes-2024.html", false),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples() {
        for (name, hashed) in EXAMPLES {
            assert_eq!(is_content_hashed(name), *hashed, "{name}");
        }
    }
}
