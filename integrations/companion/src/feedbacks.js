// Key colours that follow the meeting: the speech clock's wrap-up level, a point of order
// waiting, the queue closed, an interpreter's "slow down", "no interpretation" (host and
// moderator keys only: interpreters' alerts go to the chair), a clock running.

const { combineRgb } = require('@companion-module/base')

const COLORS = {
	green: combineRgb(0, 128, 0),
	amber: combineRgb(230, 150, 0),
	red: combineRgb(200, 0, 0),
	purple: combineRgb(110, 40, 160),
	blue: combineRgb(0, 80, 170),
	black: combineRgb(0, 0, 0),
	white: combineRgb(255, 255, 255),
}

const LEVEL = {
	type: 'dropdown',
	id: 'level',
	label: 'When the clock is',
	default: 'warning',
	choices: [
		{ id: 'ok', label: 'OK (more than the warning time left)' },
		{ id: 'warning', label: 'Warning (wrap up: warning time or less left)' },
		{ id: 'danger', label: 'Danger (danger time or less left)' },
		{ id: 'overtime', label: 'Overtime' },
	],
}

const WINDOW = (d) => ({
	type: 'number',
	id: 'seconds',
	label: 'Lit for (seconds after the signal)',
	default: d,
	min: 1,
	max: 3600,
})

/** Whether a level matches an option: "warning" also holds in danger (both mean wrap up). */
function levelIs(level, wanted) {
	if (wanted === 'warning') return level === 'warning' || level === 'danger'
	return level === wanted
}

/** The feedback values of a view at server time `now`, by feedback id and options. */
function evaluate(id, options, v, now) {
	switch (id) {
		case 'speech_state':
			return levelIs(v.speech_level, options.level)
		case 'segment_state':
			return levelIs(v.segment_level, options.level)
		case 'point_of_order_waiting':
			return v.point_of_order_waiting
		case 'queue_closed':
			return v.queue_closed
		case 'slow_down_active':
			return v.slow_down_at !== null && now - v.slow_down_at < Number(options.seconds || 30) * 1000
		case 'no_interpretation':
			return v.no_interpretation_at !== null && now - v.no_interpretation_at < Number(options.seconds || 60) * 1000
		case 'clock_running':
			return options.target === 'segment' ? v.segment_running : v.speech_running
		case 'connected':
			return v.connected
		default:
			return false
	}
}

module.exports = function feedbacks(self) {
	const boolean = (id, name, defaultStyle, options = []) => ({
		type: 'boolean',
		name,
		defaultStyle,
		options,
		callback: (fb) => evaluate(id, fb.options, self.currentView(), self.client.now()),
	})
	return {
		speech_state: boolean('speech_state', 'Speech clock: ok / warning / danger / overtime', { bgcolor: COLORS.amber, color: COLORS.black }, [LEVEL]),
		segment_state: boolean('segment_state', 'Segment clock: ok / warning / danger / overtime', { bgcolor: COLORS.amber, color: COLORS.black }, [LEVEL]),
		point_of_order_waiting: boolean('point_of_order_waiting', 'A point of order is waiting', { bgcolor: COLORS.purple, color: COLORS.white }),
		queue_closed: boolean('queue_closed', 'The queue is closed', { bgcolor: COLORS.red, color: COLORS.white }),
		slow_down_active: boolean('slow_down_active', 'An interpreter asked the speaker to slow down', { bgcolor: COLORS.amber, color: COLORS.black }, [WINDOW(30)]),
		no_interpretation: boolean('no_interpretation', 'An interpreter reports no interpretation (host and moderator keys)', { bgcolor: COLORS.red, color: COLORS.white }, [WINDOW(60)]),
		clock_running: boolean('clock_running', 'A clock is running', { bgcolor: COLORS.green, color: COLORS.white }, [
			{
				type: 'dropdown',
				id: 'target',
				label: 'Clock',
				default: 'speech',
				choices: [
					{ id: 'speech', label: 'Speech clock' },
					{ id: 'segment', label: 'Segment clock' },
				],
			},
		]),
		connected: boolean('connected', 'Connected to Podium', { bgcolor: COLORS.blue, color: COLORS.white }),
	}
}

module.exports.COLORS = COLORS
module.exports.evaluate = evaluate
module.exports.IDS = ['speech_state', 'segment_state', 'point_of_order_waiting', 'queue_closed', 'slow_down_active', 'no_interpretation', 'clock_running', 'connected']
