// Podium for Bitfocus Companion: a Stream Deck runs a meeting's clocks, floor and queue
// through Podium's HTTP API with one API key, and shows the speaker, the clocks and the
// queue from its event stream. Layout: config.js (settings), client.js (HTTP + SSE),
// view.js (what to show), actions.js, feedbacks.js, variables.js, presets.js.

const { InstanceBase, InstanceStatus, runEntrypoint } = require('@companion-module/base')
const configFields = require('./config.js')
const actions = require('./actions.js')
const feedbacks = require('./feedbacks.js')
const variables = require('./variables.js')
const presets = require('./presets.js')
const upgrades = require('./upgrades.js')
const { PodiumClient } = require('./client.js')
const { view } = require('./view.js')

/** How often the clock variables are refreshed between changes. */
const TICK_MS = 250

class PodiumInstance extends InstanceBase {
	async init(config) {
		this.config = config
		this.connection = 'connecting'
		this.lastValues = {}
		this.lastFeedbackInputs = ''
		this.setActionDefinitions(actions(this))
		this.setFeedbackDefinitions(feedbacks(this))
		this.setVariableDefinitions(variables.DEFINITIONS)
		this.setPresetDefinitions(presets())
		this.connect()
	}

	async configUpdated(config) {
		this.config = config
		this.connect()
	}

	async destroy() {
		this.disconnect()
	}

	getConfigFields() {
		return configFields()
	}

	disconnect() {
		if (this.ticker) clearInterval(this.ticker)
		this.ticker = null
		if (this.client) {
			this.client.removeAllListeners()
			this.client.stop()
		}
	}

	connect() {
		this.disconnect()
		const { url, key } = this.config || {}
		this.client = new PodiumClient(url, key)
		if (!url || !key) {
			this.updateStatus(InstanceStatus.BadConfig, 'Set the server URL and an API key')
			return
		}
		this.updateStatus(InstanceStatus.Connecting)
		this.client.on('status', (status, message) => {
			this.connection = status
			if (status === 'ok') this.updateStatus(InstanceStatus.Ok)
			else if (status === 'connecting') this.updateStatus(InstanceStatus.Connecting, message || null)
			else if (status === 'unauthorized')
				this.updateStatus(InstanceStatus.BadConfig, 'The key is not valid (revoked?): create a new one')
			else if (status === 'revoked') this.updateStatus(InstanceStatus.BadConfig, 'The key was revoked')
			else if (status === 'closed') this.updateStatus(InstanceStatus.Disconnected, 'The meeting was archived')
			this.refresh()
		})
		this.client.on('state', () => this.refresh())
		this.client.on('agenda', () => this.refresh())
		this.client.start()
		this.ticker = setInterval(() => this.refresh(), TICK_MS)
	}

	/** The current view of the meeting (see view.js). */
	currentView() {
		const c = this.client
		return view(c && c.agenda, c && c.planned, c && c.state, c ? c.now() : Date.now())
	}

	/** Pushes the variables that changed, and re-checks feedbacks whose inputs changed. */
	refresh() {
		if (!this.client) return
		const v = this.currentView()
		const values = variables.values(v, this.connection)
		const changed = {}
		for (const [k, x] of Object.entries(values)) {
			if (this.lastValues[k] !== x) changed[k] = x
		}
		if (Object.keys(changed).length) {
			this.lastValues = values
			this.setVariableValues(changed)
		}
		// Time-windowed feedbacks (slow down, no interpretation) change with time alone:
		// their inputs include whole seconds since the signal.
		const now = this.client.now()
		const since = (t) => (t === null ? null : Math.floor((now - t) / 1000))
		const inputs = JSON.stringify([
			v.speech_level,
			v.segment_level,
			v.point_of_order_waiting,
			v.queue_closed,
			since(v.slow_down_at),
			since(v.no_interpretation_at),
			v.speech_running,
			v.segment_running,
			v.connected,
		])
		if (inputs !== this.lastFeedbackInputs) {
			this.lastFeedbackInputs = inputs
			this.checkFeedbacks(...feedbacks.IDS)
		}
	}

	/** Logs the outcome of a command: Podium's own message when it refuses. */
	reportResult(r) {
		if (r.ok) this.log('debug', `accepted (seq ${r.body.seq})`)
		else this.log('warn', `Podium refused (${r.status} ${r.body.error || ''}): ${r.body.message || ''}`)
	}
}

runEntrypoint(PodiumInstance, upgrades)

module.exports = { PodiumInstance }
