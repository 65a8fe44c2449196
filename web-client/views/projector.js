// The room's big screen, a stage display: the segment and who speaks, the countdown as
// large as the screen allows with its wrap-up words, who is next and the time of day;
// a title slide before the start and after the end. Nothing to press, no signals (they
// go to the person speaking, not to the room).

import { html, patch } from '../dom.js';
import { tick, currentSegment, segTitle, textHtml } from './common.js';
import {
  titleSlideHtml, liveStageHtml, metaHtml, personLineHtml, nextHtml, segmentAsideHtml, tickTod, tickAside, lenClass,
} from './stage.js';

export function mount(root, ctx) {
  const { conn } = ctx;
  const model = conn.model;
  root.innerHTML = String(html`<div class="stage-host" data-part="screen"></div>`);
  const screen = root.querySelector('[data-part="screen"]');

  function render(now) {
    const st = model.state;
    if (st.phase !== 'running') return titleSlideHtml(model, now);
    const seg = currentSegment(model);
    const title = seg ? segTitle(model, seg) : { text: '' };
    const top = html`${metaHtml(model, now)}
      <h2 class="stage-title ${lenClass(title.text)}" dir="auto">${textHtml(title, '', 'segment-title')}</h2>
      ${personLineHtml(model)}`;
    const bottom = html`${nextHtml(model)}${segmentAsideHtml(model, now)}`;
    return liveStageHtml(model, now, { top, bottom, screen: 'projector' });
  }

  function update() {
    if (!model.state || !model.agenda) return;
    patch(screen, render(ctx.now()));
  }
  update();
  return {
    update,
    tick(now) {
      tick(root, model, now, { offline: ctx.offline });
      tickTod(root, model, conn.serverNow());
      tickAside(root, model, now);
    },
    destroy() {},
  };
}
