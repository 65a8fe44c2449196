// Peer baselines for `podium-load --target ws-relay` and `ws-relay-send`: the smallest
// honest Node.js relays, in the two styles a team would write.
//
// - `--style frame` (ws-relay, the default): each broadcast is framed once with
//   `WebSocket.Sender.frame` and the same buffer is written to every socket — the
//   frame-once relay, what a team writes once it has profiled.
// - `--style send` (ws-relay-send): `client.send(text)` for each client in a loop, as the
//   `ws` README shows — the idiomatic relay (`ws` frames the message anew for each socket).
//
// - Clients connect to `/`; the control client connects to `/control`.
// - Any message from the control client makes the relay broadcast one
//   `{"type":"change","seq":S,...}` message of FRAME bytes (Podium's change size) to every
//   client, then answer the control client `{"type":"ack","id":ID,"seq":S}`.
// - A client's message `{"id":ID,...}` raises a "hand": hands seen in one event-loop turn
//   are appended to a queue and the whole queue is broadcast once (coalesced), then each
//   sender gets its ack. This mirrors Podium's hand storm without its rules or journal.
// - A new connection first gets the latest broadcast (its "snapshot").
//
// Usage: node relay.js --port P [--frame 604] [--style frame|send]
'use strict';

const http = require('http');
const WebSocket = require('ws');

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const PORT = Number(arg('--port', '9090'));
const FRAME = Number(arg('--frame', '604'));
const STYLE = arg('--style', 'frame');
if (STYLE !== 'frame' && STYLE !== 'send') throw new Error(`--style frame|send, not ${STYLE}`);
const HAND_BYTES = 150;

const server = http.createServer();
const wss = new WebSocket.WebSocketServer({ server, perMessageDeflate: false, clientTracking: false });
const clients = new Set();
let seq = 0;
let latest = null; // the latest message: pre-framed (frame style) or text (send style)
const queue = []; // hand entries (JSON strings)
let pendingHands = []; // [ws, id] waiting for the coalesced broadcast

function message(extra) {
  // {"type":"change","seq":S,<extra>"pad":"xxx"} padded to FRAME bytes.
  const head = `{"type":"change","seq":${seq},${extra}"pad":"`;
  const padLen = Math.max(0, FRAME - head.length - 2);
  return head + 'x'.repeat(padLen) + '"}';
}

function broadcast(text) {
  if (STYLE === 'send') {
    latest = text;
    for (const ws of clients) ws.send(text);
    return;
  }
  const frame = WebSocket.Sender.frame(Buffer.from(text), {
    fin: true,
    rsv1: false,
    opcode: 1,
    mask: false,
    readOnly: false,
  });
  latest = Buffer.concat(frame);
  for (const ws of clients) {
    ws._socket.write(latest);
  }
}

function sendLatest(ws) {
  if (STYLE === 'send') ws.send(latest);
  else ws._socket.write(latest);
}

function flushHands() {
  const acks = pendingHands;
  pendingHands = [];
  seq += 1;
  broadcast(message(`"hands":${queue.length},"queue":[${queue.join(',')}],`));
  for (const [ws, id] of acks) {
    ws.send(`{"type":"ack","id":${id},"seq":${seq}}`);
  }
}

seq = 0;
broadcast(message(''));

wss.on('connection', (ws, req) => {
  const control = req.url === '/control';
  if (!control) {
    clients.add(ws);
    sendLatest(ws);
  }
  ws.on('message', (data) => {
    const text = data.toString();
    const m = /"id":(\d+)/.exec(text);
    const id = m ? m[1] : '0';
    if (control) {
      if (text.includes('"clear_queue"')) queue.length = 0;
      seq += 1;
      broadcast(message(''));
      ws.send(`{"type":"ack","id":${id},"seq":${seq}}`);
    } else {
      const entry = `{"id":${queue.length + 1},"who":"`;
      queue.push(entry + 'h'.repeat(Math.max(0, HAND_BYTES - entry.length - 2)) + '"}');
      if (pendingHands.length === 0) setImmediate(flushHands);
      pendingHands.push([ws, id]);
    }
  });
  ws.on('close', () => clients.delete(ws));
  ws.on('error', () => clients.delete(ws));
});

server.listen(PORT, '127.0.0.1', 2048, () => {
  process.stdout.write(`listening ${PORT}\n`);
});
process.on('SIGTERM', () => process.exit(0));
