//! Listings of more than one page run as ranges side by side (`StartAfter` at every thousandth
//! key the manifest names), and still see every object, the unexpected ones included.

use crate::support;

const REGION: &str = "eu-west-2";
/// One more than a page (1,000 keys): the version folder lists as two ranges.
const FILES: usize = 1_010;

fn file(i: usize) -> String {
    format!("page-{i:04}.html")
}

#[tokio::test]
async fn a_folder_of_more_than_a_page_is_listed_as_ranges_and_checked_whole() {
    let ready = support::publish_ready("ranges", REGION, "").await;
    let site = ready.dir.join("dist");
    for i in 0..FILES {
        support::write(&site, &file(i), format!("<title>{i}</title>"));
    }
    let key = support::unique("AKIDRANGES");
    let publish = || {
        let out = support::cli_with_key(&key)
            .current_dir(&ready.dir)
            .args(["publish", "--format", "json", "--version", "v1"])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice::<serde_json::Value>(&out).expect("a JSON report")
    };
    let report = publish();
    assert_eq!(report["uploaded"], FILES, "{report}");

    // Two objects go missing: one in each range of the sorted folder.
    let bucket = ready.names.bucket();
    let s3 = ready.aws.s3();
    let lost = [file(3), file(FILES - 2)];
    for name in &lost {
        s3.delete_object()
            .bucket(&bucket)
            .key(format!("v1/{name}"))
            .send()
            .await
            .expect("delete");
    }
    let since = support::last_request_seq(&key);
    let report = publish();
    assert_eq!(report["already_published"], true, "{report}");
    assert_eq!(report["repaired"], 2, "{report}");
    for name in &lost {
        s3.head_object()
            .bucket(&bucket)
            .key(format!("v1/{name}"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("v1/{name} is back: {e:?}"));
    }

    // The check listed the folder as two ranges: from its start, and after its 1,000th key.
    let starts: Vec<String> = support::requests(&key, since)
        .iter()
        .filter(|r| r["service"] == "s3" && r["method"] == "GET")
        .filter_map(|r| r["query"].as_str().map(String::from))
        .filter(|q| q.contains("list-type=2") && q.contains("prefix=v1%2F"))
        .collect();
    let thousandth = format!("start-after=v1%2F{}", file(999));
    assert!(
        starts.iter().any(|q| q.contains(&thousandth)),
        "no range started after the 1,000th key: {starts:?}"
    );
    assert!(
        starts.iter().any(|q| !q.contains("start-after")),
        "no range started at the beginning: {starts:?}"
    );
}
