//! The websocket wire format on the server's side, without IO: client frames in
//! ([`Decoder`]: headers parsed by tungstenite's `FrameHeader`, payloads unmasked,
//! fragments joined, sizes and the rules of RFC 6455 §5 enforced) and the few frames the
//! server builds per connection out ([`close`], [`pong`], [`PING`]).
//!
//! A decoder holds bytes only while a frame or a fragmented message is incomplete; an idle
//! connection's decoder owns no buffer.

use bytes::Bytes;
use std::io::Cursor;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};
use tungstenite::protocol::frame::FrameHeader;

/// A message from the client, whole.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A text message (valid UTF-8).
    Text(String),
    /// A binary message (not part of the protocol; its bytes are not kept).
    Binary,
    /// A ping, with its payload (echoed in the pong).
    Ping(Vec<u8>),
    /// A pong (an answer to the server's keep-alive ping).
    Pong,
    /// The client closes, with its close code if it gave one.
    Close(Option<u16>),
}

/// Why the client's byte stream cannot be read further.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A frame or message over the size limit: close 1009.
    #[error("message too big")]
    TooBig,
    /// A broken frame sequence (unmasked, reserved bits or opcode, bad fragments): close 1002.
    #[error("websocket protocol error: {0}")]
    Protocol(&'static str),
    /// A text message that is not UTF-8: close 1007.
    #[error("text message is not UTF-8")]
    NotUtf8,
}

impl DecodeError {
    /// The close code that answers it.
    pub fn close_code(self) -> u16 {
        match self {
            DecodeError::TooBig => 1009,
            DecodeError::Protocol(_) => 1002,
            DecodeError::NotUtf8 => 1007,
        }
    }
}

/// Turns the client's bytes into messages.
#[derive(Debug)]
pub struct Decoder {
    /// Largest frame payload and message accepted.
    max: usize,
    /// The bytes of an incomplete frame (empty, unallocated, between frames).
    partial: Vec<u8>,
    /// A fragmented message being assembled: whether it is text, and its bytes so far.
    message: Option<(bool, Vec<u8>)>,
}

impl Decoder {
    /// A decoder that accepts frames and messages of `max` bytes at most.
    pub fn new(max: usize) -> Decoder {
        Decoder {
            max,
            partial: Vec::new(),
            message: None,
        }
    }

    /// Decodes what `data` completes; incomplete bytes are kept for the next call.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<Incoming>) -> Result<(), DecodeError> {
        if self.partial.is_empty() {
            let used = self.frames(data, out)?;
            if used < data.len() {
                self.partial.extend_from_slice(&data[used..]);
            }
        } else {
            let mut buf = std::mem::take(&mut self.partial);
            buf.extend_from_slice(data);
            let used = self.frames(&buf, out)?;
            buf.drain(..used);
            if !buf.is_empty() {
                self.partial = buf;
            }
        }
        Ok(())
    }

    /// Decodes whole frames from the front of `data`; returns how many bytes they took.
    fn frames(&mut self, data: &[u8], out: &mut Vec<Incoming>) -> Result<usize, DecodeError> {
        let mut at = 0;
        loop {
            let mut cursor = Cursor::new(&data[at..]);
            let (header, len) = match FrameHeader::parse(&mut cursor) {
                Ok(Some(h)) => h,
                Ok(None) => return Ok(at),
                Err(_) => return Err(DecodeError::Protocol("reserved opcode")),
            };
            if len > self.max as u64 {
                return Err(DecodeError::TooBig);
            }
            let start = at + cursor.position() as usize;
            let len = len as usize;
            if data.len() - start < len {
                // Not all here yet. (A header is at most 14 bytes and `len` is bounded, so
                // what is kept for later is bounded too.)
                return Ok(at);
            }
            let mut payload = data[start..start + len].to_vec();
            at = start + len;
            self.frame(header, &mut payload, out)?;
        }
    }

    fn frame(
        &mut self,
        header: FrameHeader,
        payload: &mut Vec<u8>,
        out: &mut Vec<Incoming>,
    ) -> Result<(), DecodeError> {
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Err(DecodeError::Protocol("reserved bits set"));
        }
        let Some(mask) = header.mask else {
            return Err(DecodeError::Protocol("client frames must be masked"));
        };
        unmask(payload, mask);
        match header.opcode {
            OpCode::Control(c) => {
                if !header.is_final || payload.len() > 125 {
                    return Err(DecodeError::Protocol("control frames are short and whole"));
                }
                match c {
                    Control::Ping => out.push(Incoming::Ping(std::mem::take(payload))),
                    Control::Pong => out.push(Incoming::Pong),
                    Control::Close => {
                        let code = match payload.len() {
                            0 => None,
                            1 => return Err(DecodeError::Protocol("close payload of one byte")),
                            _ => Some(u16::from_be_bytes([payload[0], payload[1]])),
                        };
                        out.push(Incoming::Close(code));
                    }
                    Control::Reserved(_) => return Err(DecodeError::Protocol("reserved opcode")),
                }
            }
            OpCode::Data(Data::Continue) => {
                let Some((_, bytes)) = self.message.as_mut() else {
                    return Err(DecodeError::Protocol("continuation without a message"));
                };
                if bytes.len() + payload.len() > self.max {
                    return Err(DecodeError::TooBig);
                }
                bytes.extend_from_slice(payload);
                if header.is_final {
                    let (text, bytes) = self.message.take().expect("checked above");
                    out.push(whole(text, bytes)?);
                }
            }
            OpCode::Data(d @ (Data::Text | Data::Binary)) => {
                if self.message.is_some() {
                    return Err(DecodeError::Protocol(
                        "a new message inside a fragmented one",
                    ));
                }
                let text = d == Data::Text;
                let bytes = std::mem::take(payload);
                if header.is_final {
                    out.push(whole(text, bytes)?);
                } else {
                    self.message = Some((text, bytes));
                }
            }
            OpCode::Data(Data::Reserved(_)) => {
                return Err(DecodeError::Protocol("reserved opcode"))
            }
        }
        Ok(())
    }
}

