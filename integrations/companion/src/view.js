// What a Stream Deck shows, computed from Podium's state: remaining times, wrap-up
// levels, the speaker, the queue. Pure functions of (agenda, state, server time), so the
// module's variables and feedbacks and the tests share one definition.

/** Remaining time of a clock at server time `now`, ms (negative in overtime), or null. */
function remaining(clock, now) {
	if (!clock) return null
	if (clock.state === 'running') return clock.ends_at - now
	if (typeof clock.remaining === 'number') return clock.remaining
	return null
}

/** `m:ss` (or `h:mm:ss`); overtime counts up with a leading `+`. Empty for null. */
function clockText(ms) {
	if (ms === null || ms === undefined) return ''
	const over = ms < 0
	// Whole seconds as a stage clock shows them: 59.2 s left reads 1:00, 0.4 s over reads +0:01.
	const s = over ? Math.ceil(-ms / 1000 - 1e-9) : Math.ceil(ms / 1000 - 1e-9)
	const h = Math.floor(s / 3600)
	const m = Math.floor((s % 3600) / 60)
	const sec = String(s % 60).padStart(2, '0')
	const body = h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`
	return over ? `+${body}` : body
}

/** Signed whole seconds of a remaining time (negative in overtime). */
function seconds(ms) {
	if (ms === null || ms === undefined) return ''
	return ms < 0 ? -Math.ceil(-ms / 1000 - 1e-9) : Math.ceil(ms / 1000 - 1e-9)
}

/** The wrap-up thresholds (ms) of segment `i`: its own, else the meeting's, else 1 min / 0. */
function thresholds(agenda, i) {
	const m = (agenda && agenda.meeting) || {}
	const seg = (agenda && agenda.segment && agenda.segment[i]) || {}
	const pick = (a, b, d) => (typeof a === 'number' ? a : typeof b === 'number' ? b : d)
	return {
		warning: pick(seg.warning, m.warning, 60) * 1000,
		danger: pick(seg.danger, m.danger, 0) * 1000,
	}
}

/** `ok`, `warning`, `danger` or `overtime` for a remaining time; `none` without a clock. */
function level(ms, th) {
	if (ms === null || ms === undefined) return 'none'
	if (ms < 0) return 'overtime'
	if (ms <= th.danger) return 'danger'
	if (ms <= th.warning) return 'warning'
	return 'ok'
}

/** The drift of the meeting (ms, positive = late) at server time `now`, or null. */
function drift(agenda, planned, state, now) {
	if (!state || state.phase !== 'running' || typeof state.current !== 'number' || !planned) return null
	const end = planned[state.current + 1]
	if (typeof end !== 'number') return null
	const left = remaining(state.segment_clock, now)
	if (left === null) return null
	return now + Math.max(left, 0) - end
}

/** The current segment's title, in its original language when `lang` is that language. */
function segmentTitle(agenda, state, lang) {
	if (!agenda || !state || typeof state.current !== 'number') return ''
	const seg = agenda.segment[state.current]
	if (!seg) return ''
	if (lang && seg.title_original && agenda.meeting.original_language === lang) return seg.title_original
	return seg.title
}

/** Everything a deck shows, at server time `now`. */
function view(agenda, planned, state, now) {
	const out = {
		connected: !!state,
		phase: state ? state.phase : '',
		segment_title: segmentTitle(agenda, state),
		speaker: '',
		delegation: '',
		floor_language: '',
		speech_remaining: '',
		speech_remaining_s: '',
		speech_level: 'none',
		speech_running: false,
		segment_remaining: '',
		segment_remaining_s: '',
		segment_level: 'none',
		segment_running: false,
		drift: '',
		drift_s: '',
		queue_length: 0,
		next_speaker: '',
		point_of_order_waiting: false,
		queue_closed: false,
		slow_down_at: null,
		no_interpretation_at: null,
		message: '',
	}
	if (!state) return out
	const th = thresholds(agenda, state.current)
	const seg = remaining(state.segment_clock, now)
	out.segment_remaining = clockText(seg)
	out.segment_remaining_s = seconds(seg)
	out.segment_level = state.phase === 'running' ? level(seg, th) : 'none'
	out.segment_running = !!(state.segment_clock && state.segment_clock.state === 'running')
	const sp = state.speech
	if (sp) {
		out.speaker = sp.speaker.name
		out.delegation = sp.speaker.delegation || ''
		out.floor_language = sp.speaker.language
		const left = remaining(sp.clock, now)
		out.speech_remaining = clockText(left)
		out.speech_remaining_s = seconds(left)
		out.speech_level = level(left, th)
		out.speech_running = sp.clock.state === 'running'
		out.slow_down_at = sp.slow_down ? sp.slow_down.at : null
		out.message = sp.message ? sp.message.text : ''
	}
	const d = drift(agenda, planned, state, now)
	if (d !== null) {
		out.drift = d >= 0 ? `+${clockText(d)}` : `-${clockText(-d)}`
		out.drift_s = Math.round(d / 1000)
	}
	const queue = state.queue || []
	out.queue_length = typeof state.queue_len === 'number' ? state.queue_len : state.queue_keys ? state.queue_keys.length : queue.length
	if (queue[0]) out.next_speaker = queue[0].delegation ? `${queue[0].name} (${queue[0].delegation})` : queue[0].name
	out.point_of_order_waiting = queue.some((h) => h.point_of_order)
	out.queue_closed = state.queue_open === false
	out.no_interpretation_at = state.no_interpretation ? state.no_interpretation.at : null
	return out
}

module.exports = { remaining, clockText, seconds, thresholds, level, drift, segmentTitle, view }
