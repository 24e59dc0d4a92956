//! `keybroker add-resource`: permissions and path rules.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn creates_a_private_store() {
    let dir = tmp_dir("add");
    let resources = dir.join("store");
    let key = add_key(&resources, &dir, "repo/key/model");
    assert_eq!(mode(&resources), 0o700);
    assert_eq!(mode(&resources.join("repo")), 0o700);
    assert_eq!(mode(&resources.join("repo/key")), 0o700);
    assert_eq!(mode(&resources.join("repo/key/model")), 0o600);
    assert_eq!(
        std::fs::read(resources.join("repo/key/model")).expect("read"),
        key
    );
    // No temporary file is left behind.
    assert_eq!(
        std::fs::read_dir(resources.join("repo/key"))
            .expect("dir")
            .count(),
        1
    );
}

#[test]
fn refuses_bad_paths_existing_resources_and_open_directories() {
    let dir = tmp_dir("add-bad");
    let resources = dir.join("store");
    let file = dir.join("k");
    std::fs::write(&file, [1u8; 32]).expect("write");
    let add = |path: &str, extra: &[&str]| {
        let mut args = vec![
            "add-resource",
            "--resources",
            resources.to_str().expect("utf-8"),
            "--path",
            path,
            "--file",
            file.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    for bad in [
        "a/b", "a/b/c/d", "../b/c", "a/../c", "a/.b/c", "a/b c/d", "/a/b/c", "a//c", "",
    ] {
        let out = add(bad, &[]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("resource path"),
            "{bad:?}"
        );
    }
    assert!(!resources.exists(), "nothing created for bad paths");
    assert!(add("a/b/c", &[]).status.success());
    let out = add("a/b/c", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--replace"));
    assert!(add("a/b/c", &["--replace"]).status.success());
    assert_eq!(mode(&resources.join("a/b/c")), 0o600);
    std::fs::set_permissions(&resources, std::fs::Permissions::from_mode(0o750)).expect("chmod");
    let out = add("a/b/d", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("chmod 700"));
}
