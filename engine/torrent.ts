/**
 * The orchestrator of one torrent: takes connections from discovery, runs the handshake, and routes each peer's
 * messages to the parts that own them (Downloader, Uploader, MetadataExchange). Decisions live in those parts and
 * in the picker; this file only glues.
 */
import { Bitfield } from './bitfield.js'
import {
  CLIENT_NAME, KEEP_ALIVE_INTERVAL_MS, MAX_PEERS, OUR_REQQ, PEER_ID_PREFIX, PEER_IDLE_TIMEOUT_MS, READ_PRIORITY_AHEAD,
  READ_PRIORITY_NOW, SEED_DEFER_MS, maxMessageLength, readAheadPieces
} from './constants.js'
import { AbortError, InvalidTorrentError, ProtocolError } from './errors.js'
import { Choker, othersCanServe, type ChokeDecision } from './choker.js'
import type { Discovery, DiscoveryInit } from './discovery/index.js'
import { Downloader } from './download.js'
import { MetadataExchange } from './metadata-exchange.js'
import { parseInfoDictionary, pieceLengthAt, piecesForRange, type Metainfo } from './metainfo/index.js'
import type { PieceStore } from './storage/index.js'
import type { Connection } from './transport/index.js'
import { Uploader } from './upload.js'
import { Emitter } from './util/emitter.js'
import { fromHex, randomBytes, toHex, utf8 } from './util/bytes.js'
import { RateMeter } from './util/rate.js'
import { LOCAL_EXTENSION_IDS, Peer } from './wire/peer.js'
import type { Message } from './wire/messages.js'

export interface TorrentComponents {
  /** Makes the store once the metainfo is known. */
  createStore: (metainfo: Metainfo) => PieceStore
  /** Optional: peers can also be added by hand with addConnection(). */
  createDiscovery?: (init: DiscoveryInit) => Discovery
}

export interface TorrentInit {
  /** 40 hex digits or 20 bytes. */
  infoHash: string | Uint8Array
  /** Known up front when seeding or given a .torrent; otherwise fetched from peers (BEP 9). */
  metainfo?: Metainfo
  /** Pieces the store already holds, verified (a seeder: all of them). */
  have?: Bitfield
  peerId?: Uint8Array
  maxPeers?: number
  /**
   * The publisher's own seeder (cli/lib/swarm.ts): while seeding it lets newcomers that other peers can serve fetch
   * from them first (SEED_DEFER_MS), so its upload does not grow with the audience. Visitors leave it off.
   */
  origin?: boolean
}

export type TorrentEvents = {
  metadata: [metainfo: Metainfo]
  /** A piece was verified and stored. */
  verified: [index: number]
  /** Every piece is here. */
  done: []
  /** A peer finished its handshake. */
  peer: [peer: Peer]
  /** Something went wrong with a peer or tracker: logged, never fatal. */
  warning: [err: Error]
  /** A tracker acknowledged our announce. */
  announced: []
  /** A peer was dropped for sending bad data. */
  ban: [peerId: string, reason: Error]
}

export interface TorrentStats {
  peers: number
  uploaded: number
  downloaded: number
  uploadRate: number
  downloadRate: number
  /** Verified bytes held. */
  verified: number
  /** Total bytes; 0 before metadata. */
  length: number
}

const TICK_MS = 1000

export function createPeerId (): Uint8Array {
  const id = new Uint8Array(20)
  id.set(utf8.encode(PEER_ID_PREFIX))
  id.set(randomBytes(20 - PEER_ID_PREFIX.length), PEER_ID_PREFIX.length)
  return id
}

export class Torrent extends Emitter<TorrentEvents> {
  readonly infoHash: string
  readonly infoHashBytes: Uint8Array
  readonly peerId: Uint8Array
  metainfo: Metainfo | undefined
  store: PieceStore | undefined

