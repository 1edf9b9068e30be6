/**
 * A newer version of a keyed site (issue 11), as the worker checks it before serving a byte of it. The loader folder
 * on the static host stays the one of version 1: its pinned peersite.json names the site key (`address`). The leader
 * page learns newer versions from peers (loader/follow.ts) and hands the worker the signed record, the new torrent's
 * info dictionary (BEP 9 metadata) and the manifest it built from it; neither the page nor Cache Storage (where the
 * version is kept for the next start) is trusted, so the worker checks:
 *   - the record is signed by the address's key (BEP 44 signing string, WebCrypto Ed25519), with the address's salt;
 *   - its seq is higher than the version it serves (a replayed older record is refused: BEP 44 "MUST not downgrade");
 *   - its `v` names (BEP 46 `{ ih }`) the manifest's infohash, which is the SHA-1 of the info dictionary given, and
 *     the manifest's files add up to the torrent's pieces (verify.ts parsePieceTable).
 * Every piece is then checked against that torrent's hashes, as for version 1. The file types come from the page
 * (kept small here: the loader's weight, test/e2e/budget.test.ts), the paths too but checked against the torrent's,
 * the rules (`_redirects`, --spa) and trackers from the loader folder's manifest; the bytes only from the signed torrent.
 */
import type { WorkerState } from './handlers/state.js'
import { MANIFEST_FILE, TORRENT_FILE, type PointerRecordJson, type SiteManifest, type WorkerMessage } from './protocol.js'
import { parseManifest, type Site } from './site.js'
import { decodeAt, parsePieceTable, toHex, type Value } from './verify.js'

export interface SiteVersion {
  readonly seq: number
  /** Served as peersite.json for this version. */
  readonly manifest: SiteManifest
  /** `d4:info<info>e`: served as site.torrent for this version. */
  readonly torrent: Uint8Array<ArrayBuffer>
}

const enc = /* @__PURE__ */ new TextEncoder()
const hex = (s: string): Uint8Array<ArrayBuffer> => new Uint8Array((s.match(/../g) ?? []).map((h) => parseInt(h, 16)))
const cat = (...parts: Uint8Array[]): Uint8Array<ArrayBuffer> => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
}

/**
 * Checks a version against `base` (the pinned manifest of the loader folder) and `current` (the seq served now).
 * Throws an Error naming the problem.
 */
export async function checkVersion (base: SiteManifest, current: number, json: unknown, info: Uint8Array): Promise<SiteVersion> {
  // The address's key and salt: magnet:?xs=urn:btpk:<hex>[&s=<hex>]
  const m = /urn:btpk:([0-9a-f]{64})(?:&s=([0-9a-f]*))?/i.exec(base.address ?? '')
  // The rules and trackers are the loader folder's (the page's copy is not trusted; loader/follow.ts keeps them too).
  // A gateway's site key has no loader folder: its caller uses the infohash only (gateway-source.ts).
  const { redirects, spa, trackers } = base
  const manifest: SiteManifest = { ...parseManifest(json), redirects, spa, trackers }
  // Its sections would be version 1's, on the static host: a newer version lists its files (loader/follow.ts).
  if (manifest.index) throw new Error('a newer version has no sectioned index')
  const record: Partial<PointerRecordJson> = manifest.pointer ?? {}
  const salt = (m?.[2] ?? '').toLowerCase()
  if (m === null || record.k !== m[1]!.toLowerCase() || (record.salt ?? '') !== salt) throw new Error('not a record of this site\'s key')
  const seq = record.seq!
  if (!(Number.isSafeInteger(seq) && seq > current)) throw new Error(`seq ${seq} is not newer than ${current}`)
  const value = hex(record.v!)
  const signed = cat(salt === '' ? new Uint8Array() : enc.encode(`4:salt${salt.length / 2}:`), hex(salt), enc.encode(`3:seqi${seq}e1:v`), value)
  const key = await crypto.subtle.importKey('raw', hex(record.k), 'Ed25519', false, ['verify'])
  if (!await crypto.subtle.verify('Ed25519', key, hex(record.sig!), signed)) throw new Error('bad signature')
  const ih = (decodeAt(value, 0)[0] as Map<string, Value>).get('ih')
  if (!(ih instanceof Uint8Array) || toHex(ih) !== manifest.infoHash) throw new Error('not the signed version')
  const torrent = cat(enc.encode('d4:info'), info, enc.encode('e'))
  // The SHA-1 of the info dictionary is the infohash, and the files fill its pieces exactly.
  await parsePieceTable(torrent, manifest.infoHash, manifest.files)
  return { seq, manifest, torrent }
}

/**
 * The keyed worker's newer version: accepted once checked, kept in Cache Storage for the next start (read back and
 * checked again: any script of the origin can write there), and served as peersite.json and site.torrent.
 */
export class Versions {
  current: SiteVersion | undefined
  readonly #cache: string
  readonly #key: string
  /** The last offer: offers run one at a time (each is checked against the version the one before left). */
  #offers: Promise<WorkerMessage> = Promise.resolve({ type: 'version', seq: -1 })

  constructor (scope: string) {
    this.#cache = `peersite-version:${scope}`
    this.#key = new URL('peersite-version', scope).href
  }

  /**
   * Checks a version against the loader folder's manifest and serves it (state.adopt); it becomes `current` only once
   * adopted, so a version the worker cannot serve leaves the one served before in place. Returns its site.
   */
  async accept (state: WorkerState, manifest: unknown, info: Uint8Array): Promise<Site> {
    const version = await checkVersion(state.base!, this.current?.seq ?? state.base!.pointer?.seq ?? -1, manifest, info)
    const site = state.adopt!(version.manifest)
    this.current = version
    return site
  }

  /**
   * A newer version from the leader page: checked, served from the next request on, kept for the next start.
   * Returns the message for the pages. After the offers before it: two in flight would both be checked against the
   * version served before them, and the older one, finishing last, would replace the newer one (served and kept).
   */
  async offer (state: WorkerState, manifest: unknown, info: Uint8Array): Promise<WorkerMessage> {
    return await (this.#offers = this.#offers.then(async () => await this.#check(state, manifest, info)))
  }

  async #check (state: WorkerState, manifest: unknown, info: Uint8Array): Promise<WorkerMessage> {
    try {
      await state.loadSite()
      const site = await this.accept(state, manifest, info)
      await (await caches.open(this.#cache)).put(this.#key, new Response(JSON.stringify([manifest, [...info]])))
      return { type: 'version', infoHash: site.infoHash, seq: this.current!.seq }
    } catch (err) {
      return { type: 'version', seq: -1, error: (err as Error).message }
    }
  }

  /** The version an earlier run kept, if it still checks out against the loader folder's manifest: the site then. */
  async restore (state: WorkerState): Promise<Site | undefined> {
    try {
      const [manifest, info] = await (await (await caches.open(this.#cache)).match(this.#key))!.json() as [unknown, number[]]
      return await this.accept(state, manifest, new Uint8Array(info))
    } catch {
      return undefined
    }
  }

  /** peersite.json and site.torrent of the version served, instead of the loader folder's. */
  file (rel: string | null): Response | undefined {
    const v = this.current
    return v === undefined ? undefined : rel === MANIFEST_FILE ? new Response(JSON.stringify(v.manifest)) : rel === TORRENT_FILE ? new Response(v.torrent) : undefined
  }
}
