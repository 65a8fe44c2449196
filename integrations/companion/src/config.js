// The module's settings: where Podium runs and the key it acts with.

const { Regex } = require('@companion-module/base')

module.exports = function configFields() {
	return [
		{
			type: 'static-text',
			id: 'info',
			width: 12,
			label: 'Podium',
			value:
				'Create a key for this deck on the Podium server: <code>podium keys create MEETING --role host --label "Stream Deck"</code> (or <code>--role moderator:PERSON</code> for one moderator\'s segments, <code>interpreter:LANG</code> for a booth, <code>observer</code> to show the clock only).',
		},
		{
			type: 'textinput',
			id: 'url',
			label: 'Server URL',
			width: 8,
			default: 'http://127.0.0.1:8080',
			regex: Regex.SOMETHING,
		},
		{
			type: 'textinput',
			id: 'key',
			label: 'API key (pod_…)',
			width: 12,
			default: '',
			regex: Regex.SOMETHING,
		},
	]
}
