//! `podium agenda check`: the bundled agenda passes with its seven segments 16:00–18:00
//! CET; broken files give every error with its line and column, and exit status 1.

use std::process::Command;

fn check(file: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_podium"))
        .args(["agenda", "check", file])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run podium");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bundled_agenda_has_seven_segments_from_16_to_18_cet() {
    let (code, out, err) = check("agendas/gfmd-mayors-2021-01-22.toml");
    assert_eq!(code, 0, "stderr: {err}");
    for line in [
        " 1. 16:00–16:05",
        " 2. 16:05–16:10",
        " 3. 16:10–16:30",
        " 4. 16:30–16:50",
        " 5. 16:50–17:10",
        " 6. 17:10–17:55",
        " 7. 17:55–18:00",
        "7 segments, 16:00–18:00 CET, total 2h",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(out.contains("Cécile Riallant"));
}

#[test]
fn broken_agenda_gives_every_error_located_and_exit_1() {
    let (code, out, err) = check("server/tests/data/broken-agenda.toml");
    assert_eq!(code, 1);
    assert!(out.is_empty(), "no summary for a broken file: {out}");
    let expect = [
        (
            "4:1: meeting.time_zone: unknown time zone \"Europe/Pariss\"",
            "IANA",
        ),
        (
            "12:1: segment[0].duration: duration must be more than zero",
            "20m",
        ),
        (
            "15:1: segment[1].id: segment id \"intro\" is used twice",
            "own id",
        ),
        ("17:1: segment[1].title: segment has no title", "title"),
        (
            "20:5: segment[1].speakers[0].name: a person without a name",
            "name",
        ),
        (
            "21:26: segment[1].speakers[1].language: Ahmed Skim speaks Arabic (ar)",
            "meeting.languages",
        ),
    ];
    for (line, hint) in expect {
        let found = err.lines().find(|l| l.contains(line));
        let found = found.unwrap_or_else(|| panic!("missing {line:?} in:\n{err}"));
        assert!(found.contains("hint:") && found.contains(hint), "{found}");
        assert!(
            found.starts_with("server/tests/data/broken-agenda.toml:"),
            "{found}"
        );
    }
    assert!(err.contains("6 problem(s)"), "{err}");
}

#[test]
fn unknown_kind_is_located_with_the_list_of_kinds() {
    let (code, _, err) = check("server/tests/data/bad-kind.toml");
    assert_eq!(code, 1);
    assert!(err.contains("bad-kind.toml:9:8:"), "{err}");
    assert!(err.contains("keynote"), "{err}");
    assert!(
        err.contains("intro, welcome, round, open_floor, closing, break"),
        "{err}"
    );
}

#[test]
fn missing_file_is_an_error() {
    let (code, _, err) = check("no/such/file.toml");
    assert_eq!(code, 1);
    assert!(err.contains("cannot read"), "{err}");
}
