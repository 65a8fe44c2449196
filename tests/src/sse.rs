//! A Server-Sent Events client over a plain `TcpStream`, for black-box tests of
//! `GET /api/meetings/{id}/events`: sends one request, reads the chunked body as it
//! arrives and parses it into events (comments and `retry:` lines included, so tests can
//! see keep-alives and "up to date" notes).

use crate::client::WAIT;
use anyhow::{anyhow, bail, Context, Result};
use std::net::SocketAddr;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// One thing the stream said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An event: its `event:` name, `id:` and `data:`.
    Event {
        /// `event:` (default `message`).
        event: String,
        /// `id:`, if any.
        id: Option<String>,
        /// `data:` lines joined with newlines.
        data: String,
    },
    /// A `: comment` line.
    Comment(String),
    /// A `retry:` line.
    Retry(u64),
}

/// An open event stream.
pub struct Sse {
    /// The socket, buffered.
    reader: BufReader<TcpStream>,
    /// Body bytes de-chunked but not yet parsed into lines.
    body: Vec<u8>,
    /// Fields of the event being read.
    event: Option<String>,
    id: Option<String>,
    data: Vec<String>,
    /// Items parsed but not yet returned.
    ready: std::collections::VecDeque<Item>,
    /// The response status.
    pub status: u16,
    /// Response headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// Whether the body has ended.
    ended: bool,
}

impl Sse {
    /// Opens `GET path` with extra headers; returns once the response head is in.
    pub async fn open(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Result<Sse> {
        let stream = TcpStream::connect(addr).await.context("sse connect")?;
        Sse::open_on(stream, addr, path, headers).await
    }

    /// Like [`Sse::open`] over a socket made by the caller (e.g. with a small buffer).
    pub async fn open_on(
        mut stream: TcpStream,
        addr: SocketAddr,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Result<Sse> {
        let mut head =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await?;
        let mut reader = BufReader::new(stream);
        let mut status_line = String::new();
        tokio::time::timeout(WAIT, reader.read_line(&mut status_line))
            .await
            .map_err(|_| anyhow!("no response head within {WAIT:?}"))??;
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("bad status line {status_line:?}"))?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        Ok(Sse {
            reader,
            body: Vec::new(),
            event: None,
            id: None,
            data: Vec::new(),
            ready: Default::default(),
            status,
            headers,
            ended: false,
        })
    }

    /// A response header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The whole body of a non-stream answer (an error), as text.
    pub async fn error_body(mut self) -> Result<String> {
        let mut out = Vec::new();
        tokio::time::timeout(WAIT, self.reader.read_to_end(&mut out))
            .await
            .map_err(|_| anyhow!("error body not complete within {WAIT:?}"))??;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Reads one chunk of the chunked body; `false` at its end.
    async fn read_chunk(&mut self) -> Result<bool> {
        let mut size_line = String::new();
        if self.reader.read_line(&mut size_line).await? == 0 {
            return Ok(false);
        }
        let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or(""), 16)
            .with_context(|| format!("bad chunk size {size_line:?}"))?;
        if size == 0 {
            return Ok(false);
        }
        let mut chunk = vec![0; size + 2];
        self.reader.read_exact(&mut chunk).await?;
        chunk.truncate(size);
        self.body.extend_from_slice(&chunk);
        Ok(true)
    }

    fn parse_lines(&mut self) -> Result<()> {
        while let Some(nl) = self.body.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.body.drain(..=nl).collect();
            let line = std::str::from_utf8(&line[..line.len() - 1])?.to_string();
            if line.is_empty() {
                if !self.data.is_empty() || self.event.is_some() {
                    self.ready.push_back(Item::Event {
                        event: self.event.take().unwrap_or_else(|| "message".into()),
                        id: self.id.take(),
                        data: std::mem::take(&mut self.data).join("\n"),
                    });
                }
                continue;
            }
            if let Some(c) = line.strip_prefix(':') {
                self.ready.push_back(Item::Comment(c.trim().to_string()));
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match field {
                "event" => self.event = Some(value),
                "id" => self.id = Some(value),
                "data" => self.data.push(value),
                "retry" => self.ready.push_back(Item::Retry(value.parse()?)),
                _ => {}
            }
        }
        Ok(())
    }

    /// The next item, within [`WAIT`]; `None` when the stream has ended.
    pub async fn next_item(&mut self) -> Result<Option<Item>> {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(item) = self.ready.pop_front() {
                    return Ok(Some(item));
                }
                if self.ended {
                    return Ok(None);
                }
                if !self.read_chunk().await? {
                    self.ended = true;
                }
                self.parse_lines()?;
            }
        })
        .await
        .map_err(|_| anyhow!("nothing on the event stream within {WAIT:?}"))?
    }

    /// Whether the server closes the connection (EOF or reset) within `wait`, reading and
    /// discarding whatever still comes. `false` if the socket is still open after it.
    pub async fn closed_within(&mut self, wait: std::time::Duration) -> bool {
        let mut buf = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.reader.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => continue,
            }
        }
    }

    /// The next event (skipping comments and `retry:`): (event, id, data as JSON).
    pub async fn next_event(&mut self) -> Result<(String, Option<u64>, serde_json::Value)> {
        loop {
            match self.next_item().await? {
                Some(Item::Event { event, id, data }) => {
                    let json = serde_json::from_str(&data)
                        .with_context(|| format!("event data is not JSON: {data:?}"))?;
                    return Ok((event, id.and_then(|i| i.parse().ok()), json));
                }
                Some(_) => continue,
                None => bail!("the event stream ended"),
            }
        }
    }
}
