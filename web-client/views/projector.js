// The room's big screen: segment title, who speaks with affiliation or delegation,
// and the countdown. Nothing to press.

import { html, patch } from '../dom.js';
import { t } from '../i18n/index.js';
import { clockHtml, currentSpeakerHtml, segmentHtml, tick } from './common.js';

export function mount(root, ctx) {
  const { conn } = ctx;
  const model = conn.model;
  root.innerHTML = String(html`
    <div class="projector-view">
      <div data-part="segment"></div>
      <div data-part="speaker"></div>
      <div data-part="clock" class="big-clock-slot"></div>
    </div>`);
  const part = (n) => root.querySelector(`[data-part="${n}"]`);

  function update() {
    if (!model.state || !model.agenda) return;
    const now = conn.serverNow();
    patch(part('segment'), segmentHtml(model, { question: false }));
    patch(part('speaker'), model.state.speech ? currentSpeakerHtml(model, { big: true }) : '');
    patch(part('clock'), model.state.phase === 'running' ? clockHtml('main', model, now, { size: 'huge' }) : '');
  }
  update();
  return {
    update,
    tick(now) { tick(root, model, now); },
    destroy() {},
  };
}
