/**
 * What the visitor sees of the loader itself: a status line while it boots, a small progress card over the site
 * frame until the first page has loaded, and a clear explanation page when the site cannot be shown here.
 * Never a blank page: every way the boot can fail ends in `showProblem`.
 */
import type { SiteManifest } from '../worker/protocol.js'
import type { ProblemCode } from './boot.js'
import { later } from './lazy.js'

export function status (text: string): void {
  const el = document.getElementById('peersite-status')
  if (el !== null) el.textContent = text
}

export function el<K extends keyof HTMLElementTagNameMap> (tag: K, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (text !== undefined) node.textContent = text
  return node
}

/** The card over the site frame; `undefined` once removed. */
export interface Card { readonly root: HTMLElement, readonly body: HTMLElement }
let card: Card | undefined

/** The card element (created, with the loader's style, on first use). */
export function ensureCard (): Card {
  // Styled by the shell page's style sheet (loader/index.html, gateway.html); a problem page adds its own (loader/problem.ts).
  if (card !== undefined) return card
  const root = el('div')
  root.id = 'peersite-card'
  root.setAttribute('role', 'status')
  const body = el('div')
  root.append(body)
  document.body.append(root)
  card = { root, body }
  return card
}

/** Shows (or updates) the small progress card: a heading and a line of detail. Not over a problem page. */
export function progress (heading: string, detail: string): void {
  if (card?.root.classList.contains('full') === true) return
  const { body } = ensureCard()
  const h = body.querySelector('h1')
  const p = body.querySelector('p')
  if (h !== null && p !== null && body.childElementCount === 2) {
    h.textContent = heading
    p.textContent = detail
    return
  }
  body.replaceChildren(el('h1', heading), el('p', detail))
}

export function hideCard (): void {
  card?.root.remove()
  card = undefined
}

export interface Problem {
  title: string
  /** Paragraphs of explanation: what is wrong, then what the visitor can do. */
  paragraphs: string[]
  manifest?: SiteManifest
  /** Offer a "Try again" button (reloads the page). */
  retry?: boolean
}

/**
 * Replaces the card (or the boot status) with the explanation of problem `code` (its words and the page are in
 * peersite-later.js: loader/problem.ts). The site frame, if any, keeps loading beneath. If the later bundle cannot
 * be loaded (offline, a host without it), the boot status line names the problem.
 */
export function showProblem (code: ProblemCode, manifest: SiteManifest | undefined, detail = '', seconds = 0): void {
  later().then((l) => {
    // No manifest yet (the gateway, before the site's metadata arrived): the site is "this site".
    l.showProblem({ ...l.problemFor(code, detail, manifest?.name ?? 'this site', seconds), manifest }, ensureCard)
  }, () => { status(`peersite could not start (${code}${detail === '' ? '' : `: ${detail}`}).`) })
}

/** Like showProblem, for a problem told in words (the gateway's own): the page itself is in peersite-later.js. */
export function showProblemText (problem: Problem): void {
  later().then((l) => { l.showProblem(problem, ensureCard) }, () => { status(`peersite: ${problem.title}.`) })
}

export function formatBytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}