fn whole(text: bool, bytes: Vec<u8>) -> Result<Incoming, DecodeError> {
    if !text {
        return Ok(Incoming::Binary);
    }
    String::from_utf8(bytes)
        .map(Incoming::Text)
        .map_err(|_| DecodeError::NotUtf8)
}

/// Unmasks (or masks) a payload in place (RFC 6455 §5.3).
pub fn unmask(buf: &mut [u8], mask: [u8; 4]) {
    let word = u32::from_ne_bytes(mask);
    let mut chunks = buf.chunks_exact_mut(4);
    for c in &mut chunks {
        let v = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) ^ word;
        c.copy_from_slice(&v.to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i];
    }
}

/// A ping with no payload: the keep-alive, the same two bytes for every connection.
pub static PING: Bytes = Bytes::from_static(&[0x89, 0x00]);

/// A pong echoing a ping's payload.
pub fn pong(payload: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(payload.len() + 2);
    crate::hub::views::frame_header(0xA, payload.len(), &mut out);
    out.extend_from_slice(payload);
    Bytes::from(out)
}

/// A close frame with a code and a short reason (at most 123 bytes).
pub fn close(code: u16, reason: &str) -> Bytes {
    let mut reason = reason;
    while reason.len() > 123 {
        let mut cut = 123;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        reason = &reason[..cut];
    }
    let mut out = Vec::with_capacity(reason.len() + 4);
    crate::hub::views::frame_header(0x8, reason.len() + 2, &mut out);
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(reason.as_bytes());
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked, as a browser sends it.
    fn client_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        let mut out = vec![(if fin { 0x80 } else { 0 }) | opcode];
        let len = payload.len();
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len <= 65535 {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        out.extend_from_slice(&mask);
        let mut p = payload.to_vec();
        unmask(&mut p, mask);
        out.extend_from_slice(&p);
        out
    }

    fn decode_all(d: &mut Decoder, bytes: &[u8]) -> Result<Vec<Incoming>, DecodeError> {
        let mut out = Vec::new();
        d.feed(bytes, &mut out)?;
        Ok(out)
    }

    #[test]
    fn whole_frames_byte_by_byte_and_at_once() {
        let text = "héllo, ünïcode";
        let mut bytes = client_frame(0x1, true, text.as_bytes());
        bytes.extend(client_frame(0x9, true, b"abc"));
        bytes.extend(client_frame(0xA, true, b""));
        bytes.extend(client_frame(0x8, true, &1000u16.to_be_bytes()));
        let want = vec![
            Incoming::Text(text.into()),
            Incoming::Ping(b"abc".to_vec()),
            Incoming::Pong,
            Incoming::Close(Some(1000)),
        ];
        assert_eq!(decode_all(&mut Decoder::new(1024), &bytes).unwrap(), want);
        let mut d = Decoder::new(1024);
        let mut got = Vec::new();
        for b in &bytes {
            d.feed(std::slice::from_ref(b), &mut got).unwrap();
        }
        assert_eq!(got, want);
        assert!(d.partial.capacity() == 0 || d.partial.is_empty());
    }

    #[test]
    fn an_idle_decoder_holds_no_buffer() {
        let mut d = Decoder::new(1024);
        let bytes = client_frame(0x1, true, b"{\"type\":\"ping\"}");
        decode_all(&mut d, &bytes[..5]).unwrap();
        assert!(!d.partial.is_empty());
        decode_all(&mut d, &bytes[5..]).unwrap();
        assert_eq!(d.partial.capacity(), 0, "released once the frame is whole");
    }

    #[test]
    fn fragments_are_joined_and_controls_may_come_between() {
        let mut bytes = client_frame(0x1, false, b"{\"a\":");
        bytes.extend(client_frame(0x9, true, b"p"));
        bytes.extend(client_frame(0x0, false, b"1"));
        bytes.extend(client_frame(0x0, true, b"}"));
        assert_eq!(
            decode_all(&mut Decoder::new(64), &bytes).unwrap(),
            vec![
                Incoming::Ping(b"p".to_vec()),
                Incoming::Text("{\"a\":1}".into())
            ]
        );
    }

    #[test]
    fn limits_and_protocol_errors() {
        let big = vec![b'x'; 100];
        assert_eq!(
            decode_all(&mut Decoder::new(64), &client_frame(0x1, true, &big)),
            Err(DecodeError::TooBig)
        );
        // Announced too big: refused from the header alone, before the payload arrives.
        let header = &client_frame(0x1, true, &vec![0u8; 70_000])[..14];
        assert_eq!(
            decode_all(&mut Decoder::new(16 * 1024), header),
            Err(DecodeError::TooBig)
        );
        let mut frags = client_frame(0x1, false, &big[..40]);
        frags.extend(client_frame(0x0, true, &big[..40]));
        assert_eq!(
            decode_all(&mut Decoder::new(64), &frags),
            Err(DecodeError::TooBig)
        );
        let mut unmasked = client_frame(0x1, true, b"hi");
        unmasked[1] &= 0x7f;
        unmasked.drain(2..6);
        assert!(matches!(
            decode_all(&mut Decoder::new(64), &unmasked),
            Err(DecodeError::Protocol(_))
        ));
        let mut rsv = client_frame(0x1, true, b"hi");
        rsv[0] |= 0x40;
        assert!(matches!(
            decode_all(&mut Decoder::new(64), &rsv),
            Err(DecodeError::Protocol(_))
        ));
        assert!(matches!(
            decode_all(&mut Decoder::new(64), &client_frame(0x3, true, b"")),
            Err(DecodeError::Protocol(_))
        ));
        assert!(matches!(
            decode_all(&mut Decoder::new(64), &client_frame(0x0, true, b"x")),
            Err(DecodeError::Protocol(_))
        ));
        assert!(matches!(
            decode_all(&mut Decoder::new(64), &client_frame(0x9, false, b"x")),
            Err(DecodeError::Protocol(_))
        ));
        assert_eq!(
            decode_all(
                &mut Decoder::new(64),
                &client_frame(0x1, true, &[0xff, 0xfe])
            ),
            Err(DecodeError::NotUtf8)
        );
        assert_eq!(
            decode_all(&mut Decoder::new(64), &client_frame(0x2, true, &[0xff])).unwrap(),
            vec![Incoming::Binary]
        );
    }

    #[test]
    fn server_frames() {
        assert_eq!(&PING[..], &[0x89, 0]);
        assert_eq!(&pong(b"ab")[..], &[0x8A, 2, b'a', b'b']);
        let c = close(1001, "server shutting down");
        assert_eq!(&c[..4], &[0x88, 22, 0x03, 0xE9]);
        assert_eq!(close(1000, &"é".repeat(100)).len(), 2 + 2 + 122);
    }
}
