// What the deck's keys do: each action is one Podium command (or a `do/` action for the
// message presets, which the server words in the speaker's floor language). Refusals
// (not now, not your segment) go to the module's log with Podium's own message.

const TARGET = {
	type: 'dropdown',
	id: 'target',
	label: 'Clock',
	default: 'speech',
	choices: [
		{ id: 'speech', label: 'Speech clock' },
		{ id: 'segment', label: 'Segment clock' },
	],
}

const PRESETS = [
	{ id: 'wrap_up', label: 'Please wrap up' },
	{ id: 'one_minute', label: 'One minute left' },
	{ id: 'time_up', label: 'Your time is up' },
	{ id: 'microphone', label: 'Please speak closer to the microphone' },
	{ id: 'unmute', label: 'Your microphone is muted' },
]

const LANGUAGE = {
	type: 'dropdown',
	id: 'lang',
	label: 'Language',
	default: 'auto',
	choices: [
		{ id: 'auto', label: "The speaker's floor language" },
		{ id: 'en', label: 'English' },
		{ id: 'fr', label: 'Français' },
		{ id: 'es', label: 'Español' },
		{ id: 'ar', label: 'العربية' },
	],
}

/** The clock command that toggles a clock: start a ready one, pause a running one, resume. */
function toggleCommand(state, target) {
	const clock = target === 'segment' ? state && state.segment_clock : state && state.speech && state.speech.clock
	if (!clock) return null
	const type = clock.state === 'running' ? 'pause_clock' : clock.state === 'paused' ? 'resume_clock' : 'start_clock'
	return { type, target }
}

module.exports = function actions(self) {
	const send = (what) => async (event) => {
		const r = await what(event)
		if (r === null) return
		self.reportResult(r)
	}
	const cmd = (build) => send((event) => self.client.command(build(event)))
	return {
		start_meeting: { name: 'Start the meeting (host)', options: [], callback: cmd(() => ({ type: 'start_meeting' })) },
		next_segment: { name: 'Next segment', options: [], callback: cmd(() => ({ type: 'next_segment' })) },
		previous_segment: {
			name: 'Previous segment',
			options: [],
			callback: cmd(() => ({ type: 'previous_segment' })),
		},
		start_clock: {
			name: 'Start a clock',
			options: [TARGET],
			callback: cmd((e) => ({ type: 'start_clock', target: e.options.target })),
		},
		pause_clock: {
			name: 'Pause a clock',
			options: [TARGET],
			callback: cmd((e) => ({ type: 'pause_clock', target: e.options.target })),
		},
		resume_clock: {
			name: 'Resume a clock',
			options: [TARGET],
			callback: cmd((e) => ({ type: 'resume_clock', target: e.options.target })),
		},
		toggle_clock: {
			name: 'Start / pause / resume a clock',
			options: [TARGET],
			callback: send((e) => {
				const c = toggleCommand(self.client.state, e.options.target)
				if (!c) {
					self.log('info', `No ${e.options.target} clock to start or pause now`)
					return null
				}
				return self.client.command(c)
			}),
		},
		adjust_clock: {
			name: 'Add or remove time',
			options: [
				TARGET,
				{
					type: 'number',
					id: 'seconds',
					label: 'Seconds (negative removes time)',
					default: 30,
					min: -3600,
					max: 3600,
				},
			],
			callback: cmd((e) => ({ type: 'adjust_clock', target: e.options.target, seconds: Number(e.options.seconds) })),
		},
		give_floor_to_next_hand: {
			name: 'Give the floor to the next hand',
			options: [],
			callback: cmd(() => ({ type: 'give_floor_to_hand' })),
		},
		end_speech: { name: 'End the speech', options: [], callback: cmd(() => ({ type: 'end_speech' })) },
		close_queue: { name: 'Close the queue', options: [], callback: cmd(() => ({ type: 'close_queue' })) },
		reopen_queue: { name: 'Reopen the queue', options: [], callback: cmd(() => ({ type: 'reopen_queue' })) },
		toggle_queue: {
			name: 'Close / reopen the queue',
			options: [],
			callback: cmd(() => ({
				type: self.client.state && self.client.state.queue_open === false ? 'reopen_queue' : 'close_queue',
			})),
		},
		message_preset: {
			name: 'Message to the speaker (preset)',
			options: [
				{ type: 'dropdown', id: 'preset', label: 'Message', default: 'wrap_up', choices: PRESETS },
				LANGUAGE,
			],
			callback: send((e) => {
				const params = { preset: e.options.preset }
				if (e.options.lang && e.options.lang !== 'auto') params.lang = e.options.lang
				return self.client.action('message_speaker', params)
			}),
		},
		message_text: {
			name: 'Message to the speaker (own text)',
			options: [{ type: 'textinput', id: 'text', label: 'Text (at most 200 characters)', default: 'Please wrap up' }],
			callback: cmd((e) => ({ type: 'message_speaker', text: String(e.options.text || '') })),
		},
		slow_down: {
			name: 'Interpreter: ask the speaker to slow down',
			options: [],
			callback: cmd(() => ({ type: 'slow_down' })),
		},
		no_interpretation: {
			name: 'Interpreter: tell the host there is no interpretation',
			options: [],
			callback: cmd(() => ({ type: 'no_interpretation' })),
		},
	}
}

module.exports.PRESETS = PRESETS
module.exports.toggleCommand = toggleCommand
