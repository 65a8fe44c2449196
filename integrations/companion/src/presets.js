// Ready-made keys, laid out for a 15-key Stream Deck (5 × 3, see README.md):
//
//   ◀ Segment | Segment clock | Segment ▶ | Drift        | Segment title
//   Speaker   | Speech clock  | −30 s     | +30 s        | End speech
//   Next hand | Queue         | Wrap up   | One minute   | Time is up

const { COLORS } = require('./feedbacks.js')

const WHITE_ON_BLACK = { color: COLORS.white, bgcolor: COLORS.black }

function key(category, name, text, size, down, feedbacks = [], style = {}) {
	return {
		type: 'button',
		category,
		name,
		style: { text, size, alignment: 'center:center', ...WHITE_ON_BLACK, ...style },
		steps: [{ down: down ? [down] : [], up: [] }],
		feedbacks,
	}
}

const level = (feedbackId, lvl, bgcolor, color = COLORS.white) => ({
	feedbackId,
	options: { level: lvl },
	style: { bgcolor, color },
})

/** The presets, in the order of the 15-key layout (row by row). */
module.exports = function presets() {
	const deck = '15-key deck'
	const list = [
		key(deck, '◀ Segment', '◀\\nSEGMENT', '14', { actionId: 'previous_segment', options: {} }),
		key(deck, 'Segment clock', 'SEGMENT\\n$(podium:segment_remaining)', '14', { actionId: 'toggle_clock', options: { target: 'segment' } }, [
			level('segment_state', 'warning', COLORS.amber, COLORS.black),
			level('segment_state', 'overtime', COLORS.red),
		]),
		key(deck, 'Segment ▶', 'SEGMENT\\n▶', '14', { actionId: 'next_segment', options: {} }),
		key(deck, 'Drift', 'DRIFT\\n$(podium:drift)', '14', null),
		key(deck, 'Segment title', '$(podium:segment_title)', '7', null),
		key(deck, 'Speaker', '$(podium:speaker)\\n$(podium:floor_language)', '7', null, [
			{ feedbackId: 'slow_down_active', options: { seconds: 30 }, style: { bgcolor: COLORS.amber, color: COLORS.black } },
			{ feedbackId: 'no_interpretation', options: { seconds: 60 }, style: { bgcolor: COLORS.red, color: COLORS.white } },
		]),
		key(deck, 'Speech clock', '$(podium:speech_remaining)', '24', { actionId: 'toggle_clock', options: { target: 'speech' } }, [
			level('speech_state', 'ok', COLORS.green),
			level('speech_state', 'warning', COLORS.amber, COLORS.black),
			level('speech_state', 'overtime', COLORS.red),
		]),
		key(deck, '−30 s', '−30 s', '18', { actionId: 'adjust_clock', options: { target: 'speech', seconds: -30 } }),
		key(deck, '+30 s', '+30 s', '18', { actionId: 'adjust_clock', options: { target: 'speech', seconds: 30 } }),
		key(deck, 'End speech', 'END\\nSPEECH', '14', { actionId: 'end_speech', options: {} }),
		key(deck, 'Next hand', 'NEXT HAND\\n$(podium:next_speaker)', '7', { actionId: 'give_floor_to_next_hand', options: {} }, [
			{ feedbackId: 'point_of_order_waiting', options: {}, style: { bgcolor: COLORS.purple, color: COLORS.white } },
		]),
		key(deck, 'Queue', 'QUEUE\\n$(podium:queue_length)', '14', { actionId: 'toggle_queue', options: {} }, [
			{ feedbackId: 'queue_closed', options: {}, style: { bgcolor: COLORS.red, color: COLORS.white, text: 'QUEUE\\nCLOSED' } },
		]),
		key(deck, 'Wrap up', 'WRAP\\nUP', '14', { actionId: 'message_preset', options: { preset: 'wrap_up', lang: 'auto' } }),
		key(deck, 'One minute', '1 MIN\\nLEFT', '14', { actionId: 'message_preset', options: { preset: 'one_minute', lang: 'auto' } }),
		key(deck, 'Time is up', 'TIME\\nIS UP', '14', { actionId: 'message_preset', options: { preset: 'time_up', lang: 'auto' } }),
	]
	const out = {}
	list.forEach((p, i) => {
		out[`deck15_${String(i + 1).padStart(2, '0')}`] = p
	})
	// Single keys for other layouts.
	out.segment_clock_large = key('Clocks', 'Segment clock (large)', '$(podium:segment_remaining)', '24', null, [
		level('segment_state', 'warning', COLORS.amber, COLORS.black),
		level('segment_state', 'overtime', COLORS.red),
	])
	out.start_pause_segment = key('Clocks', 'Start / pause segment clock', 'START\\nPAUSE', '14', { actionId: 'toggle_clock', options: { target: 'segment' } }, [
		{ feedbackId: 'clock_running', options: { target: 'segment' }, style: { bgcolor: COLORS.green, color: COLORS.white } },
	])
	out.plus_one_minute = key('Clocks', '+1 min segment', '+1 MIN', '18', { actionId: 'adjust_clock', options: { target: 'segment', seconds: 60 } })
	out.booth_slow_down = key('Interpreters', 'Slow down', 'SLOW\\nDOWN', '14', { actionId: 'slow_down', options: {} })
	out.booth_no_interpretation = key('Interpreters', 'No interpretation', 'NO\\nINTERP', '14', { actionId: 'no_interpretation', options: {} })
	return out
}
