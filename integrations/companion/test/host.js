// A minimal Companion host for tests: runs the module the way Companion does (a child
// process with an IPC channel, MODULE_MANIFEST, CONNECTION_ID and VERIFICATION_TOKEN),
// answers its registration, initialises it with a configuration and feedback instances,
// executes actions, and records what the module reports: variables, feedback values,
// status, log lines and definitions.

const { fork } = require('node:child_process')
const path = require('node:path')

const ROOT = path.join(__dirname, '..')

class Host {
	constructor() {
		this.variables = {}
		this.feedbackValues = {}
		this.status = null
		this.statusMessage = null
		this.logs = []
		this.definitions = {}
		this.pending = new Map()
		this.nextId = 1
		this.waiters = []
	}

	/** Starts the module process and waits for its registration. */
	async start() {
		const manifest = path.join(ROOT, 'companion', 'manifest.json')
		this.child = fork(path.join(ROOT, 'src', 'main.js'), [], {
			env: {
				...process.env,
				MODULE_MANIFEST: manifest,
				CONNECTION_ID: 'podium-test',
				VERIFICATION_TOKEN: 'test-token',
			},
			stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
		})
		this.output = ''
		this.child.stdout.on('data', (d) => (this.output += d))
		this.child.stderr.on('data', (d) => (this.output += d))
		this.registered = new Promise((resolve) => (this.onRegister = resolve))
		this.child.on('message', (msg) => this.#received(msg))
		await this.registered
	}

	#received(msg) {
		if (msg.direction === 'response') {
			const p = this.pending.get(msg.callbackId)
			this.pending.delete(msg.callbackId)
			if (!p) return
			const payload = msg.payload ? JSON.parse(msg.payload) : undefined
			if (msg.success) p.resolve(payload)
			else p.reject(new Error((payload && payload.message) || 'call failed'))
			return
		}
		const payload = msg.payload ? JSON.parse(msg.payload) : undefined
		let answer
		switch (msg.name) {
			case 'register':
				answer = {}
				this.onRegister()
				break
			case 'upgradedItems':
				answer = {}
				break
			case 'parseVariablesInString':
				answer = { text: payload.text, variableIds: [] }
				break
			case 'setActionDefinitions':
				this.definitions.actions = payload.actions
				break
			case 'setFeedbackDefinitions':
				this.definitions.feedbacks = payload.feedbacks
				break
			case 'setVariableDefinitions':
				this.definitions.variables = payload.variables
				for (const v of payload.newValues || []) this.variables[v.id] = v.value
				break
			case 'setPresetDefinitions':
				this.definitions.presets = payload.presets
				break
			case 'setVariableValues':
				for (const v of payload.newValues) this.variables[v.id] = v.value
				break
			case 'updateFeedbackValues':
				for (const v of payload.values) this.feedbackValues[v.id] = v.value
				break
			case 'set-status':
				this.status = payload.status
				this.statusMessage = payload.message
				break
			case 'log-message':
				this.logs.push(payload)
				break
			default:
				break
		}
		if (msg.callbackId && !this.gone()) {
			this.child.send({
				direction: 'response',
				callbackId: msg.callbackId,
				success: true,
				payload: JSON.stringify(answer === undefined ? {} : answer),
			}, () => {})
		}
		this.#wake()
	}

	/** Calls the module (`init`, `executeAction`, …) and waits for its answer. */
	call(name, payload) {
		const callbackId = this.nextId++
		return new Promise((resolve, reject) => {
			this.pending.set(callbackId, { resolve, reject })
			this.child.send({ direction: 'call', name, payload: JSON.stringify(payload), callbackId }, (e) => {
				if (e) {
					this.pending.delete(callbackId)
					reject(e)
				}
			})
		})
	}

	/** Whether the module process has ended (or is being ended). */
	gone() {
		return !this.child || this.child.killed || this.child.exitCode !== null || this.child.signalCode !== null
	}

	/** Initialises the module with `config` and the feedback instances `feedbacks` ({id: {feedbackId, options}}). */
	init(config, feedbacks) {
		const instances = {}
		for (const [id, f] of Object.entries(feedbacks || {})) {
			instances[id] = {
				id,
				controlId: `bank:${id}`,
				feedbackId: f.feedbackId,
				options: f.options || {},
				disabled: false,
				upgradeIndex: null,
				isInverted: false,
			}
		}
		return this.call('init', {
			label: 'podium',
			isFirstInit: false,
			config,
			lastUpgradeIndex: -1,
			feedbacks: instances,
			actions: {},
		})
	}

	/** Presses a key: runs one action with its options. */
	press(actionId, options = {}) {
		return this.call('executeAction', {
			action: {
				id: `action-${this.nextId}`,
				controlId: 'bank:1',
				actionId,
				options,
				disabled: false,
				upgradeIndex: null,
			},
			surfaceId: undefined,
		})
	}

	#wake() {
		for (const w of [...this.waiters]) {
			if (w.test()) {
				this.waiters.splice(this.waiters.indexOf(w), 1)
				w.resolve()
			}
		}
	}

	/** Waits until `test()` holds (checked on every message from the module). */
	until(what, test, timeout = 15000) {
		if (test()) return Promise.resolve()
		return new Promise((resolve, reject) => {
			const w = { test, resolve }
			this.waiters.push(w)
			setTimeout(() => {
				const i = this.waiters.indexOf(w)
				if (i >= 0) {
					this.waiters.splice(i, 1)
					reject(
						new Error(
							`timed out waiting for ${what}; variables ${JSON.stringify(this.variables)}, feedbacks ${JSON.stringify(
								this.feedbackValues
							)}, status ${this.status} ${this.statusMessage}, logs ${JSON.stringify(this.logs.slice(-5))}`
						)
					)
				}
			}, timeout)
		})
	}

	async stop() {
		if (this.gone()) return
		try {
			await Promise.race([this.call('destroy', {}), new Promise((r) => setTimeout(r, 2000))])
		} catch {
			// already gone
		}
		this.child.kill()
	}
}

module.exports = { Host }
