// The module against a real Podium server, run the way Companion runs it (a child process
// over IPC, see host.js): its actions change the meeting, its variables and feedbacks
// follow the meeting, it reconnects after a server restart, it refuses what the key's role
// may not do, and it stops when its key is revoked.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Host } = require('./host.js')
const { Podium } = require('./podium.js')

const FEEDBACKS = {
	fb_ok: { feedbackId: 'speech_state', options: { level: 'ok' } },
	fb_warning: { feedbackId: 'speech_state', options: { level: 'warning' } },
	fb_overtime: { feedbackId: 'speech_state', options: { level: 'overtime' } },
	fb_poo: { feedbackId: 'point_of_order_waiting', options: {} },
	fb_closed: { feedbackId: 'queue_closed', options: {} },
	fb_slow: { feedbackId: 'slow_down_active', options: { seconds: 30 } },
	fb_nointerp: { feedbackId: 'no_interpretation', options: { seconds: 60 } },
	fb_running: { feedbackId: 'clock_running', options: { target: 'speech' } },
}

test('a Stream Deck runs a meeting through the module', async (t) => {
	const podium = new Podium()
	await podium.start()
	const hosts = []
	t.after(async () => {
		for (const h of hosts) await h.stop()
		await podium.stop()
		podium.cleanup()
	})
	const deckKey = await podium.key('host', 'Stream Deck booth A')
	const deck = new Host()
	hosts.push(deck)
	await deck.start()
	await deck.init({ url: podium.url, key: deckKey.key }, FEEDBACKS)
	const v = deck.variables
	const fb = deck.feedbackValues

	await t.test('it connects and shows the meeting', async () => {
		await deck.until('connected', () => deck.status === 'ok' && v.phase === 'not_started')
		assert.equal(v.connection, 'ok')
		assert.ok(deck.definitions.actions.some((a) => a.id === 'give_floor_to_next_hand'))
		assert.equal(deck.definitions.presets.filter((p) => p.id.startsWith('deck15_')).length, 15)
	})

	await t.test('segment keys move the agenda', async () => {
		await deck.press('start_meeting')
		await deck.press('next_segment')
		assert.equal((await podium.state()).current, 1)
		await deck.until('the welcome segment', () => v.segment_title === 'Welcome words')
		await deck.press('previous_segment')
		assert.equal((await podium.state()).current, 0)
		await deck.until('the introduction', () => v.segment_title === 'Brief introduction and session mechanics')
	})

	await t.test('the speech clock colours the keys: ok, warning, overtime', async () => {
		await podium.must(podium.tokens.host, { type: 'go_to_segment', segment: 'round-2' })
		await podium.must(podium.tokens.host, { type: 'give_floor', person: 'ahmed-skim' })
		await deck.until('the speaker', () => v.speaker === 'Ahmed Skim' && v.floor_language === 'fr')
		assert.match(v.delegation, /Ministry/)
		await deck.until('ok', () => fb.fb_ok === true && fb.fb_warning === false && fb.fb_running === true)
		assert.match(String(v.speech_remaining), /^[45]:\d\d$/)
		// −250 s: about 50 s left, under the 1-minute warning.
		await deck.press('adjust_clock', { target: 'speech', seconds: -250 })
		await deck.until('warning', () => fb.fb_warning === true && fb.fb_ok === false)
		assert.ok(v.speech_remaining_s <= 60 && v.speech_remaining_s > 0, `${v.speech_remaining_s}`)
		await deck.press('adjust_clock', { target: 'speech', seconds: -60 })
		await deck.until('overtime', () => fb.fb_overtime === true && fb.fb_warning === false)
		assert.match(String(v.speech_remaining), /^\+0:\d\d$/)
		assert.ok(v.speech_remaining_s < 0)
		assert.equal(v.speech_level, 'overtime')
	})

	await t.test('a message preset reaches the speaker in their floor language', async () => {
		await deck.press('message_preset', { preset: 'wrap_up', lang: 'auto' })
		assert.equal((await podium.state()).speech.message.text, 'Veuillez conclure')
		await deck.until('the message variable', () => v.message === 'Veuillez conclure')
		await deck.press('message_preset', { preset: 'time_up', lang: 'en' })
		assert.equal((await podium.state()).speech.message.text, 'Your time is up')
	})

	await t.test('start/pause toggles the clock and its feedback', async () => {
		await deck.press('toggle_clock', { target: 'speech' })
		assert.equal((await podium.state()).speech.clock.state, 'paused')
		await deck.until('paused', () => fb.fb_running === false)
		await deck.press('toggle_clock', { target: 'speech' })
		assert.equal((await podium.state()).speech.clock.state, 'running')
		await deck.until('running', () => fb.fb_running === true)
	})

	await t.test("the booths' signals light the speaker key", async () => {
		const booth = await podium.key('interpreter:ar', 'Arabic booth')
		await podium.must(booth.key, { type: 'slow_down' })
		await deck.until('slow down', () => fb.fb_slow === true)
		await podium.must(booth.key, { type: 'no_interpretation' })
		await deck.until('no interpretation', () => fb.fb_nointerp === true)
		await deck.press('end_speech')
		assert.equal((await podium.state()).speech, undefined)
		await deck.until('nobody speaks', () => v.speaker === '' && fb.fb_slow === false)
	})

	await t.test('the queue: a point of order waits, the next hand gets the floor, the queue closes', async () => {
		await podium.must(podium.tokens.host, { type: 'go_to_segment', segment: 'open-conversation' })
		const ana = await podium.join('Ana Souza', 'Brazil', 'es')
		const karim = await podium.join('Karim Benali', 'City of Rabat', 'ar')
		await podium.must(ana, { type: 'raise_hand' })
		await podium.must(karim, { type: 'raise_hand', point_of_order: true })
		await deck.until('two hands, a point of order first', () => v.queue_length === 2 && fb.fb_poo === true)
		assert.equal(v.next_speaker, 'Karim Benali (City of Rabat)')
		await deck.press('give_floor_to_next_hand')
		await deck.until('Karim speaks', () => v.speaker === 'Karim Benali' && v.floor_language === 'ar')
		await deck.until('no point of order left', () => fb.fb_poo === false && v.queue_length === 1)
		await deck.press('toggle_queue')
		assert.equal((await podium.state()).queue_open, false)
		await deck.until('queue closed', () => fb.fb_closed === true)
		await deck.press('toggle_queue')
		await deck.until('queue open', () => fb.fb_closed === false)
	})

	await t.test('a moderator key is refused outside its segments, with the reason logged', async () => {
		const modKey = await podium.key('moderator:cecile-riallant', 'Round 1 deck')
		const modDeck = new Host()
		hosts.push(modDeck)
		await modDeck.start()
		await modDeck.init({ url: podium.url, key: modKey.key }, {})
		await modDeck.until('connected', () => modDeck.status === 'ok')
		const before = await podium.state()
		await modDeck.press('next_segment')
		await modDeck.until('the refusal', () => modDeck.logs.some((l) => l.level === 'warn' && /403 forbidden/.test(l.message)))
		assert.equal((await podium.state()).current, before.current)
		await modDeck.stop()
	})

	await t.test('it reconnects after a server restart', async () => {
		await podium.stop()
		await deck.until('connecting', () => v.connection === 'connecting')
		await podium.start()
		await deck.until('reconnected', () => v.connection === 'ok')
		await podium.must(podium.tokens.host, { type: 'close_queue' })
		await deck.until('a change after the restart', () => fb.fb_closed === true)
	})

	await t.test('it stops when its key is revoked', async () => {
		await podium.revoke(deckKey.id)
		await deck.until('revoked', () => v.connection === 'revoked' && deck.status === 'bad_config')
		await deck.press('next_segment')
		await deck.until('the refusal', () => deck.logs.some((l) => /401 unauthorized/.test(l.message)))
	})
})

test('the manifest is a valid Companion manifest', () => {
	const { validateManifest } = require('@companion-module/base/dist/manifest.js')
	const manifest = require('../companion/manifest.json')
	validateManifest(manifest, false)
	assert.equal(manifest.runtime.entrypoint, '../src/main.js')
})
