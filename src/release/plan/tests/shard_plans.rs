//! The plan's decisions about shards: which stay in older folders, which move, and a pointer
//! value that always fits the store.

use super::*;

#[test]
fn a_changed_file_takes_its_shard_into_the_new_version_the_other_shards_stay() {
    let (near, far) = (
        page_in_shard_of("index.html", true),
        page_in_shard_of("index.html", false),
    );
    let v1 = site(vec![
        file("index.html", "one"),
        file(&near, "a"),
        file(&far, "b"),
    ]);
    let (_, live) = publish(&v1, "v1", None, &World::default());
    let world = World::default().holding(&live);
    let v2 = site(vec![
        file("index.html", "two"),
        file(&near, "a"),
        file(&far, "b"),
    ]);
    let (plan, manifest) = publish(&v2, "v2", Some(&live), &world);
    let want = |path: &str| match path {
        "index.html" => Action::Upload,
        p if p == near => Action::Copy,
        _ => Action::Unchanged,
    };
    for (path, action) in actions(&plan) {
        assert_eq!(action, want(path), "{path}");
    }
    assert_eq!(
        copies(&plan),
        [(format!("v1/{near}").as_str(), format!("v2/{near}").as_str())]
    );
    assert_eq!(puts(&plan), [("v2/index.html", None)]);
    assert_eq!(manifest.file(&near).unwrap().key, format!("v2/{near}"));
    assert_eq!(
        manifest.file(&far),
        live.file(&far),
        "the live entry, as is"
    );
    assert_eq!(plan.shared, [format!("v1/{far}")]);
    // The pointer names v1's folder for the far shard only.
    let pointer = shards::Pointer::parse(&shards::pointer_value(&manifest).unwrap()).unwrap();
    assert_eq!(pointer.version(), "v2");
    for (path, folder) in [
        ("index.html", "v2"),
        (near.as_str(), "v2"),
        (far.as_str(), "v1"),
    ] {
        assert_eq!(pointer.folder(path), folder, "{path}");
    }
}

#[test]
fn a_shard_that_gained_or_lost_a_file_is_written_again() {
    let a = page_in_shard_of("index.html", false);
    let v1 = site(vec![file("index.html", "1"), file(&a, "a")]);
    let (_, live) = publish(&v1, "v1", None, &World::default());
    let world = World::default().holding(&live);
    // `a` is gone; nothing in index.html's shard changed: it stays in v1's folder.
    let v2 = site(vec![file("index.html", "1")]);
    let (plan, manifest) = publish(&v2, "v2", Some(&live), &world);
    assert_eq!(actions(&plan), [("index.html", Action::Unchanged)]);
    assert_eq!(manifest.file("index.html").unwrap().key, "v1/index.html");
    // A new file in a's shard: the shard moves to v3, `a` copied along.
    let n = plan.shards;
    let new = (0..)
        .map(|i| format!("new{i}.html"))
        .find(|p| shards::shard_of(p, n) == shards::shard_of(&a, n))
        .unwrap();
    let v3 = site(vec![
        file("index.html", "1"),
        file(&a, "a"),
        file(&new, "n"),
    ]);
    let (plan, manifest) = publish(&v3, "v3", Some(&live), &world);
    assert_eq!(
        copies(&plan),
        [(format!("v1/{a}").as_str(), format!("v3/{a}").as_str())]
    );
    assert_eq!(puts(&plan), [(format!("v3/{new}").as_str(), None)]);
    assert_eq!(manifest.file("index.html").unwrap().key, "v1/index.html");
}

#[test]
fn a_pointer_value_fits_the_store_by_writing_the_least_used_folders_again() {
    // 40 versions, each the last to change one shard: a value naming 40 folders of 60
    // characters would be far over 1,024.
    let n = shards::count_for(0) as usize;
    let pages: Vec<String> = (0..n)
        .map(|s| {
            (0..)
                .map(|i| format!("p{i}.html"))
                .find(|p| shards::shard_of(p, n as u32) as usize == s)
                .unwrap()
        })
        .collect();
    let name = |i: usize| format!("{i:02}{}", "v".repeat(58));
    let mut content = vec![0usize; n];
    let build = |content: &[usize]| {
        site(
            pages
                .iter()
                .zip(content)
                .map(|(p, c)| file(p, &c.to_string()))
                .collect(),
        )
    };
    let (_, mut live) = publish(&build(&content), &name(0), None, &World::default());
    for i in 1..40 {
        content[i % n] += 1;
        let world = World::default().holding(&live);
        let (_, next) = publish(&build(&content), &name(i), Some(&live), &world);
        let value = shards::pointer_value(&next).unwrap();
        assert!(
            value.len() <= shards::VALUE_MAX,
            "{i}: {} characters",
            value.len()
        );
        let pointer = shards::Pointer::parse(&value).unwrap();
        for f in &next.files {
            assert_eq!(f.key, format!("{}/{}", pointer.folder(&f.path), f.path));
        }
        live = next;
    }
}
