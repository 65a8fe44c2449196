// The variables a deck can show, e.g. $(podium:speech_remaining) on a clock key.

const DEFINITIONS = [
	{ variableId: 'connection', name: 'Connection: ok, connecting, revoked, closed' },
	{ variableId: 'phase', name: 'Meeting phase: not_started, running, ended' },
	{ variableId: 'segment_title', name: 'Current segment title' },
	{ variableId: 'speaker', name: 'Who has the floor' },
	{ variableId: 'delegation', name: "The speaker's delegation or affiliation" },
	{ variableId: 'floor_language', name: 'Floor language of the speech (code)' },
	{ variableId: 'speech_remaining', name: 'Speech time left (m:ss, +m:ss in overtime)' },
	{ variableId: 'speech_remaining_s', name: 'Speech time left in seconds (negative in overtime)' },
	{ variableId: 'speech_level', name: 'Speech clock: ok, warning, danger, overtime, none' },
	{ variableId: 'segment_remaining', name: 'Segment time left (m:ss)' },
	{ variableId: 'segment_remaining_s', name: 'Segment time left in seconds' },
	{ variableId: 'drift', name: 'Running late (+m:ss) or early (-m:ss) against the plan' },
	{ variableId: 'drift_s', name: 'Drift in seconds (positive: late)' },
	{ variableId: 'queue_length', name: 'Hands in the queue' },
	{ variableId: 'next_speaker', name: 'First hand in the queue (name and delegation)' },
	{ variableId: 'message', name: 'The message on the speaker\'s screen' },
]

/** The variable values of a view (see view.js). */
function values(v, connection) {
	return {
		connection,
		phase: v.phase,
		segment_title: v.segment_title,
		speaker: v.speaker,
		delegation: v.delegation,
		floor_language: v.floor_language,
		speech_remaining: v.speech_remaining,
		speech_remaining_s: v.speech_remaining_s,
		speech_level: v.speech_level,
		segment_remaining: v.segment_remaining,
		segment_remaining_s: v.segment_remaining_s,
		drift: v.drift,
		drift_s: v.drift_s,
		queue_length: v.queue_length,
		next_speaker: v.next_speaker,
		message: v.message,
	}
}

module.exports = { DEFINITIONS, values }
