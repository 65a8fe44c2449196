//! `podium report MEETING`: a meeting's report (JSON or CSV) read from the data
//! directory or from the cluster's journal, printed to standard output.

use anyhow::Result;
use std::path::PathBuf;

/// Prints the report of `meeting` in `format`.
pub async fn run(
    data: PathBuf,
    cluster: Option<String>,
    meeting: String,
    format: String,
) -> Result<()> {
    let text = match cluster {
        Some(url) => cluster_report(&url, &meeting, &format).await?,
        None => podium_server::report::export(&data, &meeting, &format).await?,
    };
    print!("{text}");
    Ok(())
}

/// `podium report --cluster`: the report of a meeting read from the cluster's journal.
async fn cluster_report(url: &str, meeting: &str, format: &str) -> Result<String> {
    if format != "json" && format != "csv" {
        anyhow::bail!("unknown format {format:?}: use json or csv");
    }
    let engine = podium_server::cluster::offline::load_engine(url, meeting).await?;
    let report = podium_server::report::Report::build(&engine, podium_server::clock::now_ms());
    Ok(if format == "json" {
        report.to_json()? + "\n"
    } else {
        report.to_csv()?
    })
}
