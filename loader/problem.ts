/**
 * The explanation page shown when the site cannot be shown here (in peersite-later.js: loader/later.ts). It turns
 * the loader's card (loader/ui.ts, passed in: this bundle shares no module with peersite.js) into a full page.
 */
import type { ProblemCode } from './boot.js'
import type { Card, Problem } from './ui.js'

const AFTER = 'Open it in a current Chrome, Edge, Firefox or Safari, in a normal (not private) window.'
const RELOAD = 'Reloading the page may help.'

/** The explanation of a problem: `detail` is the browser's or the loader's own message, `seconds` the deadline. */
export function problemFor (code: ProblemCode, detail: string, name: string, seconds: number): Omit<Problem, 'manifest'> {
  switch (code) {
    case 'insecure': return {
      title: 'This site needs a secure connection',
      paragraphs: [
        'This site is shared peer to peer by its visitors\' browsers, which needs a service worker, and browsers allow those only on https:// pages (or on localhost).',
        `Open it with https:// instead of ${location.protocol}//.`
      ]
    }
    case 'no-service-worker': return {
      title: 'This browser cannot open this site',
      paragraphs: [
        'This site is shared peer to peer by its visitors\' browsers. That needs service workers, which this browser does not offer here (they are off in some private windows and blocked by some settings and extensions).',
        AFTER
      ]
    }
    case 'no-webrtc': return {
      title: 'This browser cannot open this site',
      paragraphs: [
        'This site is shared peer to peer by its visitors\' browsers over WebRTC, and WebRTC is turned off or missing in this browser (a setting or an extension may disable it).',
        `Turn WebRTC on, or: ${AFTER}`
      ]
    }
    case 'blocked': return {
      title: 'Service workers are blocked',
      paragraphs: [
        'This site is shared peer to peer by its visitors\' browsers and is served to this page by a service worker, but this browser would not start it' + (detail === '' ? '.' : `: ${detail}`),
        'Service workers are blocked by some privacy settings, extensions, private windows and "block third-party cookies / site data" options. Allow them for this site, or open it in a current Chrome, Edge, Firefox or Safari, in a normal window.'
      ],
      retry: true
    }
    case 'no-control': return {
      title: 'The site\'s service worker did not start',
      paragraphs: ['The service worker that serves this site was registered but did not take control of the page in time. Reloading the page usually fixes this.'],
      retry: true
    }
    case 'no-torrent': return {
      title: 'This site could not start',
      paragraphs: [`Its table of contents (site.torrent) could not be loaded: ${detail}.`, RELOAD],
      retry: true
    }
    case 'nobody': return {
      title: 'Nobody is sharing this site right now',
      paragraphs: [
        `This site (${name}) is served by the browsers of its visitors, and none of them could be reached in ${seconds} seconds. It is not lost: it comes back as soon as one of its visitors or its publisher is online again.`,
        'Try again later. This page keeps trying in the background and shows the site if someone appears.'
      ],
      retry: true
    }
    default: return {
      title: 'This site could not start',
      paragraphs: [`The peersite loader failed: ${detail}.`, RELOAD],
      retry: true
    }
  }
}

const make = <K extends keyof HTMLElementTagNameMap> (tag: K, text?: string): HTMLElementTagNameMap[K] => {
  const node = document.createElement(tag)
  if (text !== undefined) node.textContent = text
  return node
}

/** The card as a full page (the card's own style is loader/ui.ts's, which only the progress card needs). */
const FULL_STYLE = `
#peersite-card.full{inset:0;max-width:none;display:flex;align-items:center;justify-content:center;border:0;border-radius:0;box-shadow:none;font-size:16px;line-height:1.5}
#peersite-card.full>div{max-width:34rem;margin:1rem;padding:1.25rem 1.5rem;border:1px solid #ddd;border-radius:8px}
#peersite-card.full h1{font-size:1.25rem;margin:0 0 .5rem}
#peersite-card small,#peersite-card code{color:#666;word-break:break-all}`

export function showProblem (problem: Problem, ensureCard: () => Card): void {
  document.getElementById('peersite-status')?.replaceChildren()
  const { root, body } = ensureCard()
  if (document.getElementById('peersite-full') === null) {
    const style = make('style', FULL_STYLE)
    style.id = 'peersite-full'
    document.head.append(style)
  }
  root.classList.add('full')
  root.setAttribute('role', 'alert')
  document.title = problem.title
  body.replaceChildren(make('h1', problem.title), ...problem.paragraphs.map((t) => make('p', t)))
  if (problem.retry === true) {
    const button = make('button', 'Try again')
    button.addEventListener('click', () => location.reload())
    body.append(make('p'))
    body.lastElementChild!.append(button)
  }
  const m = problem.manifest
  if (m !== undefined) {
    const small = make('small')
    small.append('For BitTorrent clients that speak WebRTC (WebTorrent): infohash ', make('code', m.infoHash), ', ')
    const a = make('a', 'magnet link')
    // BEP 9 magnet, with the WebSocket trackers and web seeds peersite.json names (BEP 19 `ws`).
    a.href = `magnet:?xt=urn:btih:${m.infoHash}&dn=${encodeURIComponent(m.name)}${[...m.trackers.map((t) => `&tr=${encodeURIComponent(t)}`), ...(m.webSeeds ?? []).map((w) => `&ws=${encodeURIComponent(w)}`)].join('')}`
    small.append(a, '.')
    const p = make('p')
    p.append(small)
    body.append(p)
  }
}
