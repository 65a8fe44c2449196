// A real Podium server for the module's tests: the `podium` binary (PODIUM_BIN, or the
// workspace's target/debug/podium) on a free port with a fresh data directory, its links,
// and helpers for the HTTP API and for participants joining over the websocket.

const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')
const WebSocket = require('ws')

const ADMIN = '0123456789abcdef0123456789abcdef'
const BIN = process.env.PODIUM_BIN || path.join(__dirname, '..', '..', '..', 'target', 'debug', 'podium')

function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer()
		s.listen(0, '127.0.0.1', () => {
			const port = s.address().port
			s.close(() => resolve(port))
		})
		s.on('error', reject)
	})
}

class Podium {
	constructor() {
		if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: run \`cargo build -p podium-server\` first`)
		this.data = fs.mkdtempSync(path.join(os.tmpdir(), 'podium-companion-'))
	}

	/** Starts (or restarts, on the same port and data) the server; waits for /healthz. */
	async start() {
		if (!this.port) this.port = await freePort()
		this.url = `http://127.0.0.1:${this.port}`
		this.proc = spawn(BIN, ['serve', '--bind', `127.0.0.1:${this.port}`, '--data', this.data], {
			env: { ...process.env, PODIUM_ADMIN_TOKEN: ADMIN },
			stdio: 'ignore',
		})
		const deadline = Date.now() + 30000
		for (;;) {
			try {
				const r = await fetch(`${this.url}/healthz`)
				if (r.ok) break
			} catch {
				// not listening yet
			}
			if (Date.now() > deadline) throw new Error('podium serve did not answer /healthz within 30 s')
			await new Promise((r) => setTimeout(r, 50))
		}
		const links = JSON.parse(execFileSync(BIN, ['links', '--json', '--data', this.data]).toString())
		this.meeting = links[0].meeting
		this.tokens = {}
		for (const l of links) this.tokens[l.person ? `${l.role}:${l.person}` : l.role] = l.url.split('#')[1]
	}

	/** Stops the server (SIGTERM: a clean shutdown) and waits for it. */
	async stop() {
		if (!this.proc || this.proc.exitCode !== null) return
		const exited = new Promise((r) => this.proc.once('exit', r))
		this.proc.kill('SIGTERM')
		await exited
	}

	async request(method, p, token, body) {
		const headers = { Authorization: `Bearer ${token}` }
		if (body !== undefined) headers['Content-Type'] = 'application/json'
		const r = await fetch(`${this.url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
		return { status: r.status, body: await r.json().catch(() => null) }
	}

	/** Creates an API key with the host token; returns {id, key}. */
	async key(role, label) {
		const r = await this.request('POST', `/api/meetings/${this.meeting}/keys`, this.tokens.host, { role, label })
		if (r.status !== 201) throw new Error(`creating a ${role} key: ${r.status} ${JSON.stringify(r.body)}`)
		return r.body
	}

	async revoke(id) {
		return this.request('DELETE', `/api/meetings/${this.meeting}/keys/${id}`, this.tokens.host)
	}

	/** A command with a credential that must be accepted; returns its seq. */
	async must(token, command) {
		const r = await this.request('POST', `/api/meetings/${this.meeting}/commands`, token, command)
		if (r.status !== 200) throw new Error(`${JSON.stringify(command)} refused: ${r.status} ${JSON.stringify(r.body)}`)
		return r.body.seq
	}

	/** The state as the host sees it. */
	async state() {
		const r = await this.request('GET', `/api/meetings/${this.meeting}/state`, this.tokens.host)
		return r.body.state
	}

	/** Joins a participant over the websocket; resolves to its personal token. */
	join(name, delegation, language) {
		return new Promise((resolve, reject) => {
			const ws = new WebSocket(`ws://127.0.0.1:${this.port}/ws`)
			ws.on('open', () =>
				ws.send(
					JSON.stringify({
						type: 'join',
						protocol: 2,
						meeting: this.meeting,
						token: this.tokens.participant,
						name,
						delegation,
						language,
					})
				)
			)
			ws.on('message', (data) => {
				const msg = JSON.parse(data.toString())
				if (msg.type === 'welcome') {
					ws.close()
					resolve(msg.participant_token)
				} else if (msg.type === 'error') {
					ws.close()
					reject(new Error(msg.message))
				}
			})
			ws.on('error', reject)
		})
	}

	cleanup() {
		fs.rmSync(this.data, { recursive: true, force: true })
	}
}

module.exports = { Podium, ADMIN }