  readonly #components: TorrentComponents
  readonly #maxPeers: number
  readonly #peers = new Set<Peer>()
  readonly #byKey = new Map<string, Peer>()
  readonly #banned = new Set<string>()
  readonly #metadata: MetadataExchange
  #downloader: Downloader | undefined
  #uploader: Uploader | undefined
  /** Upload slots (engine/choker.ts decides; #choke() writes its decisions). */
  readonly #choker: Choker<Peer>
  #discovery: Discovery | undefined
  readonly #waiters = new Map<number, Set<{ resolve: () => void, reject: (err: Error) => void }>>()
  #tick: ReturnType<typeof setInterval> | undefined
  #connectionCount = 0
  #uploaded = 0
  #downloaded = 0
  #verifiedBytes = 0
  readonly #uploadRate = new RateMeter()
  readonly #downloadRate = new RateMeter()
  #done = false
  destroyed = false

  constructor (components: TorrentComponents, init: TorrentInit) {
    super()
    this.#components = components
    this.infoHashBytes = typeof init.infoHash === 'string' ? fromHex(init.infoHash) : init.infoHash
    if (this.infoHashBytes.length !== 20) throw new InvalidTorrentError('an infohash has 20 bytes')
    this.infoHash = toHex(this.infoHashBytes)
    this.peerId = init.peerId ?? createPeerId()
    this.#maxPeers = init.maxPeers ?? MAX_PEERS
    this.#choker = new Choker({ seedDeferMs: init.origin === true ? SEED_DEFER_MS : 0 })
    this.#metadata = new MetadataExchange({
      infoHash: this.infoHashBytes,
      info: () => this.metainfo?.info,
      onMetadata: (info) => { void this.#onMetadataBytes(info) },
      warn: (peer, err) => this.#warnPeer(peer, err)
    })
    if (init.metainfo !== undefined) {
      if (init.metainfo.infoHash !== this.infoHash) throw new InvalidTorrentError('metainfo does not match the infohash')
      this.#setMetainfo(init.metainfo, init.have)
    }
    this.#tick = setInterval(() => this.#onTick(), TICK_MS)
    if (components.createDiscovery !== undefined) {
      this.#discovery = components.createDiscovery({
        infoHash: this.infoHashBytes,
        peerId: this.peerId,
        wantsPeer: (id) => this.wantsPeer(id)
      })
      this.#discovery.on('connection', (conn) => this.addConnection(conn))
      this.#discovery.on('warning', (err) => this.emit('warning', err))
      this.#discovery.on('announced', () => this.emit('announced'))
      this.#discovery.start(this.#announceStats())
    }
  }

  get have (): Bitfield | undefined { return this.#downloader?.have }
  get done (): boolean { return this.#done }
  get peers (): ReadonlySet<Peer> { return this.#peers }

  stats (): TorrentStats {
    let peers = 0
    for (const p of this.#peers) if (p.receivedHandshake) peers++
    return {
      peers,
      uploaded: this.#uploaded,
      downloaded: this.#downloaded,
      uploadRate: this.#uploadRate.rate,
      downloadRate: this.#downloadRate.rate,
      verified: this.#verifiedBytes,
      length: this.metainfo?.length ?? 0
    }
  }

  #announceStats (): { uploaded: number, downloaded: number, left: number } {
    const left = this.metainfo === undefined ? Number.MAX_SAFE_INTEGER : this.metainfo.length - this.#verifiedBytes
    return { uploaded: this.#uploaded, downloaded: this.#downloaded, left }
  }

  #setMetainfo (metainfo: Metainfo, have?: Bitfield): void {
    this.metainfo = metainfo
    const store = this.#components.createStore(metainfo)
    this.store = store
    const downloader = new Downloader({
      metainfo,
      store,
      onVerified: (index) => this.#onVerified(index),
      onReadable: (index) => this.#wake(index),
      onDownloaded: (peer, bytes) => {
        this.#choker.downloaded(peer, bytes)
        this.#downloaded += bytes
        this.#downloadRate.add(bytes)
      },
      ban: (peer, reason) => this.#ban(peer, reason),
      warn: (err) => this.emit('warning', err),
      peerByKey: (key) => this.#byKey.get(key)
    }, have)
    this.#downloader = downloader
    for (let i = 0; i < metainfo.pieceCount; i++) if (downloader.have.has(i)) this.#verifiedBytes += pieceLengthAt(metainfo, i)
    this.#uploader = new Uploader({
      metainfo,
      store,
      have: downloader.have,
      onUploaded: (peer, bytes) => {
        this.#choker.uploaded(peer, bytes)
        this.#uploaded += bytes
        this.#uploadRate.add(bytes)
      },
      warn: (peer, err) => this.#warnPeer(peer, err)
    })
    if (downloader.have.complete) this.#done = true
  }

  async #onMetadataBytes (info: Uint8Array): Promise<void> {
    if (this.metainfo !== undefined || this.destroyed) return
    let metainfo: Metainfo
    try {
      metainfo = await parseInfoDictionary(info)
    } catch (err) {
      this.emit('warning', err as Error)
      return
    }
    if (this.metainfo !== undefined || this.destroyed) return
    this.#setMetainfo(metainfo)
    this.emit('metadata', metainfo)
    for (const peer of this.#peers) {
      if (!peer.receivedHandshake) continue
      peer.setMaxMessageLength(maxMessageLength(metainfo.pieceCount))
      this.#applyPendingHaves(peer)
      this.#downloader!.addPeer(peer)
    }
    if (metainfo.length === 0) this.#onDone()
  }

  /** Whether a connection to this peer id (hex) would be refused: connected already, banned, or ourselves. */
  wantsPeer (peerIdHex: string): boolean {
    return !this.#banned.has(peerIdHex) && !this.#byKey.has(peerIdHex) && peerIdHex !== toHex(this.peerId) &&
      this.#peers.size < this.#maxPeers
  }

  /** Adds a freshly opened connection (from discovery, or by hand in tests). */
  addConnection (connection: Connection): Peer | undefined {
    if (this.destroyed || this.#peers.size >= this.#maxPeers) {
      connection.close()
      return undefined
    }
    const pieceCount = this.metainfo?.pieceCount ?? 0
    const peer = new Peer(connection, {
      infoHash: this.infoHashBytes,
      peerId: this.peerId,
      maxMessageLength: maxMessageLength(pieceCount)
    }, `connection-${++this.#connectionCount}`)
    this.#peers.add(peer)
    peer.on('warning', (err) => this.#warnPeer(peer, err))
    peer.on('close', () => this.#onPeerClose(peer))
    peer.on('handshake', () => this.#onHandshake(peer))
    peer.on('extended-handshake', () => this.#metadata.onExtendedHandshake(peer))
    peer.on('extension', (name, payload) => {
      if (name === 'ut_metadata') this.#metadata.onMessage(peer, payload)
    })
    peer.on('message', (message) => this.#onMessage(peer, message))
    peer.writeHandshake()
    return peer
  }

  #onHandshake (peer: Peer): void {
    const id = peer.remotePeerIdHex!
    if (this.#banned.has(id) || id === toHex(this.peerId)) {
      peer.destroy()
      return
    }
    const existing = this.#byKey.get(id)
    if (existing !== undefined) {
      // Two peers that announce at the same time each answer the other's offer: two connections, and if each
      // side kept a different one, both would die. Both sides keep the one started by the lower peer id.
      const preferred = (p: Peer): boolean => p.connection.initiator === (toHex(this.peerId) < id)
      if (preferred(existing) || !preferred(peer)) {
        peer.destroy()
        return
      }
      this.#byKey.delete(id)
      existing.destroy()
    }
    peer.key = id
    this.#byKey.set(id, peer)
    this.#choker.add(peer, Date.now())
    const metainfo = this.metainfo
    // BEP 3: the bitfield is "only ever sent as the first message" after the handshake; omitted when empty.
    if (metainfo !== undefined && this.#downloader!.have.count > 0) peer.writeBitfield(this.#downloader!.have)
    if (peer.supportsExtensions) {
      peer.writeExtendedHandshake({
        m: { ...LOCAL_EXTENSION_IDS },
        ...(metainfo !== undefined ? { metadataSize: metainfo.info.length } : {}),
        v: CLIENT_NAME,
        reqq: OUR_REQQ
      })
    }
    if (metainfo !== undefined) this.#downloader!.addPeer(peer)
    this.emit('peer', peer)
  }

  /** Messages that arrive before we know the piece count are kept (bounded) and applied with the metadata. */
  readonly #pending = new WeakMap<Peer, { bitfield?: Uint8Array, haves: number[] }>()

  #applyPendingHaves (peer: Peer): void {
    const metainfo = this.metainfo!
    const pending = this.#pending.get(peer)
    this.#pending.delete(peer)
    if (pending === undefined) return
    if (pending.bitfield !== undefined) {
      if (!Bitfield.isValidPayload(metainfo.pieceCount, pending.bitfield)) {
        this.#warnPeer(peer, new ProtocolError('bitfield of the wrong size'))
        peer.destroy()
        return
      }
      peer.has = new Bitfield(metainfo.pieceCount, pending.bitfield)
    }
    for (const index of pending.haves) {
      if (index >= metainfo.pieceCount) {
        this.#warnPeer(peer, new ProtocolError(`have for piece ${index} of ${metainfo.pieceCount}`))
        peer.destroy()
        return
      }
      peer.has ??= new Bitfield(metainfo.pieceCount)
      peer.has.set(index)
    }
  }

  #onMessage (peer: Peer, message: Message): void {
    const metainfo = this.metainfo
    const downloader = this.#downloader
    switch (message.type) {
      case 'bitfield':
        if (metainfo === undefined || downloader === undefined) {
          this.#pending.set(peer, { bitfield: message.bitfield, haves: [] })
          return
        }
        if (!Bitfield.isValidPayload(metainfo.pieceCount, message.bitfield)) {
          return this.#protocolViolation(peer, 'bitfield of the wrong size')
        }
        if (peer.has !== undefined) downloader.removePeer(peer)
        peer.has = new Bitfield(metainfo.pieceCount, message.bitfield)
        if (this.#dropIfBothSeeds(peer)) return
        downloader.addPeer(peer)
        return
      case 'have':
        if (metainfo === undefined || downloader === undefined) {
          const pending = this.#pending.get(peer) ?? { haves: [] }
          // A peer cannot have more pieces than a torrent could hold; cap what we keep.
          if (pending.haves.length < 1 << 20) pending.haves.push(message.index)
          this.#pending.set(peer, pending)
          return
        }
        if (message.index >= metainfo.pieceCount) return this.#protocolViolation(peer, `have for piece ${message.index}`)
        peer.has ??= new Bitfield(metainfo.pieceCount)
        if (!peer.has.has(message.index)) {
          peer.has.set(message.index)
          if (this.#dropIfBothSeeds(peer)) return
          downloader.peerHave(peer, message.index)
        }
        return
      case 'choke':
        downloader?.onChoke(peer)
        return
      case 'unchoke':
        downloader?.fill(peer)
        return
      case 'interested': {
        const othersServe = this.#done && othersCanServe(peer.has, [...this.#peers].filter((p) => p !== peer).map((p) => p.has))
        this.#choke((choker, now) => choker.interested(peer, now, othersServe))
        return
      }
      case 'not-interested':
        this.#choke((choker, now) => choker.notInterested(peer, now))
        return
      case 'request':
        if (this.#uploader === undefined) return
        this.#uploader.onRequest(peer, message)
        return
      case 'cancel':
        this.#uploader?.onCancel(peer, message)
        return
      case 'piece':
        downloader?.onBlock(peer, message.index, message.begin, message.block)
        return
      default:
        // port, unknown: nothing to do over WebRTC (BEP 3: unknown messages are ignored).
    }
  }

  /** Two seeds have nothing to give each other: the connection slot is better spent on a leecher. */
  #dropIfBothSeeds (peer: Peer): boolean {
    if (!this.#done || peer.has?.complete !== true) return false
    peer.destroy()
    return true
  }

  #protocolViolation (peer: Peer, message: string): void {
    this.#warnPeer(peer, new ProtocolError(message))
    peer.destroy()
  }

  #onVerified (index: number): void {
    const metainfo = this.metainfo!
    this.#verifiedBytes += pieceLengthAt(metainfo, index)
    for (const peer of this.#peers) {
      // Everyone learns of the new piece (BEP 3 `have`); also those who have it, as cheap as it is useful for them.
      if (peer.receivedHandshake && peer.has?.has(index) !== true) peer.writeHave(index)
    }
    this.emit('verified', index)
    this.#wake(index)
    if (this.#downloader!.have.complete) this.#onDone()
    else for (const peer of this.#peers) if (peer.amInterested) this.#downloader!.updateInterest(peer)
  }

  /** Readers waiting for piece `index` may go on: it is verified (stored, or in memory: Downloader.readable). */
  #wake (index: number): void {
    const waiters = this.#waiters.get(index)
    this.#waiters.delete(index)
    if (waiters !== undefined) for (const w of waiters) w.resolve()
  }

  #onDone (): void {
    if (this.#done) return
    this.#done = true
    for (const peer of this.#peers) if (peer.receivedHandshake) peer.writeNotInterested()
    this.#discovery?.complete(this.#announceStats())
    this.emit('done')
  }

  /** Runs one choker event and writes its decisions; BEP 3: a choke discards the peer's queued requests. */
  #choke (event: (choker: Choker<Peer>, now: number) => Array<ChokeDecision<Peer>>): void {
    if (this.destroyed) return
    this.#choker.setSeeding(this.#done)
    for (const { peer, choke } of event(this.#choker, Date.now())) {
      if (peer.destroyed) continue
      if (choke) {
        peer.writeChoke()
        this.#uploader?.onChoked(peer)
      } else {
        peer.writeUnchoke()
      }
    }
  }

  #warnPeer (peer: Peer, err: Error): void {
    const who = peer.remotePeerIdHex ?? peer.connection.remoteAddress
    const wrapped = new Error(`peer ${who}: ${err.message}`, { cause: err })
    this.emit('warning', wrapped)
  }

  #ban (peer: Peer, reason: Error): void {
    const id = peer.remotePeerIdHex
    if (peer.destroyed || (id !== undefined && this.#banned.has(id))) return
    if (id !== undefined) this.#banned.add(id)
    this.emit('ban', id ?? peer.key, reason)
    this.#warnPeer(peer, new Error(`banned: ${reason.message}`))
    peer.destroy()
  }

  #onPeerClose (peer: Peer): void {
    this.#peers.delete(peer)
    if (this.#byKey.get(peer.key) === peer) this.#byKey.delete(peer.key)
    this.#metadata.removePeer(peer)
    this.#uploader?.removePeer(peer)
    this.#choke((choker, now) => choker.remove(peer, now))
    if (this.#downloader !== undefined) {
      this.#downloader.removePeer(peer)
      this.#downloader.fillAll(this.#peers)
    }
  }

  #onTick (): void {
    const now = Date.now()
    for (const peer of this.#peers) {
      if (now - peer.lastReceivedAt > PEER_IDLE_TIMEOUT_MS) {
        this.#warnPeer(peer, new Error('silent for too long'))
        peer.destroy()
      } else if (now - peer.lastSentAt > KEEP_ALIVE_INTERVAL_MS) {
        peer.writeKeepAlive()
      }
    }
    this.#downloader?.expireRequests(this.#peers, now)
    // End-game duplicates become due with time, not only when a block arrives (engine/constants.ts).
    this.#downloader?.fillAll(this.#peers)
    this.#choke((choker) => choker.tick(now))
    this.#discovery?.update(this.#announceStats())
  }

  /** Resolves when piece `index` is verified: stored, or in memory (Downloader.readable). */
  async #waitForPiece (index: number, signal?: AbortSignal): Promise<void> {
    if (this.#downloader?.have.has(index) === true || this.#downloader?.readable(index) !== undefined) return
    await new Promise<void>((resolve, reject) => {
      let set = this.#waiters.get(index)
      if (set === undefined) {
        set = new Set()
        this.#waiters.set(index, set)
      }
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        reject: (err: Error) => {
          signal?.removeEventListener('abort', onAbort)
          reject(err)
        }
      }
      const onAbort = (): void => {
        set.delete(waiter)
        reject(new AbortError())
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      set.add(waiter)
    })
  }

  /**
   * Marks pieces `first`..`last` wanted or not in the background (rarest first); unwanted pieces are fetched only
   * when a reader asks for them (picker.setWanted). Every piece is wanted by default. Needs the metainfo.
   */
  setWanted (first: number, last: number, wanted: boolean): void {
    const downloader = this.#downloader
    if (downloader === undefined) throw new Error('setWanted needs the metainfo')
    downloader.picker.setWanted(first, last, wanted)
    if (wanted) downloader.fillAll(this.#peers)
  }

  /**
   * Pieces `first`..`last` are fetched ahead of the background at `priority` (constants.ts READ_PRIORITY_*), before
   * any reader asks: what a page will need (loader/preload.ts). Returns the release function (idempotent).
   */
  prioritize (first: number, last: number, priority: number): () => void {
    const downloader = this.#downloader
    if (downloader === undefined) throw new Error('prioritize needs the metainfo')
    const release = downloader.picker.addPriority(first, last, priority)
    downloader.fillAll(this.#peers)
    return release
  }

  /** Resolves once the metainfo is known (immediately when it was given). */
  async ready (signal?: AbortSignal): Promise<Metainfo> {
    if (this.metainfo !== undefined) return this.metainfo
    return await new Promise<Metainfo>((resolve, reject) => {
      const off = this.once('metadata', (m) => {
        signal?.removeEventListener('abort', onAbort)
        resolve(m)
      })
      const onAbort = (): void => {
        off()
        reject(new AbortError())
      }
      if (signal?.aborted === true) onAbort()
      else signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /**
   * Reads torrent bytes [offset, offset + length) as they are verified (the service worker and `serve` read files
   * this way). Only a window of the range is raised in the picker: the piece under the reader at READ_PRIORITY_NOW,
   * the next readAheadPieces() at READ_PRIORITY_AHEAD (constants.ts), moved as the reader advances. The window is
   * dropped when the read ends, is returned early, or its `signal` aborts (at once, even while the consumer sits on
   * a chunk: a seek must not leave the old position's pieces ahead of the new one).
   */
  async * read (offset: number, length: number, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
    const metainfo = await this.ready(signal)
    if (offset < 0 || length < 0 || offset + length > metainfo.length) throw new RangeError('read beyond the torrent')
    const { first, last } = piecesForRange(metainfo, offset, length)
    if (first > last) return
    const picker = this.#downloader!.picker
    const ahead = readAheadPieces(metainfo.pieceLength)
    let releases: Array<() => void> = []
    const releaseWindow = (): void => {
      for (const release of releases) release()
      releases = []
    }
    signal?.addEventListener('abort', releaseWindow, { once: true })
    try {
      for (let index = first; index <= last; index++) {
        if (signal?.aborted === true) throw new AbortError()
        releaseWindow()
        releases.push(picker.addPriority(index, index, READ_PRIORITY_NOW))
        if (index < last) releases.push(picker.addPriority(index + 1, Math.min(last, index + ahead), READ_PRIORITY_AHEAD))
        this.#downloader!.rush(index, this.#peers)
        this.#downloader!.fillAll(this.#peers)
        const pieceStart = index * metainfo.pieceLength
        const from = Math.max(offset, pieceStart) - pieceStart
        const to = Math.min(offset + length, pieceStart + pieceLengthAt(metainfo, index)) - pieceStart
        yield await this.#pieceBytes(index, from, to, signal)
      }
    } finally {
      signal?.removeEventListener('abort', releaseWindow)
      releaseWindow()
    }
  }

  /**
   * Bytes [from, to) of piece `index` once verified: a copy of the piece while it is still on its way into the store
   * (IndexedDB commits lag while a download runs at full speed) or after the store refused it, else from the store.
   * Copies: the reader may transfer or keep the bytes.
   */
  async #pieceBytes (index: number, from: number, to: number, signal?: AbortSignal): Promise<Uint8Array> {
    for (;;) {
      const held = this.#downloader!.readable(index)
      if (held !== undefined) return held.slice(from, to)
      if (this.#downloader!.have.has(index)) return await this.store!.get(index, { offset: from, length: to - from }, signal)
      // Not here yet, or a piece the store refused that was dropped from memory before this reader came back to it
      // (the picker fetches it again).
      await this.#waitForPiece(index, signal)
    }
  }

  async destroy (): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    if (this.#tick !== undefined) clearInterval(this.#tick)
    this.#metadata.destroy()
    this.#uploader?.clear()
    for (const peer of [...this.#peers]) peer.destroy()
    for (const set of this.#waiters.values()) for (const w of set) w.reject(new AbortError('torrent destroyed'))
    this.#waiters.clear()
    await this.#discovery?.destroy()
    await this.store?.close()
    this.removeAllListeners()
  }
}
