//! Server-to-client websocket frames: final, unmasked, so the same header + payload bytes
//! go to every receiver.

use bytes::Bytes;

/// A complete, unmasked, final text frame holding `payload`: the bytes a server sends.
pub fn text_frame(payload: &str) -> Bytes {
    let mut out = Vec::with_capacity(payload.len() + 10);
    frame_header(0x1, payload.len(), &mut out);
    out.extend_from_slice(payload.as_bytes());
    Bytes::from(out)
}

/// Writes the header of a final, unmasked frame with this opcode and payload length
/// (RFC 6455 §5.2: 7-bit, 16-bit or 64-bit length).
pub fn frame_header(opcode: u8, len: usize, out: &mut Vec<u8>) {
    out.push(0x80 | opcode);
    if len < 126 {
        out.push(len as u8);
    } else if len <= u16::MAX as usize {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}
