// The pure view: clock texts, wrap-up levels, drift, titles in the original language.

const test = require('node:test')
const assert = require('node:assert/strict')
const { clockText, seconds, level, thresholds, view, segmentTitle } = require('../src/view.js')
const { evaluate } = require('../src/feedbacks.js')
const { toggleCommand } = require('../src/actions.js')

test('clock texts count down, then up with a + in overtime', () => {
	assert.equal(clockText(300000), '5:00')
	assert.equal(clockText(59200), '1:00')
	assert.equal(clockText(1), '0:01')
	assert.equal(clockText(0), '0:00')
	assert.equal(clockText(-400), '+0:01')
	assert.equal(clockText(-61000), '+1:01')
	assert.equal(clockText(3723000), '1:02:03')
	assert.equal(clockText(null), '')
	assert.equal(seconds(59200), 60)
	assert.equal(seconds(-400), -1)
})

test('levels follow the agenda thresholds, segment over meeting', () => {
	const agenda = { meeting: { warning: 60, danger: 10 }, segment: [{}, { warning: 120 }] }
	assert.deepEqual(thresholds(agenda, 0), { warning: 60000, danger: 10000 })
	assert.deepEqual(thresholds(agenda, 1), { warning: 120000, danger: 10000 })
	const th = thresholds(agenda, 0)
	assert.equal(level(61000, th), 'ok')
	assert.equal(level(60000, th), 'warning')
	assert.equal(level(10000, th), 'danger')
	assert.equal(level(-1, th), 'overtime')
	assert.equal(level(null, th), 'none')
	// "warning" keys stay lit in danger: both mean "wrap up".
	assert.equal(evaluate('speech_state', { level: 'warning' }, { speech_level: 'danger' }, 0), true)
})

test('the view: speaker, drift, queue, signals', () => {
	const agenda = {
		meeting: { original_language: 'fr', warning: 60, danger: 0 },
		segment: [{ title: 'Opening', title_original: 'Ouverture' }, { title: 'Close' }],
	}
	const planned = [0, 600000, 1200000]
	const now = 500000
	const state = {
		phase: 'running',
		current: 0,
		segment_clock: { state: 'running', ends_at: 680000 },
		speech: {
			speaker: { name: 'Ana', delegation: 'Brazil', language: 'es' },
			clock: { state: 'paused', remaining: 30000 },
			slow_down: { n: 1, language: 'ar', at: 490000 },
		},
		queue: [{ name: 'Karim', delegation: 'Rabat', point_of_order: true }],
		queue_len: 3,
		queue_open: false,
	}
	const v = view(agenda, planned, state, now)
	assert.equal(v.speaker, 'Ana')
	assert.equal(v.speech_remaining, '0:30')
	assert.equal(v.speech_level, 'warning')
	assert.equal(v.speech_running, false)
	assert.equal(v.segment_remaining, '3:00')
	// Projected end 680 000 against a planned 600 000: 80 s late.
	assert.equal(v.drift, '+1:20')
	assert.equal(v.drift_s, 80)
	assert.equal(v.queue_length, 3)
	assert.equal(v.next_speaker, 'Karim (Rabat)')
	assert.equal(v.point_of_order_waiting, true)
	assert.equal(v.queue_closed, true)
	assert.equal(evaluate('slow_down_active', { seconds: 30 }, v, now), true)
	assert.equal(evaluate('slow_down_active', { seconds: 5 }, v, now), false)
	assert.equal(segmentTitle(agenda, state, 'fr'), 'Ouverture')
	assert.equal(segmentTitle(agenda, state, 'en'), 'Opening')
	assert.deepEqual(toggleCommand(state, 'speech'), { type: 'resume_clock', target: 'speech' })
	assert.deepEqual(toggleCommand(state, 'segment'), { type: 'pause_clock', target: 'segment' })
	assert.equal(view(agenda, planned, null, now).connected, false)
})
