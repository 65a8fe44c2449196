//! House rules a compiler does not check: every Rust module opens with a `//!` paragraph
//! saying what it owns, and no token-looking secret is passed to a tracing macro.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["protocol/src", "server/src", "tests/src"] {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} files", files.len());
    files
}

#[test]
fn every_module_has_a_doc_paragraph() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            !text.trim_start().starts_with("//!")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "modules without a //! doc: {missing:#?}"
    );
}

#[test]
fn tokens_are_never_given_to_tracing() {
    let offenders: Vec<String> = sources()
        .into_iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            text.lines()
                .enumerate()
                .filter(|(_, l)| {
                    let l = l.trim();
                    (l.contains("tracing::") || l.starts_with("info!") || l.starts_with("warn!"))
                        && (l.contains("token =") || l.contains("%token") || l.contains("?token"))
                })
                .map(|(i, _)| format!("{}:{}", f.display(), i + 1))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "tokens passed to tracing: {offenders:?}"
    );
}
