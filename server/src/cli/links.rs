//! `podium links`: the role links of every live meeting (from the data directory or the
//! cluster), or `--rotate ROLE[:PERSON]` to replace one; and the table of links `serve`
//! prints at start.

use super::reach::{base_url_of, reach, remote_meeting, Remote, BASE_URL_FILE};
use anyhow::{Context, Result};
use podium_protocol::Role;
use std::path::PathBuf;

/// Prints links as a table, grouped by meeting.
pub fn print_link_table(links: &[podium_server::hub::Link]) {
    let mut meeting = "";
    for l in links {
        if l.meeting != meeting {
            meeting = &l.meeting;
            println!("\nMeeting {:?} ({})", l.title, l.meeting);
        }
        let who = match (l.role, &l.speaker) {
            (podium_protocol::Role::Participant, _) => "participants join here".to_string(),
            (podium_protocol::Role::Observer, _) => "observers join here".to_string(),
            (podium_protocol::Role::Interpreter, _) => match l.language {
                Some(lang) => format!("{} booth ({lang})", lang.english_name()),
                None => "booth without a language".to_string(),
            },
            (_, Some(name)) => name.clone(),
            _ => String::new(),
        };
        println!("  {:<12} {:<28} {}", l.role.as_str(), who, l.url);
    }
    println!();
}

/// `podium links`: every live meeting's links, read without a server.
pub async fn print_links(
    data: PathBuf,
    cluster: Option<String>,
    json: bool,
    base_url: Option<String>,
) -> Result<()> {
    if let Some(url) = cluster {
        let base = match base_url {
            Some(b) => b,
            None => podium_server::cluster::offline::base_url(&url)?
                .unwrap_or_else(|| "http://127.0.0.1:8080".into()),
        };
        let links = podium_server::cluster::offline::links_cluster(&url, base.trim()).await?;
        if json {
            println!("{}", serde_json::to_string_pretty(&links)?);
        } else {
            print_link_table(&links);
        }
        return Ok(());
    }
    if !podium_server::store::sqlite::SqliteStore::path(&data).exists() {
        anyhow::bail!(
            "{} holds no Podium database: run `podium serve --data {}` first",
            data.display(),
            data.display()
        );
    }
    let base = base_url
        .or_else(|| std::fs::read_to_string(data.join(BASE_URL_FILE)).ok())
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let links = podium_server::offline::links_offline(&data, base.trim()).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&links)?);
    } else {
        print_link_table(&links);
    }
    Ok(())
}

/// `ROLE[:PERSON]`.
fn parse_link(which: &str) -> Result<(Role, Option<String>)> {
    let (role, person) = match which.split_once(':') {
        Some((r, p)) => (r, Some(p.to_string())),
        None => (which, None),
    };
    let role = Role::parse(role).with_context(|| {
        format!("{role:?} is not a role: host, moderator, speaker, participant, observer, interpreter or projector")
    })?;
    if matches!(role, Role::Moderator | Role::Speaker | Role::Interpreter) != person.is_some() {
        anyhow::bail!(
            "{which:?}: moderator and speaker links name their person (speaker:carola-gunnarsson), \
             interpreter links their booth's language (interpreter:ar); the other roles name nothing"
        );
    }
    Ok((role, person))
}

/// `podium links --rotate`: replaces one link (through the running server if there is
/// one) and prints the new one.
pub async fn rotate(
    data: PathBuf,
    json: bool,
    base_url: Option<String>,
    which: &str,
    remote: Remote,
) -> Result<()> {
    let (role, person) = parse_link(which)?;
    let link: podium_server::hub::Link = match reach(&data, &remote)? {
        Ok(_lock) => {
            let base = base_url_of(&data, base_url);
            podium_server::offline::rotate_offline(
                &data,
                remote.meeting.as_deref(),
                role,
                person,
                &base,
            )
            .await?
        }
        Err((url, token)) => {
            let meeting = remote_meeting(&url, &token, remote.meeting).await?;
            let body = serde_json::json!({ "role": role, "person": person }).to_string();
            let path = format!("/api/meetings/{meeting}/links/rotate");
            let a =
                podium_server::remote::call(&url, "POST", &path, &token, "application/json", &body)
                    .await?;
            anyhow::ensure!(
                a.status == 200,
                "the server answered {}: {}",
                a.status,
                a.body
            );
            serde_json::from_str(&a.body).context("the server's answer")?
        }
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&link)?);
    } else {
        println!(
            "New {} link{}: {}",
            link.role.as_str(),
            link.speaker
                .as_ref()
                .map(|n| format!(" for {n}"))
                .unwrap_or_default(),
            link.url
        );
        println!("The old link no longer works.");
    }
    Ok(())
}
