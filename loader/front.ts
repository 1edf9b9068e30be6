/**
 * The gateway's front page (`http://localhost:PORT/`, or the bare wildcard host): a visitor pastes a magnet link,
 * infohash or site id and is sent to the site's own origin, `<id>.<host>`. `/#<infohash or magnet>` and
 * `/<infohash>[/path]` go there at once (the gateway redirects `/<infohash>` itself; a static wildcard host cannot,
 * so this page does it too, as its 404.html). A magnet's `tr=` trackers travel in the fragment
 * (site-address.ts), which never reaches a server.
 */
import type { GatewayConfig } from './gateway.js'
import { gatewayUrl, parseSiteAddress } from '../engine/util/site-address.js'

/** decodeURIComponent that gives the text back as it is when it is not valid percent-encoding. */
const decode = (text: string): string => { try { return decodeURIComponent(text) } catch { return text } }

export function showFrontPage (config: GatewayConfig): void {
  const base = new URL(location.href)
  // /#<magnet or infohash>
  const fromHash = location.hash.length > 1 ? parseSiteAddress(decode(location.hash.slice(1))) : undefined
  if (fromHash !== undefined) return location.replace(gatewayUrl(base, fromHash))
  // /<infohash or id>[/rest of the path]
  const [first = '', ...rest] = location.pathname.slice(1).split('/')
  const fromPath = first === '' ? undefined : parseSiteAddress(decode(first))
  if (fromPath !== undefined) return location.replace(gatewayUrl(base, fromPath, '/' + rest.join('/') + location.search))

  document.title = 'peersite gateway'
  const main = document.createElement('main')
  main.style.cssText = 'max-width:40rem;margin:3rem auto;padding:0 1rem'
  const h1 = document.createElement('h1')
  h1.textContent = 'Open a peersite site'
  const p = document.createElement('p')
  p.textContent = 'Paste a magnet link, an infohash or a site id. The site opens in its own origin, fetched by this browser from the browsers of its visitors, and this browser shares it with the next visitors while it is open.'
  const form = document.createElement('form')
  const input = document.createElement('input')
  input.name = 'site'
  input.placeholder = 'magnet:?xt=urn:btih:… or an infohash'
  input.style.cssText = 'width:100%;box-sizing:border-box;font:inherit;padding:.5rem'
  input.setAttribute('aria-label', 'magnet link, infohash or site id')
  const button = document.createElement('button')
  button.textContent = 'Open'
  button.style.cssText = 'margin-top:.5rem;font:inherit'
  const error = document.createElement('p')
  error.setAttribute('role', 'alert')
  error.style.color = '#a00'
  const small = document.createElement('p')
  small.style.color = '#666'
  small.textContent = config.trackers.length > 0 ? `Trackers: ${config.trackers.join(', ')} (and those the magnet names).` : ''
  form.append(input, button)
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    const address = parseSiteAddress(input.value)
    if (address === undefined) {
      error.textContent = 'That is not a magnet link, an infohash (40 hexadecimal digits) or a site id.'
      return
    }
    location.assign(gatewayUrl(base, address))
  })
  document.getElementById('peersite-status')?.remove()
  main.append(h1, p, form, error, small)
  document.body.append(main)
  input.focus()
}
