//! The Kubernetes shape under `hhrf/deploy/k8s/` (`hhrf/deploy/README.md`): every manifest
//! validates against the Kubernetes schemas of the `kubernetes-validate` package (PyPI,
//! installed by `.ci/run`; `--strict`, so an unknown field fails), a copy with a misspelt
//! field or a wrong type does not, and the Deployment agrees with hhrf: its probes are the
//! operator endpoints, its arguments parse, and `terminationGracePeriodSeconds` covers the
//! drain delay plus the drain timeout plus `REAP_GRACE`.

use std::path::{Path, PathBuf};
use std::process::Command;

use hhrf::config::{self, Command as Parsed};
use hhrf::dispatch::{HEALTH_PATH, READY_PATH};
use hhrf::runner::REAP_GRACE;

fn k8s_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s")
}

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(k8s_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    files
}

/// `python3 -m kubernetes_validate --strict FILE`: whether it passed, and its output.
fn validate(file: &Path) -> (bool, String) {
    let output = Command::new("python3")
        .args(["-m", "kubernetes_validate", "--strict", "--no-warn"])
        .arg(file)
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !text.contains("No module named kubernetes_validate"),
        "kubernetes-validate is missing: python3 -m pip install kubernetes-validate (.ci/run does)"
    );
    (output.status.success(), text)
}

fn deployment() -> String {
    std::fs::read_to_string(k8s_dir().join("deployment.yaml")).unwrap()
}

#[test]
fn every_manifest_validates_against_the_kubernetes_schemas() {
    let files = manifests();
    let kinds: Vec<String> = files
        .iter()
        .map(|file| {
            let text = std::fs::read_to_string(file).unwrap();
            text.lines()
                .find_map(|line| line.strip_prefix("kind: "))
                .unwrap_or_else(|| panic!("{}: no kind", file.display()))
                .to_owned()
        })
        .collect();
    for kind in [
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    for file in &files {
        let (passed, output) = validate(file);
        assert!(passed, "{}: {output}", file.display());
        assert!(output.contains("passed"), "{}: {output}", file.display());
    }
}

#[test]
fn a_wrong_field_fails_the_validation() {
    let dir = tempfile::tempdir().unwrap();
    let text = deployment();
    for (name, from, to) in [
        (
            "typo.yaml",
            "terminationGracePeriodSeconds:",
            "terminationGracePeriodSecond:",
        ),
        ("type.yaml", "replicas: 3", "replicas: three"),
        ("probe.yaml", "readinessProbe:", "readynessProbe:"),
    ] {
        assert!(text.contains(from), "{from}");
        let broken = dir.path().join(name);
        std::fs::write(&broken, text.replacen(from, to, 1)).unwrap();
        let (passed, output) = validate(&broken);
        assert!(!passed, "{name} passed: {output}");
        assert!(output.contains("did not validate"), "{name}: {output}");
    }
}

/// The integer after `key: ` on the first line that has it.
fn integer(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|line| line.trim().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key}"))
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn the_deployment_agrees_with_hhrf() {
    let text = deployment();
    // The container's arguments are hhrf's own options.
    let args: Vec<String> = text
        .lines()
        .skip_while(|line| line.trim() != "args:")
        .skip(1)
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .take_while(|line| line.starts_with("- --"))
        .map(|line| line.trim_start_matches("- ").to_owned())
        .collect();
    assert!(args.len() >= 6, "{args:?}");
    let parsed = config::parse(args.iter().map(Into::into), |_| None).expect("hhrf's options");
    let Parsed::Serve(config) = parsed else {
        panic!("{parsed:?}")
    };
    assert!(
        config.admin_listen.is_some(),
        "probes on the admin listener"
    );
    assert!(!config.trusted_proxies.blocks.is_empty());
    let drain_timeout = config
        .drain_timeout
        .expect("an explicit --drain-timeout-ms");
    // The drain timeout covers the longest function timeout as hhrf's default does.
    assert!(
        drain_timeout >= config.default_timeout.duration() + REAP_GRACE,
        "{drain_timeout:?}"
    );
    let grace = integer(&text, "terminationGracePeriodSeconds");
    let needed = config.drain_delay + drain_timeout + REAP_GRACE;
    assert!(
        u128::from(grace) * 1000 >= needed.as_millis(),
        "terminationGracePeriodSeconds {grace} < {needed:?}"
    );
    assert!(
        grace <= needed.as_secs() + 30,
        "grace {grace} s is far too long"
    );
    // The probes are the operator endpoints.
    let probe_path = |probe: &str| {
        text.lines()
            .skip_while(|line| line.trim() != format!("{probe}:"))
            .find_map(|line| line.trim().strip_prefix("path: "))
            .unwrap_or_else(|| panic!("no {probe} path"))
            .to_owned()
    };
    assert_eq!(probe_path("readinessProbe"), READY_PATH);
    assert_eq!(probe_path("livenessProbe"), HEALTH_PATH);
    // The functions are a read-only volume.
    assert!(text.contains("mountPath: /srv/fezz/functions\n              readOnly: true"));
}
