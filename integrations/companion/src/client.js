// Podium's HTTP API as the module uses it: the event stream (Server-Sent Events, read with
// fetch so that the key travels in a header, resumed with Last-Event-ID, reconnected with
// backoff) and commands (POST with an Idempotency-Key, so that a retry after a network
// failure is not applied twice). Node 18+ only: no dependencies.

const { randomUUID } = require('node:crypto')
const { EventEmitter } = require('node:events')

/** Why the stream stopped for good: no reconnect until the configuration changes. */
const FINAL = new Set(['revoked', 'closed', 'unauthorized'])

class PodiumClient extends EventEmitter {
	/**
	 * @param {string} url Server base URL, e.g. http://192.168.1.10:8080
	 * @param {string} key An API key (pod_…) or a link token
	 */
	constructor(url, key) {
		super()
		this.url = String(url || '').replace(/\/+$/, '')
		this.key = String(key || '').trim()
		this.meeting = null
		this.role = null
		this.agenda = null
		this.planned = null
		this.state = null
		this.seq = null
		this.agendaVersion = null
		/** server clock − local clock, ms: the largest recent sample (delay only lowers it). */
		this.offset = 0
		this.samples = []
		this.stopped = false
		this.abort = null
		this.backoff = 500
	}

	/** Server time now, ms. */
	now() {
		return Date.now() + this.offset
	}

	#sample(serverTime) {
		if (typeof serverTime !== 'number') return
		this.samples.push(serverTime - Date.now())
		if (this.samples.length > 16) this.samples.shift()
		this.offset = Math.max(...this.samples)
	}

	#headers(extra) {
		return { Authorization: `Bearer ${this.key}`, ...extra }
	}

	/** Asks the server who the key is: sets `meeting` and `role`. */
	async identify() {
		const r = await fetch(`${this.url}/api/me`, { headers: this.#headers() })
		const body = await r.json().catch(() => ({}))
		if (!r.ok) {
			const e = new Error(body.message || `the server answered ${r.status}`)
			e.status = r.status
			throw e
		}
		this.meeting = body.meeting
		this.role = body.role
		return body
	}

	/** Connects (and keeps reconnecting) until `stop()`. */
	start() {
		this.stopped = false
		this.#loop()
	}

	stop() {
		this.stopped = true
		if (this.abort) this.abort.abort()
	}

	async #loop() {
		while (!this.stopped) {
			let final = null
			try {
				if (!this.meeting) await this.identify()
				final = await this.#stream()
			} catch (e) {
				if (this.stopped) return
				if (e.status === 401) final = 'unauthorized'
				else this.emit('status', 'connecting', e.message)
			}
			if (final && FINAL.has(final)) {
				this.stopped = true
				this.emit('status', final)
				return
			}
			if (this.stopped) return
			// 0.5 s doubling to 10 s, each × 0.5–1.5: a room of decks does not reconnect in step.
			const wait = this.backoff * (0.5 + Math.random())
			this.backoff = Math.min(this.backoff * 2, 10000)
			await new Promise((res) => setTimeout(res, wait))
		}
	}

	/** One connection: returns why it ended (`revoked`, `closed`, or null to reconnect). */
	async #stream() {
		this.abort = new AbortController()
		const headers = this.#headers({ Accept: 'text/event-stream' })
		if (this.seq !== null) headers['Last-Event-ID'] = String(this.seq)
		let path = `${this.url}/api/meetings/${encodeURIComponent(this.meeting)}/events`
		if (this.agendaVersion !== null) path += `?agenda_version=${this.agendaVersion}`
		const r = await fetch(path, { headers, signal: this.abort.signal })
		if (r.status === 401) return 'unauthorized'
		if (r.status === 410) return 'closed'
		if (!r.ok) throw new Error(`the event stream answered ${r.status}`)
		this.backoff = 500
		this.emit('status', 'ok')
		const decoder = new TextDecoder()
		let buffer = ''
		let event = { name: 'message', id: null, data: [] }
		for await (const chunk of r.body) {
			buffer += decoder.decode(chunk, { stream: true })
			let nl
			while ((nl = buffer.indexOf('\n')) >= 0) {
				const line = buffer.slice(0, nl).replace(/\r$/, '')
				buffer = buffer.slice(nl + 1)
				if (line === '') {
					if (event.data.length) {
						const end = this.#dispatch(event.name, event.id, event.data.join('\n'))
						if (end) return end
					}
					event = { name: 'message', id: null, data: [] }
				} else if (line.startsWith(':')) {
					// keep-alive or a note
				} else {
					const i = line.indexOf(':')
					const field = i < 0 ? line : line.slice(0, i)
					const value = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '')
					if (field === 'event') event.name = value
					else if (field === 'id') event.id = value
					else if (field === 'data') event.data.push(value)
				}
			}
		}
		return null
	}

	#dispatch(name, id, data) {
		let msg
		try {
			msg = JSON.parse(data)
		} catch {
			return null
		}
		if (name === 'revoked' || name === 'closed') return name
		if (name === 'agenda') {
			this.agenda = msg.agenda
			this.planned = msg.planned
			this.agendaVersion = msg.version
			this.emit('agenda', msg)
		} else if (name === 'snapshot' || name === 'change') {
			if (this.seq !== null && msg.seq <= this.seq && name === 'change') return null
			this.seq = msg.seq
			this.state = msg.state
			this.#sample(msg.server_time)
			this.emit('state', msg, name)
		}
		if (id !== null && id !== undefined) this.lastEventId = id
		return null
	}

	async #send(path, init, retries) {
		const key = randomUUID()
		for (let attempt = 0; ; attempt++) {
			try {
				const r = await fetch(`${this.url}${path}`, {
					...init,
					headers: this.#headers({ 'Idempotency-Key': key, ...(init.headers || {}) }),
				})
				const body = await r.json().catch(() => ({}))
				return { status: r.status, ok: r.ok, body }
			} catch (e) {
				// The request may or may not have arrived: the same key makes the retry safe.
				if (attempt >= retries) throw e
				await new Promise((res) => setTimeout(res, 300 * (attempt + 1)))
			}
		}
	}

	/** Sends one command (the websocket's Command JSON); resolves to {status, ok, body}. */
	async command(command) {
		if (!this.meeting) await this.identify()
		return this.#send(
			`/api/meetings/${encodeURIComponent(this.meeting)}/commands`,
			{ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(command) },
			2
		)
	}

	/** Fires a `do/{action}` (message presets are resolved by the server). */
	async action(name, params) {
		if (!this.meeting) await this.identify()
		const q = new URLSearchParams(params || {}).toString()
		return this.#send(
			`/api/meetings/${encodeURIComponent(this.meeting)}/do/${name}${q ? `?${q}` : ''}`,
			{ method: 'POST' },
			2
		)
	}
}

module.exports = { PodiumClient }
